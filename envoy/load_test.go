package envoy_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ratelimit/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	// Every typed_config in envoy.yaml must resolve to a registered message, or the strict parse
	// fails; these imports register the ones envoy.yaml and the Kubernetes examples use.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// Paths, relative to this directory, of the files under test.
const (
	envoyYAMLPath   = "envoy.yaml"
	pluginJSONPath  = "stepgate.json"
	composePath     = "../docker-compose.yml"
	metricsDocPath  = "../docs/METRICS.md"
	ratelimitPath   = "ratelimit/config.yaml"
	prometheusPath  = "prometheus/prometheus.yml"
	makefilePath    = "../Makefile"
	wasmFilterName  = "envoy.filters.http.wasm"
	rateLimitName   = "envoy.filters.http.ratelimit"
	routerName      = "envoy.filters.http.router"
	clusterHeader   = "x-stepgate-cluster"
	minEnvoyVersion = "1.39.0"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// parseBootstrap parses an Envoy bootstrap in YAML the way Envoy does: YAML to JSON, then protojson
// with unknown fields refused and every Any resolved, then the generated validation of every
// message, the typed configs included. Deprecated fields and enum values are refused too, so that
// the configuration keeps working on the next Envoy releases.
func parseBootstrap(data []byte) (*bootstrapv3.Bootstrap, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	b := &bootstrapv3.Bootstrap{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, b); err != nil {
		return nil, fmt.Errorf("protojson: %w", err)
	}
	if err := validateTree(b, "bootstrap"); err != nil {
		return nil, err
	}
	return b, nil
}

// parseProtoJSON parses one Envoy message from YAML-or-JSON text with the same rules as parseBootstrap.
func parseProtoYAML(data []byte, m proto.Message, path string) error {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("%s: yaml: %w", path, err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, m); err != nil {
		return fmt.Errorf("%s: protojson: %w", path, err)
	}
	return validateTree(m, path)
}

func loadBootstrap(t testing.TB) *bootstrapv3.Bootstrap {
	t.Helper()
	b, err := parseBootstrap(readFile(t, envoyYAMLPath))
	if err != nil {
		t.Fatalf("%s: %v", envoyYAMLPath, err)
	}
	return b
}

type validatorAll interface{ ValidateAll() error }

// validateTree runs the generated ValidateAll of m and of every message packed in an Any below it
// (ValidateAll stops at an Any), and refuses deprecated fields and enum values anywhere.
func validateTree(m proto.Message, path string) error {
	var errs []error
	if v, ok := m.(validatorAll); ok {
		if err := v.ValidateAll(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	errs = append(errs, walkMessage(m.ProtoReflect(), path)...)
	return errors.Join(errs...)
}

func walkMessage(m protoreflect.Message, path string) []error {
	if any, ok := m.Interface().(*anypb.Any); ok {
		inner, err := any.UnmarshalNew()
		if err != nil {
			return []error{fmt.Errorf("%s: %w", path, err)}
		}
		if err := validateTree(inner, path+"<"+string(inner.ProtoReflect().Descriptor().FullName())+">"); err != nil {
			return []error{err}
		}
		return nil
	}
	var errs []error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := path + "." + string(fd.Name())
		if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts.GetDeprecated() {
			errs = append(errs, fmt.Errorf("%s: deprecated field", p))
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				errs = append(errs, walkValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", p, i))...)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				errs = append(errs, walkValue(fd.MapValue(), mv, fmt.Sprintf("%s[%v]", p, k.Interface()))...)
				return true
			})
		default:
			errs = append(errs, walkValue(fd, v, p)...)
		}
		return true
	})
	return errs
}

func walkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) []error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return walkMessage(v.Message(), path)
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			return []error{fmt.Errorf("%s: unknown enum value %d", path, v.Enum())}
		}
		if opts, ok := ev.Options().(*descriptorpb.EnumValueOptions); ok && opts.GetDeprecated() {
			return []error{fmt.Errorf("%s: deprecated enum value %s", path, ev.Name())}
		}
	}
	return nil
}

// unpack returns the message packed in a, failing the test if it is not a T.
func unpack[T proto.Message](t testing.TB, a *anypb.Any, what string) T {
	t.Helper()
	m, err := a.UnmarshalNew()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	typed, ok := m.(T)
	if !ok {
		var zero T
		t.Fatalf("%s: typed_config is %s, want %T", what, m.ProtoReflect().Descriptor().FullName(), zero)
	}
	return typed
}

// hcm returns the HTTP connection manager of stepgate's listener.
func hcm(t testing.TB, b *bootstrapv3.Bootstrap) *hcmv3.HttpConnectionManager {
	t.Helper()
	ls := b.GetStaticResources().GetListeners()
	if len(ls) != 1 || len(ls[0].GetFilterChains()) != 1 || len(ls[0].GetFilterChains()[0].GetFilters()) != 1 {
		t.Fatalf("want one listener with one filter chain holding one network filter")
	}
	f := ls[0].GetFilterChains()[0].GetFilters()[0]
	return unpack[*hcmv3.HttpConnectionManager](t, f.GetTypedConfig(), "listener filter "+f.GetName())
}

// httpFilter returns the typed config of the HTTP filter called name.
func httpFilter[T proto.Message](t testing.TB, h *hcmv3.HttpConnectionManager, name string) T {
	t.Helper()
	for _, f := range h.GetHttpFilters() {
		if f.GetName() == name {
			return unpack[T](t, f.GetTypedConfig(), "http filter "+name)
		}
	}
	t.Fatalf("no http filter %q", name)
	panic("unreachable")
}

func wasmFilter(t testing.TB, b *bootstrapv3.Bootstrap) *wasmfilterv3.Wasm {
	t.Helper()
	return httpFilter[*wasmfilterv3.Wasm](t, hcm(t, b), wasmFilterName)
}

func rateLimitFilter(t testing.TB, b *bootstrapv3.Bootstrap) *ratelimitv3.RateLimit {
	t.Helper()
	return httpFilter[*ratelimitv3.RateLimit](t, hcm(t, b), rateLimitName)
}

// embeddedPluginConfig returns the plugin configuration string that envoy.yaml gives the filter.
func embeddedPluginConfig(t testing.TB, b *bootstrapv3.Bootstrap) string {
	t.Helper()
	sv := unpack[*wrapperspb.StringValue](t, wasmFilter(t, b).GetConfig().GetConfiguration(), "wasm configuration")
	return sv.GetValue()
}

func routes(t testing.TB, b *bootstrapv3.Bootstrap) []*routev3.Route {
	t.Helper()
	vhs := hcm(t, b).GetRouteConfig().GetVirtualHosts()
	if len(vhs) != 1 {
		t.Fatalf("want one virtual host, got %d", len(vhs))
	}
	return vhs[0].GetRoutes()
}

func clusters(b *bootstrapv3.Bootstrap) map[string]*clusterv3.Cluster {
	m := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		m[c.GetName()] = c
	}
	return m
}

// endpoint returns the single host and port a cluster sends to.
func endpoint(t testing.TB, c *clusterv3.Cluster) (string, uint32) {
	t.Helper()
	eps := c.GetLoadAssignment().GetEndpoints()
	if len(eps) != 1 || len(eps[0].GetLbEndpoints()) != 1 {
		t.Fatalf("cluster %s: want exactly one endpoint", c.GetName())
	}
	sa := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	return sa.GetAddress(), sa.GetPortValue()
}
