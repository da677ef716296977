package envoy_test

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"github.com/tidwall/gjson"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	"github.com/stepgate/stepgate/plugin/config"
)

const (
	istioFile       = "k8s/istio.yaml"
	envoyFilterFile = "k8s/istio-envoyfilter.yaml"
	gatewayFile     = "k8s/envoy-gateway.yaml"
	wasmTypeURL     = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
)

// manifest is one Kubernetes object, as JSON for gjson queries.
type manifest struct {
	kind, apiVersion, name string
	doc                    gjson.Result
}

// loadManifests splits a multi-document YAML file and converts each document to JSON. Every object
// must have an apiVersion among want[kind] and a name.
func loadManifests(t testing.TB, file string, want map[string]string) []manifest {
	t.Helper()
	var ms []manifest
	for i, part := range regexp.MustCompile(`(?m)^---$`).Split(string(readFile(t, file)), -1) {
		js, err := yaml.YAMLToJSON([]byte(part))
		if err != nil {
			t.Fatalf("%s document %d: %v", file, i, err)
		}
		doc := gjson.ParseBytes(js)
		if !doc.IsObject() {
			continue // only comments
		}
		m := manifest{kind: doc.Get("kind").String(), apiVersion: doc.Get("apiVersion").String(), name: doc.Get("metadata.name").String(), doc: doc}
		if av, ok := want[m.kind]; !ok || av != m.apiVersion {
			t.Errorf("%s document %d: %s %s is not one of the expected kinds %v", file, i, m.apiVersion, m.kind, want)
		}
		if m.name == "" {
			t.Errorf("%s document %d: %s without metadata.name", file, i, m.kind)
		}
		ms = append(ms, m)
	}
	return ms
}

func ofKind(ms []manifest, kind string) []manifest {
	var out []manifest
	for _, m := range ms {
		if m.kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func one(t testing.TB, ms []manifest, kind string) manifest {
	t.Helper()
	k := ofKind(ms, kind)
	if len(k) != 1 {
		t.Fatalf("want one %s, got %d", kind, len(k))
	}
	return k[0]
}

// checkPluginConfig parses a plugin configuration with the filter's own parser and returns its
// providers.
func checkPluginConfig(t testing.TB, where string, js []byte) []provider {
	t.Helper()
	if err := parsePluginConfig(js); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	return pluginProviders(t, js)
}

var pinnedImage = regexp.MustCompile(`^(oci://)?[a-z0-9.-]+(/[a-z0-9._-]+)+(:[0-9][A-Za-z0-9._-]*|@sha256:[0-9a-f]{64})$`)

var istioKinds = map[string]string{
	"WasmPlugin":      "extensions.istio.io/v1alpha1",
	"ServiceEntry":    "networking.istio.io/v1",
	"DestinationRule": "networking.istio.io/v1",
	"Gateway":         "networking.istio.io/v1",
	"VirtualService":  "networking.istio.io/v1",
}

func TestIstioWasmPlugin(t *testing.T) {
	ms := loadManifests(t, istioFile, istioKinds)
	wp := one(t, ms, "WasmPlugin").doc.Get("spec")
	if url := wp.Get("url").String(); !pinnedImage.MatchString(url) || !strings.HasPrefix(url, "oci://") {
		t.Errorf("WasmPlugin url %q: want an oci:// image pinned to a tag or digest", url)
	}
	if p := wp.Get("phase").String(); !slices.Contains([]string{"AUTHN", "AUTHZ", "STATS"}, p) {
		t.Errorf("WasmPlugin phase %q", p)
	}
	if fs := wp.Get("failStrategy").String(); fs != "FAIL_CLOSE" {
		t.Errorf("WasmPlugin failStrategy %q, want FAIL_CLOSE: the filter must never be skipped", fs)
	}
	if wp.Get("type").String() != "HTTP" || !wp.Get("selector.matchLabels").IsObject() {
		t.Error("WasmPlugin: want type HTTP and a workload selector")
	}
	ps := checkPluginConfig(t, istioFile+" WasmPlugin pluginConfig", []byte(wp.Get("pluginConfig").Raw))
	checkIstioRouting(t, ms, ps)
}

// checkIstioRouting: for every provider, the VirtualService routes its x-stepgate-cluster value to the
// provider's host, which a ServiceEntry declares and a DestinationRule reaches over TLS; the last
// route catches the rest.
func checkIstioRouting(t testing.TB, ms []manifest, ps []provider) {
	t.Helper()
	vs := one(t, ms, "VirtualService").doc.Get("spec.http").Array()
	if len(vs) == 0 || vs[len(vs)-1].Get("match").Exists() {
		t.Error("VirtualService: the last http route must match everything (requests the filter did not route)")
	}
	hosts := map[string]bool{}
	for _, se := range ofKind(ms, "ServiceEntry") {
		for _, h := range se.doc.Get("spec.hosts").Array() {
			hosts[h.String()] = true
		}
	}
	tlsHosts := map[string]bool{}
	for _, dr := range ofKind(ms, "DestinationRule") {
		for _, pl := range dr.doc.Get("spec.trafficPolicy.portLevelSettings").Array() {
			if pl.Get("tls.mode").String() == "SIMPLE" && pl.Get("tls.sni").String() == dr.doc.Get("spec.host").String() {
				tlsHosts[dr.doc.Get("spec.host").String()] = true
			}
		}
	}
	for _, p := range ps {
		var routed bool
		for _, r := range vs {
			if r.Get("match.0.headers."+clusterHeader+".exact").String() != p.cluster {
				continue
			}
			routed = true
			if h := r.Get("route.0.destination.host").String(); h != p.authority {
				t.Errorf("provider %s: routed to host %q, want its authority %q", p.name, h, p.authority)
			}
			if !hosts[p.authority] || !tlsHosts[p.authority] {
				t.Errorf("provider %s: %s needs a ServiceEntry and a DestinationRule with TLS SIMPLE and SNI", p.name, p.authority)
			}
			checkRemoved(t, "provider "+p.name+": VirtualService route", r.Get("headers.request.remove"))
			checkK8sRouteTimeout(t, "provider "+p.name+": VirtualService route", r.Get("timeout"))
		}
		if !routed {
			t.Errorf("provider %s: no VirtualService route matches %s: %s", p.name, clusterHeader, p.cluster)
		}
	}
}

// TestIstioEnvoyFilter: the EnvoyFilter variant's patches are valid Envoy configuration (parsed
// strictly like envoy.yaml), set the option WasmPlugin lacks, and route through istio.yaml.
func TestIstioEnvoyFilter(t *testing.T) {
	ef := one(t, loadManifests(t, envoyFilterFile, map[string]string{"EnvoyFilter": "networking.istio.io/v1alpha3"}), "EnvoyFilter").doc
	patches := ef.Get("spec.configPatches").Array()
	if len(patches) < 2 || patches[0].Get("applyTo").String() != "EXTENSION_CONFIG" || patches[1].Get("applyTo").String() != "HTTP_FILTER" {
		t.Fatal("want an EXTENSION_CONFIG patch then an HTTP_FILTER patch")
	}
	ext := &corev3.TypedExtensionConfig{}
	if err := parseProtoYAML([]byte(patches[0].Get("patch.value").Raw), ext, envoyFilterFile+" extension config"); err != nil {
		t.Fatal(err)
	}
	w := unpack[*wasmfilterv3.Wasm](t, ext.GetTypedConfig(), "extension config")
	pc := w.GetConfig()
	if !pc.GetAllowOnHeadersStopIteration().GetValue() {
		t.Error("allow_on_headers_stop_iteration must be true")
	}
	if pc.GetFailurePolicy() == wasmv3.FailurePolicy_FAIL_OPEN || pc.GetFailOpen() {
		t.Error("the filter must not fail open")
	}
	if uri := pc.GetVmConfig().GetCode().GetRemote().GetHttpUri().GetUri(); !pinnedImage.MatchString(uri) {
		t.Errorf("module %q: want an oci:// image pinned to a tag or digest", uri)
	}
	sv := unpack[*wrapperspb.StringValue](t, pc.GetConfiguration(), "configuration")
	ps := checkPluginConfig(t, envoyFilterFile+" configuration", []byte(sv.GetValue()))
	checkIstioRouting(t, loadManifests(t, istioFile, istioKinds), ps)

	hf := &hcmv3.HttpFilter{}
	if err := parseProtoYAML([]byte(patches[1].Get("patch.value").Raw), hf, envoyFilterFile+" http filter"); err != nil {
		t.Fatal(err)
	}
	if hf.GetName() != ext.GetName() || !slices.Contains(hf.GetConfigDiscovery().GetTypeUrls(), wasmTypeURL) {
		t.Errorf("http filter %q must discover extension config %q of type %s", hf.GetName(), ext.GetName(), wasmTypeURL)
	}
	if sub := patches[1].Get("match.listener.filterChain.filter.subFilter.name").String(); sub != routerName || patches[1].Get("patch.operation").String() != "INSERT_BEFORE" {
		t.Errorf("the filter must be inserted right before the router, got %s %s", patches[1].Get("patch.operation"), sub)
	}
}

// TestIstioEnvoyFilterGatewayOptions: the EnvoyFilter also gives the gateway a stream idle timeout
// (Istio turns it off, and the routes have no overall timeout) and a router without x-envoy-*
// headers; both patches are valid Envoy configuration.
func TestIstioEnvoyFilterGatewayOptions(t *testing.T) {
	ef := one(t, loadManifests(t, envoyFilterFile, map[string]string{"EnvoyFilter": "networking.istio.io/v1alpha3"}), "EnvoyFilter").doc
	var hcmSeen, routerSeen bool
	for _, p := range ef.Get("spec.configPatches").Array() {
		if p.Get("patch.operation").String() != "MERGE" {
			continue
		}
		filter := p.Get("match.listener.filterChain.filter")
		switch m := typedConfig(t, p.Get("patch.value.typed_config")).(type) {
		case *hcmv3.HttpConnectionManager:
			hcmSeen = true
			if p.Get("applyTo").String() != "NETWORK_FILTER" || filter.Get("name").String() != "envoy.filters.network.http_connection_manager" {
				t.Errorf("the connection manager patch must apply to the http_connection_manager network filter")
			}
			checkRouteTimeouts(t, envoyFilterFile+" stream idle timeout", durationpb.New(0), m.GetStreamIdleTimeout())
		case *routerv3.Router:
			routerSeen = true
			if p.Get("applyTo").String() != "HTTP_FILTER" || filter.Get("subFilter.name").String() != routerName {
				t.Errorf("the router patch must apply to the %s http filter", routerName)
			}
			if !m.GetSuppressEnvoyHeaders() {
				t.Error("router patch: suppress_envoy_headers must be true")
			}
		}
	}
	if !hcmSeen || !routerSeen {
		t.Errorf("want MERGE patches for the connection manager (stream idle timeout) and the router (suppress_envoy_headers); got hcm %v, router %v", hcmSeen, routerSeen)
	}
}

// typedConfig parses the typed_config (JSON with "@type") of a MERGE patch strictly: unknown fields
// and wrong types fail. It is not validated: a patch is partial, so required fields are absent.
func typedConfig(t testing.TB, v gjson.Result) proto.Message {
	t.Helper()
	a := &anypb.Any{}
	if err := protojson.Unmarshal([]byte(v.Raw), a); err != nil {
		t.Fatalf("typed_config %s: %v", v.Raw, err)
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkRemoved: a route removes stepgate's internal headers and the client's address headers
// before the provider.
func checkRemoved(t testing.TB, where string, remove gjson.Result) {
	t.Helper()
	for _, h := range []string{clusterHeader, "x-stepgate-tenant", "x-stepgate-model", "x-stepgate-token-estimate",
		"x-forwarded-for", "x-envoy-external-address", "x-envoy-internal"} {
		if !slices.ContainsFunc(remove.Array(), func(v gjson.Result) bool { return v.String() == h }) {
			t.Errorf("%s does not remove %s before the provider", where, h)
		}
	}
}

// checkK8sRouteTimeout: a route's overall timeout, as Istio and the Gateway API spell it, is "0s"
// (none) or at least minOverall.
func checkK8sRouteTimeout(t testing.TB, where string, v gjson.Result) {
	t.Helper()
	d, err := time.ParseDuration(v.String())
	switch {
	case !v.Exists():
		t.Errorf("%s: no timeout: say 0s (none) so that a default never cuts completions", where)
	case err != nil:
		t.Errorf("%s: timeout %q: %v", where, v.String(), err)
	case d != 0 && d < minOverall:
		t.Errorf("%s: timeout %v cuts long streamed completions; want 0s (none) or >= %v", where, d, minOverall)
	}
}

var gatewayKinds = map[string]string{
	"EnvoyProxy":           "gateway.envoyproxy.io/v1alpha1",
	"EnvoyPatchPolicy":     "gateway.envoyproxy.io/v1alpha1",
	"Gateway":              "gateway.networking.k8s.io/v1",
	"ClientTrafficPolicy":  "gateway.envoyproxy.io/v1alpha1",
	"EnvoyExtensionPolicy": "gateway.envoyproxy.io/v1alpha1",
	"Backend":              "gateway.envoyproxy.io/v1alpha1",
	"BackendTLSPolicy":     "gateway.networking.k8s.io/v1",
	"HTTPRoute":            "gateway.networking.k8s.io/v1",
	"HTTPRouteFilter":      "gateway.envoyproxy.io/v1alpha1",
}

func TestEnvoyGateway(t *testing.T) {
	ms := loadManifests(t, gatewayFile, gatewayKinds)
	gw := one(t, ms, "Gateway")

	ep := one(t, ms, "EnvoyProxy")
	img := ep.doc.Get("spec.provider.kubernetes.envoyDeployment.container.image").String()
	repo, tag, _ := strings.Cut(img, ":")
	if repo != "envoyproxy/envoy" || !versionAtLeast(strings.TrimPrefix(tag, "distroless-v"), minEnvoyVersion) {
		t.Errorf("EnvoyProxy image %q: want envoyproxy/envoy >= v%s", img, minEnvoyVersion)
	}
	if ref := gw.doc.Get("spec.infrastructure.parametersRef"); ref.Get("kind").String() != "EnvoyProxy" || ref.Get("name").String() != ep.name {
		t.Errorf("Gateway %s does not use EnvoyProxy %s", gw.name, ep.name)
	}

	targetsGateway := func(m manifest) bool {
		r := m.doc.Get("spec.targetRefs.0")
		return r.Get("kind").String() == "Gateway" && r.Get("name").String() == gw.name
	}
	ctp := one(t, ms, "ClientTrafficPolicy")
	limit, err := parseQuantity(ctp.doc.Get("spec.connection.bufferLimit").String())
	if err != nil || !targetsGateway(ctp) {
		t.Errorf("ClientTrafficPolicy: want a bufferLimit for Gateway %s (%v)", gw.name, err)
	}

	if d, err := time.ParseDuration(ctp.doc.Get("spec.timeout.http.streamIdleTimeout").String()); err != nil || d < minIdle {
		t.Errorf("ClientTrafficPolicy: timeout.http.streamIdleTimeout %q: want >= %v, the only thing that ends a silent provider's stream (%v)", ctp.doc.Get("spec.timeout.http.streamIdleTimeout"), minIdle, err)
	}
	if ctp.doc.Get("spec.headers.enableEnvoyHeaders").Bool() {
		t.Error("ClientTrafficPolicy: headers.enableEnvoyHeaders would send x-envoy-* headers to providers")
	}

	eep := one(t, ms, "EnvoyExtensionPolicy")
	if !targetsGateway(eep) {
		t.Errorf("EnvoyExtensionPolicy does not target Gateway %s", gw.name)
	}
	w := eep.doc.Get("spec.wasm.0")
	if w.Get("code.type").String() != "Image" || !pinnedImage.MatchString(w.Get("code.image.url").String()) {
		t.Errorf("wasm code %s: want an Image pinned to a tag or digest", w.Get("code").Raw)
	}
	if w.Get("failOpen").Type != gjson.False {
		t.Error("wasm failOpen must be false: the filter must never be skipped")
	}
	js := []byte(w.Get("config").Raw)
	ps := checkPluginConfig(t, gatewayFile+" wasm config", js)
	if cfg, err := config.Parse(js); err == nil && limit < cfg.Limits.MaxRequestBodyBytes+64<<10 {
		t.Errorf("bufferLimit %d is below the plugin's max_request_body_bytes %d plus headroom", limit, cfg.Limits.MaxRequestBodyBytes)
	}
	checkGatewayRouting(t, ms, ps)
}

// checkGatewayRouting: every provider's x-stepgate-cluster value routes to a Backend for its
// authority with a BackendTLSPolicy for that host, and a catch-all rule comes last.
func checkGatewayRouting(t testing.TB, ms []manifest, ps []provider) {
	t.Helper()
	backends := map[string]string{} // name -> hostname
	for _, b := range ofKind(ms, "Backend") {
		if b.doc.Get("spec.endpoints.0.fqdn.port").Int() != 443 {
			t.Errorf("Backend %s: providers are reached on 443", b.name)
		}
		backends[b.name] = b.doc.Get("spec.endpoints.0.fqdn.hostname").String()
	}
	tls := map[string]string{} // backend name -> validated hostname
	for _, p := range ofKind(ms, "BackendTLSPolicy") {
		if p.doc.Get("spec.validation.wellKnownCACertificates").String() == "" {
			t.Errorf("BackendTLSPolicy %s: no CA to check the provider's certificate", p.name)
		}
		tls[p.doc.Get("spec.targetRefs.0.name").String()] = p.doc.Get("spec.validation.hostname").String()
	}
	rules := one(t, ms, "HTTPRoute").doc.Get("spec.rules").Array()
	if len(rules) == 0 || rules[len(rules)-1].Get("matches.0.headers").Exists() {
		t.Error("HTTPRoute: the last rule must be the catch-all")
	}
	for _, p := range ps {
		var routed bool
		for _, r := range rules {
			h := r.Get("matches.0.headers.0")
			if h.Get("name").String() != clusterHeader || h.Get("value").String() != p.cluster {
				continue
			}
			routed = true
			where := "provider " + p.name + ": HTTPRoute rule"
			checkRemoved(t, where, r.Get("filters.#(type==\"RequestHeaderModifier\").requestHeaderModifier.remove"))
			checkK8sRouteTimeout(t, where, r.Get("timeouts.request"))
			if r.Get("timeouts.backendRequest").Exists() {
				t.Errorf("%s: timeouts.backendRequest would cut long completions", where)
			}
			be := r.Get("backendRefs.0.name").String()
			if backends[be] != p.authority || tls[be] != p.authority {
				t.Errorf("provider %s: routed to Backend %q (host %q, TLS for %q), want host %q", p.name, be, backends[be], tls[be], p.authority)
			}
		}
		if !routed {
			t.Errorf("provider %s: no HTTPRoute rule matches %s: %s", p.name, clusterHeader, p.cluster)
		}
	}
}

// TestK8sExamplesAgree: the three examples configure the same plugin and name the same images.
func TestK8sExamplesAgree(t *testing.T) {
	wp := one(t, loadManifests(t, istioFile, istioKinds), "WasmPlugin").doc.Get("spec.pluginConfig").Raw
	eep := one(t, loadManifests(t, gatewayFile, gatewayKinds), "EnvoyExtensionPolicy").doc.Get("spec.wasm.0.config").Raw
	ef := one(t, loadManifests(t, envoyFilterFile, map[string]string{"EnvoyFilter": "networking.istio.io/v1alpha3"}), "EnvoyFilter").doc
	var efConfig string
	ext := &corev3.TypedExtensionConfig{}
	if err := parseProtoYAML([]byte(ef.Get("spec.configPatches.0.patch.value").Raw), ext, "extension config"); err == nil {
		w := unpack[*wasmfilterv3.Wasm](t, ext.GetTypedConfig(), "extension config")
		efConfig = unpack[*wrapperspb.StringValue](t, w.GetConfig().GetConfiguration(), "configuration").GetValue()
	}
	canon := func(s string) string {
		var v any
		if err := yaml.Unmarshal([]byte(s), &v); err != nil {
			return fmt.Sprint(err)
		}
		out, _ := yaml.Marshal(v)
		return string(out)
	}
	if canon(wp) != canon(eep) || canon(wp) != canon(efConfig) {
		t.Errorf("the plugin configurations of %s, %s and %s differ", path.Base(istioFile), path.Base(envoyFilterFile), path.Base(gatewayFile))
	}
}

// parseQuantity reads a Kubernetes binary-suffixed quantity such as 5Mi.
func parseQuantity(q string) (int64, error) {
	for i, suffix := range []string{"Ki", "Mi", "Gi"} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v << (10 * (i + 1)), err
		}
	}
	return strconv.ParseInt(q, 10, 64)
}
