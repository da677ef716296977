package envoy_test

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"github.com/tidwall/gjson"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/config"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// provider is what the tests need to know of one provider backend in the plugin configuration.
type provider struct {
	name, typ, cluster, authority string
	keys                          []string
}

// pluginProviders reads the provider backends of a plugin configuration. It is the one place that
// knows the layout of the "providers" section.
func pluginProviders(t testing.TB, doc []byte) []provider {
	t.Helper()
	var ps []provider
	gjson.GetBytes(doc, "providers").ForEach(func(name, p gjson.Result) bool {
		var keys []string
		if k := p.Get("api_key"); k.Exists() {
			keys = append(keys, k.String())
		}
		for _, k := range p.Get("api_keys").Array() {
			keys = append(keys, k.String())
		}
		if k := p.Get("access_key_id"); k.Exists() { // a signing provider (Bedrock) is known by its key id
			keys = append(keys, k.String())
		}
		ps = append(ps, provider{
			name: name.String(), typ: p.Get("type").String(), cluster: p.Get("cluster").String(),
			authority: p.Get("host").String(), keys: keys,
		})
		return true
	})
	if len(ps) == 0 {
		t.Fatal("the plugin configuration names no provider")
	}
	return ps
}

// TestEnvoyYAMLParsesStrictly: envoy.yaml is a valid v3 bootstrap by Envoy's own rules (unknown
// fields, unresolvable typed configs, constraint violations and deprecated fields all fail).
func TestEnvoyYAMLParsesStrictly(t *testing.T) {
	loadBootstrap(t)
}

// TestStrictParseCatchesMistakes proves the parse above would notice the usual mistakes.
func TestStrictParseCatchesMistakes(t *testing.T) {
	yamlText := string(readFile(t, envoyYAMLPath))
	tests := []struct{ name, old, new string }{
		{"unknown field", "stat_prefix: stepgate", "stat_prefix: stepgate\n          stat_prefx: typo"},
		{"unknown typed config", "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", "type.googleapis.com/envoy.extensions.filters.http.routr.v3.Router"},
		{"constraint violation", "port_value: 10000", "port_value: 70000"},
		{"bad enum", "failure_policy: FAIL_RELOAD", "failure_policy: FAIL_SOMETIMES"},
		{"deprecated field", "allow_on_headers_stop_iteration: true", "allow_on_headers_stop_iteration: true\n                fail_open: true"},
		{"wrong type", "timeout: 300s", "timeout: forever"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(yamlText, tt.old) {
				t.Fatalf("envoy.yaml no longer contains %q; update this test", tt.old)
			}
			if _, err := parseBootstrap([]byte(strings.Replace(yamlText, tt.old, tt.new, 1))); err == nil {
				t.Errorf("replacing %q by %q: parsed without error", tt.old, tt.new)
			}
		})
	}
}

// TestHTTPFilterChain: stepgate runs first, fleet rate limiting second (it reads the headers stepgate
// sets), the router last.
func TestHTTPFilterChain(t *testing.T) {
	var names []string
	for _, f := range hcm(t, loadBootstrap(t)).GetHttpFilters() {
		names = append(names, f.GetName())
	}
	want := []string{wasmFilterName, rateLimitName, routerName}
	if !slices.Equal(names, want) {
		t.Errorf("http filters = %v, want %v", names, want)
	}
}

func TestWasmFilterConfig(t *testing.T) {
	b := loadBootstrap(t)
	pc := wasmFilter(t, b).GetConfig()
	vm := pc.GetVmConfig()
	checks := []struct {
		what      string
		got, want any
	}{
		{"vm_config.runtime", vm.GetRuntime(), "envoy.wasm.runtime.v8"},
		{"vm_config.code.local.filename", vm.GetCode().GetLocal().GetFilename(), "/etc/stepgate/stepgate.wasm"},
		{"vm_config.vm_id", vm.GetVmId(), "stepgate"},
		{"name", pc.GetName(), "stepgate"},
		// The filter injects credentials and enforces quotas: it must never be skipped.
		{"failure_policy", pc.GetFailurePolicy(), wasmv3.FailurePolicy_FAIL_RELOAD},
		{"fail_open", pc.GetFailOpen(), false},
		// stepgate reads the body before it rewrites the headers (see envoy.yaml).
		{"allow_on_headers_stop_iteration", pc.GetAllowOnHeadersStopIteration().GetValue(), true},
		{"configuration type", pc.GetConfiguration().GetTypeUrl(), "type.googleapis.com/google.protobuf.StringValue"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("wasm %s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

// TestPluginConfigIsValid: the configuration Envoy hands the filter passes the filter's own
// validation, so the filter starts.
func TestPluginConfigIsValid(t *testing.T) {
	for name, doc := range map[string][]byte{
		pluginJSONPath:          readFile(t, pluginJSONPath),
		"envoy.yaml (embedded)": []byte(embeddedPluginConfig(t, loadBootstrap(t))),
	} {
		if err := parsePluginConfig(doc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// parsePluginConfig validates a plugin configuration with the filter's own parsers: config.Parse,
// which aggregates every section, and the section parsers of the domain packages directly, so that
// the examples are checked section by section even where config.Parse does not call them yet.
func parsePluginConfig(doc []byte) error {
	if _, err := config.Parse(doc); err != nil {
		return fmt.Errorf("config.Parse: %w", err)
	}
	root := gjson.ParseBytes(doc)
	if _, err := aiformat.ParseConfig(root, ""); err != nil {
		return fmt.Errorf("aiformat.ParseConfig: %w", err)
	}
	if _, err := throttle.ParseConfig(root.Get("throttle"), "throttle"); err != nil {
		return fmt.Errorf("throttle.ParseConfig: %w", err)
	}
	return nil
}

// TestClusterReferences: every cluster a route, a filter or the plugin configuration names exists,
// the provider route can select every provider cluster, and no cluster is left unused.
func TestClusterReferences(t *testing.T) {
	b := loadBootstrap(t)
	cs := clusters(b)
	if len(cs) != len(b.GetStaticResources().GetClusters()) {
		t.Fatal("two clusters share a name")
	}
	used := map[string]string{} // cluster -> who names it
	var selectable *regexp.Regexp
	for _, r := range routes(t, b) {
		ra := r.GetRoute()
		switch {
		case ra == nil:
			continue
		case ra.GetCluster() != "":
			used[ra.GetCluster()] = "route " + r.GetName()
		case ra.GetClusterHeader() == clusterHeader:
			var hdr bool
			for _, h := range r.GetMatch().GetHeaders() {
				if h.GetName() == clusterHeader {
					hdr = true
					re := h.GetStringMatch().GetSafeRegex().GetRegex()
					if re == "" {
						t.Fatalf("route %s: the %s match must be a safe_regex that limits the selectable clusters", r.GetName(), clusterHeader)
					}
					selectable = regexp.MustCompile("^(?:" + re + ")$")
				}
			}
			if !hdr {
				t.Errorf("route %s uses cluster_header but does not require the header; it needs a fallback route", r.GetName())
			}
		default:
			t.Errorf("route %s: unexpected route action %v", r.GetName(), ra)
		}
	}
	if selectable == nil {
		t.Fatalf("no route honours %s", clusterHeader)
	}
	if last := routes(t, b)[len(routes(t, b))-1]; last.GetMatch().GetPrefix() != "/" || len(last.GetMatch().GetHeaders()) != 0 {
		t.Errorf("the last route must be a fallback for requests the filter did not route, got %v", last.GetMatch())
	}

	for _, p := range pluginProviders(t, readFile(t, pluginJSONPath)) {
		if _, ok := cs[p.cluster]; !ok {
			t.Errorf("provider %s names cluster %q, which envoy.yaml does not define", p.name, p.cluster)
		}
		if !selectable.MatchString(p.cluster) {
			t.Errorf("provider %s: cluster %q cannot be selected through %s (route regex %s)", p.name, p.cluster, clusterHeader, selectable)
		}
		used[p.cluster] = "provider " + p.name
	}
	rl := rateLimitFilter(t, b).GetRateLimitService().GetGrpcService().GetEnvoyGrpc().GetClusterName()
	if _, ok := cs[rl]; !ok {
		t.Errorf("ratelimit filter names cluster %q, which envoy.yaml does not define", rl)
	}
	if selectable.MatchString(rl) {
		t.Errorf("the ratelimit cluster %q must not be selectable through %s", rl, clusterHeader)
	}
	used[rl] = "ratelimit filter"
	if fc := gjson.GetBytes(readFile(t, pluginJSONPath), "fleet.cluster").Str; fc != "" {
		used[fc] = "fleet rules" // TestFleetRulesMatchTheService checks it
	}
	for name := range cs {
		if _, ok := used[name]; !ok {
			t.Errorf("cluster %s is not used by any route, filter or provider", name)
		}
	}
}

// TestProviderAuthorities: the :authority the filter sets for a provider is the host the provider's
// cluster connects to, so that TLS SNI, certificate checks and virtual hosting agree.
func TestProviderAuthorities(t *testing.T) {
	b := loadBootstrap(t)
	cs := clusters(b)
	for _, p := range pluginProviders(t, readFile(t, pluginJSONPath)) {
		c, ok := cs[p.cluster]
		if !ok {
			continue // reported by TestClusterReferences
		}
		host, port := endpoint(t, c)
		want := net.JoinHostPort(host, strconv.Itoa(int(port)))
		if port == 443 {
			want = host
		}
		if p.authority != want {
			t.Errorf("provider %s: authority %q, but cluster %s connects to %s:%d (want authority %q)", p.name, p.authority, p.cluster, host, port, want)
		}
	}
}

// TestUpstreamTLS: every cluster that leaves the compose network speaks TLS with SNI and a
// certificate check for its own host.
func TestUpstreamTLS(t *testing.T) {
	for _, c := range loadBootstrap(t).GetStaticResources().GetClusters() {
		host, port := endpoint(t, c)
		external := strings.Contains(host, ".")
		ts := c.GetTransportSocket()
		if !external {
			if ts != nil {
				t.Errorf("cluster %s (compose service %s) should be plain HTTP", c.GetName(), host)
			}
			continue
		}
		if port != 443 || ts == nil {
			t.Errorf("cluster %s: external host %s:%d must use TLS on 443", c.GetName(), host, port)
			continue
		}
		tc := unpack[*tlsv3.UpstreamTlsContext](t, ts.GetTypedConfig(), "cluster "+c.GetName())
		if tc.GetSni() != host {
			t.Errorf("cluster %s: sni %q, want %q", c.GetName(), tc.GetSni(), host)
		}
		vc := tc.GetCommonTlsContext().GetValidationContext()
		if vc.GetTrustedCa().GetFilename() == "" {
			t.Errorf("cluster %s: no trusted CA, the server certificate would not be checked", c.GetName())
		}
		var san bool
		for _, m := range vc.GetMatchTypedSubjectAltNames() {
			san = san || m.GetMatcher().GetExact() == host
		}
		if !san {
			t.Errorf("cluster %s: no subject alt name match for %s", c.GetName(), host)
		}
		if c.GetType() != clusterv3.Cluster_LOGICAL_DNS {
			t.Errorf("cluster %s: external providers sit behind DNS load balancers: use LOGICAL_DNS", c.GetName())
		}
	}
}

// TestBufferLimits: Envoy buffers a request body at least as large as the largest the filter accepts,
// so that the filter, not Envoy, decides what is too big and answers in the client's dialect.
func TestBufferLimits(t *testing.T) {
	cfg, err := config.Parse(readFile(t, pluginJSONPath))
	if err != nil {
		t.Fatal(err)
	}
	const headroom = 64 << 10
	limit := cfg.Limits.MaxRequestBodyBytes
	if mb := gjson.GetBytes(readFile(t, pluginJSONPath), "models.max_body_bytes"); mb.Exists() && mb.Int() < limit {
		limit = mb.Int()
	}
	need := uint32(limit + headroom)
	b := loadBootstrap(t)
	l := b.GetStaticResources().GetListeners()[0]
	if got := l.GetPerConnectionBufferLimitBytes().GetValue(); got < need {
		t.Errorf("listener per_connection_buffer_limit_bytes = %d, want >= %d (plugin limit %d + headroom)", got, need, limit)
	}
	h2 := hcm(t, b).GetHttp2ProtocolOptions()
	if got := h2.GetInitialStreamWindowSize().GetValue(); got < need {
		t.Errorf("http2 initial_stream_window_size = %d, want >= %d", got, need)
	}
	for _, p := range pluginProviders(t, readFile(t, pluginJSONPath)) {
		if c, ok := clusters(b)[p.cluster]; ok && c.GetPerConnectionBufferLimitBytes().GetValue() < need {
			t.Errorf("cluster %s: per_connection_buffer_limit_bytes = %d, want >= %d (translated response bodies are buffered too)", c.GetName(), c.GetPerConnectionBufferLimitBytes().GetValue(), need)
		}
	}
}

// Timeouts a provider route must allow: minIdle covers a reasoning model's silence before its first
// token and a non-streamed completion (the official OpenAI and Anthropic clients wait 10 minutes);
// an overall limit, if any, must leave streams at least minOverall.
const (
	minIdle    = 10 * time.Minute
	minOverall = time.Hour
)

// TestProviderRouteTimeouts: no timeout cuts a long completion, streamed or not, and an idle
// timeout still ends a stream whose provider went silent.
func TestProviderRouteTimeouts(t *testing.T) {
	b := loadBootstrap(t)
	var providerRoutes int
	for _, r := range routes(t, b) {
		ra := r.GetRoute()
		if ra == nil {
			continue
		}
		providerRoutes++
		checkRouteTimeouts(t, "route "+r.GetName(), ra.GetTimeout(), ra.GetIdleTimeout())
		if ra.GetMaxStreamDuration() != nil {
			t.Errorf("route %s: max_stream_duration would cut long streams", r.GetName())
		}
	}
	if providerRoutes == 0 {
		t.Fatal("no route sends to a provider")
	}
	h := hcm(t, b)
	if d := h.GetRequestTimeout().AsDuration(); d != 0 {
		t.Errorf("connection manager request_timeout %v would cut long completions", d)
	}
	if d := h.GetCommonHttpProtocolOptions().GetMaxStreamDuration().AsDuration(); d != 0 {
		t.Errorf("connection manager max_stream_duration %v would cut long streams", d)
	}
	if d := h.GetStreamIdleTimeout().AsDuration(); d < time.Minute {
		t.Errorf("connection manager stream_idle_timeout %v: too short for the upload and shaping", d)
	}
}

// checkRouteTimeouts applies the rules above to one route's overall and idle timeouts (nil: unset).
func checkRouteTimeouts(t testing.TB, where string, overall, idle *durationpb.Duration) {
	t.Helper()
	switch {
	case overall == nil:
		t.Errorf("%s: no timeout set, so Envoy's default of 15s cuts completions; want 0s (none) or >= %v", where, minOverall)
	case overall.AsDuration() != 0 && overall.AsDuration() < minOverall:
		t.Errorf("%s: timeout %v cuts long streamed completions; want 0s (none) or >= %v", where, overall.AsDuration(), minOverall)
	}
	switch {
	case idle == nil || idle.AsDuration() == 0:
		t.Errorf("%s: no idle_timeout: a provider that stops answering would hold the stream forever", where)
	case idle.AsDuration() < minIdle:
		t.Errorf("%s: idle_timeout %v kills a model that thinks before its first token; want >= %v", where, idle.AsDuration(), minIdle)
	}
}

// TestHeadersToProviders: providers see neither stepgate's internal headers, nor Envoy's own
// x-envoy-* headers, nor the client's address.
func TestHeadersToProviders(t *testing.T) {
	b := loadBootstrap(t)
	removed := hcm(t, b).GetRouteConfig().GetVirtualHosts()[0].GetRequestHeadersToRemove()
	internal := []string{clusterHeader}
	for _, rl := range rateLimitFilter(t, b).GetRateLimits() {
		for _, a := range rl.GetActions() {
			if h := a.GetRequestHeaders().GetHeaderName(); h != "" {
				internal = append(internal, h)
			}
		}
		if f := rl.GetHitsAddend().GetFormat(); f != "" {
			internal = append(internal, strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(f, "%REQ("), ")%")))
		}
	}
	for _, h := range internal {
		if !slices.Contains(removed, h) {
			t.Errorf("internal header %s is not in request_headers_to_remove: providers would see it", h)
		}
	}
	for _, h := range []string{"x-forwarded-for", "x-envoy-external-address", "x-envoy-internal"} {
		if !slices.Contains(removed, h) {
			t.Errorf("%s is not in request_headers_to_remove: providers would learn about the client", h)
		}
	}
	if !httpFilter[*routerv3.Router](t, hcm(t, b), routerName).GetSuppressEnvoyHeaders() {
		t.Error("router: suppress_envoy_headers must be true, or providers get x-envoy-* headers")
	}
	if vh := hcm(t, b).GetRouteConfig().GetVirtualHosts()[0]; !slices.Equal(vh.GetDomains(), []string{"*"}) {
		t.Errorf("virtual host domains = %v, want [*]: the filter rewrites :authority before the route is chosen again", vh.GetDomains())
	}
}

func TestAdmin(t *testing.T) {
	a := loadBootstrap(t).GetAdmin().GetAddress().GetSocketAddress()
	if a.GetPortValue() != 9901 {
		t.Errorf("admin port = %d, want 9901", a.GetPortValue())
	}
	if l := loadBootstrap(t).GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress(); l.GetPortValue() != 10000 || l.GetAddress() != "0.0.0.0" {
		t.Errorf("listener = %s:%d, want 0.0.0.0:10000", l.GetAddress(), l.GetPortValue())
	}
}
