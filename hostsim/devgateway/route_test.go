package devgateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/v1/chat/completions", "/v1/chat/completions"},
		{"//v1///chat//completions", "/v1/chat/completions"},
		{"/v1/./chat/completions", "/v1/chat/completions"},
		{"/v1/x/../chat/completions", "/v1/chat/completions"},
		{"/../../v1", "/v1"},
		{"/a/b/", "/a/b/"},
		{"/a/b/.", "/a/b/"},
		{"/a/b/..", "/a/"},
		{"/a/..", "/"},
		{"/a%2Fb/c", "/a%2Fb/c"},
		{"/..", "/"},
		{"*", "*"},
	}
	for _, tt := range tests {
		if got := normalizePath(tt.in); got != tt.want {
			t.Errorf("normalizePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "//a//b", "/a/./b/../c/", "/..", "/a/%2e%2e/b", "/./", "/a/b/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			return
		}
		n := normalizePath(p)
		if !strings.HasPrefix(n, "/") || strings.Contains(n, "//") || normalizePath(n) != n {
			t.Fatalf("normalizePath(%q) = %q: not normalized", p, n)
		}
		for _, seg := range strings.Split(n, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("normalizePath(%q) = %q keeps a dot segment", p, n)
			}
		}
	})
}

func TestRouteFollowsEnvoyYAML(t *testing.T) {
	tests := []struct {
		headers  hostsim.Headers
		fallback string
		want     string
	}{
		{hostsim.Headers{{"x-stepgate-cluster", "provider_mock_openai"}}, "", "provider_mock_openai"},
		{hostsim.Headers{{"X-Stepgate-Cluster", "provider_a1_b"}}, "", "provider_a1_b"},
		// Only provider clusters can be selected (the route's safe_regex, a whole-value match).
		{hostsim.Headers{{"x-stepgate-cluster", "ratelimit"}}, "", unroutedCluster},
		{hostsim.Headers{{"x-stepgate-cluster", "provider_OpenAI"}}, "", unroutedCluster},
		{hostsim.Headers{{"x-stepgate-cluster", "provider_"}}, "", unroutedCluster},
		{hostsim.Headers{{"x-stepgate-cluster", "xprovider_a"}}, "", unroutedCluster},
		{nil, "", unroutedCluster},
		{nil, "backend", "backend"},
		{hostsim.Headers{{"x-stepgate-cluster", "ratelimit"}}, "backend", "backend"},
	}
	for _, tt := range tests {
		g := &Gateway{cfg: Config{DefaultCluster: tt.fallback}}
		if got := g.route(tt.headers); got != tt.want {
			t.Errorf("route(%v) with default %q = %q, want %q", tt.headers, tt.fallback, got, tt.want)
		}
	}
}

func TestUpstreamTransportRemovesInternalHeadersAndKeepsTrailers(t *testing.T) {
	var got http.Header
	var trailer string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		got, trailer = r.Header.Clone(), r.Trailer.Get("X-Checksum")
	}))
	defer up.Close()
	tr := &upstreamTransport{g: &Gateway{}, base: http.DefaultTransport}

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", up.URL+"/v1/x", pr)
	req.ContentLength = -1
	for _, h := range []string{"x-stepgate-cluster", "x-stepgate-tenant", "x-stepgate-model", "x-stepgate-token-estimate"} {
		req.Header.Set(h, "v")
	}
	req.Header.Set("x-stepgate-step", "shape") // not internal: providers may see it
	req.Header.Set("authorization", "Bearer k")
	req.Trailer = http.Header{}
	go func() {
		pw.Write([]byte("body"))
		req.Trailer.Set("X-Checksum", "abc") // set while the body streams, as hostsim.Proxy does
		pw.Close()
	}()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var internal []string
	for k := range got {
		if slices.Contains(internalHeaders, strings.ToLower(k)) {
			internal = append(internal, k)
		}
	}
	if len(internal) > 0 || got.Get("Authorization") != "Bearer k" || got.Get("X-Stepgate-Step") != "shape" {
		t.Errorf("upstream headers %v (internal ones left: %v)", got, internal)
	}
	if trailer != "abc" {
		t.Errorf("request trailer = %q, want abc", trailer)
	}
	if req.Header.Get("x-stepgate-cluster") == "" {
		t.Error("RoundTrip modified the caller's request headers")
	}
}

func TestUnroutedResponse(t *testing.T) {
	resp, err := (&upstreamTransport{g: &Gateway{}}).RoundTrip(httptest.NewRequest("GET", unroutedURL+"/x", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || string(b) != unroutedBody || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %v %s", resp.StatusCode, resp.Header, b)
	}
}

func TestAppendForwardedFor(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	r.Header.Set("X-Forwarded-For", "192.0.2.1")
	appendForwardedFor(r)
	if got := r.Header.Get("X-Forwarded-For"); got != "192.0.2.1, 10.1.2.3" {
		t.Errorf("x-forwarded-for = %q", got)
	}
	id := r.Header.Get("X-Request-Id")
	if len(id) != 36 || id[14] != '4' {
		t.Errorf("x-request-id = %q, want a version 4 UUID", id)
	}
	r.Header.Set("X-Request-Id", "mine")
	appendForwardedFor(r)
	if r.Header.Get("X-Request-Id") != "mine" {
		t.Error("a client's x-request-id was replaced")
	}
}

func TestProviderFacts(t *testing.T) {
	config := []byte(`{"providers":{
		"a":{"type":"openai","cluster":"provider_a","api_key":"k1","api_keys":["k2","k1"]},
		"b":{"type":"ollama","cluster":"provider_b"},
		"c":{"type":"gemini","cluster":7,"api_keys":["k3",4]}}}`)
	if got, want := providerKeys(config), []string{"k1", "k2", "k3"}; !slices.Equal(got, want) {
		t.Errorf("providerKeys = %q, want %q", got, want)
	}
	want := []providerCluster{{"a", "provider_a", "", []string{"k1", "k2", "k1"}}, {"b", "provider_b", "", nil}}
	if got := providerClusters(config); !slices.EqualFunc(got, want, func(x, y providerCluster) bool {
		return x.provider == y.provider && x.cluster == y.cluster && x.host == y.host && slices.Equal(x.keys, y.keys)
	}) {
		t.Errorf("providerClusters = %v, want %v", got, want)
	}
	if providerKeys([]byte(`not json`)) != nil || providerClusters(nil) != nil {
		t.Error("garbage yields facts")
	}
}

// Only providers without real credentials are mock providers.
func TestRealProviders(t *testing.T) {
	for _, tc := range []struct {
		p    providerCluster
		real bool
		url  string
	}{
		{providerCluster{"openai", "provider_openai", "api.openai.com", []string{"sk-live-1"}}, true, "https://api.openai.com"},
		{providerCluster{"local", "provider_local", "llm.internal:80", []string{"k"}}, true, "http://llm.internal:80"},
		{providerCluster{"self", "provider_self", "llm.internal:8443", []string{"k"}}, true, "https://llm.internal:8443"},
		{providerCluster{"openai", "provider_openai", "api.openai.com", []string{"sk-REPLACE-ME"}}, false, ""},
		{providerCluster{"openai", "provider_openai", "api.openai.com", []string{"sk-live-1", "REPLACE-ME"}}, false, ""},
		{providerCluster{"mock-openai", "provider_mock_openai", "mock-openai:8081", []string{"sk-mock-openai-1"}}, false, ""},
		{providerCluster{"ollama", "provider_ollama", "ollama:11434", nil}, false, ""},
		{providerCluster{"openai", "provider_openai", "", []string{"sk-live-1"}}, false, ""},
	} {
		if got := tc.p.real(); got != tc.real {
			t.Errorf("%+v real = %v, want %v", tc.p, got, tc.real)
		}
		if tc.real && tc.p.url() != tc.url {
			t.Errorf("%+v url = %q, want %q", tc.p, tc.p.url(), tc.url)
		}
	}
}

func TestMergeMetric(t *testing.T) {
	a := hostsim.Metric{Name: "c", Type: "counter", Value: 2}
	a = mergeMetric(hostsim.Metric{}, a)
	a = mergeMetric(a, hostsim.Metric{Name: "c", Type: "counter", Value: 3})
	if a.Value != 5 {
		t.Errorf("counter = %d, want 5", a.Value)
	}
	first := histogram("h", 1, 2)
	first.Samples = first.Samples[:1] // its backing array has room: merging must not write there
	h := mergeMetric(hostsim.Metric{}, first)
	h = mergeMetric(h, histogram("h", 9))
	if !slices.Equal(h.Samples, []uint64{1, 9}) || first.Samples[:2][1] != 2 {
		t.Errorf("samples %v, source %v", h.Samples, first.Samples[:2])
	}
	if h.Count != 3 || h.Sum != 12 || h.Buckets[2] != 2 || h.Buckets[3] != 3 { // le=5: 1, 2; le=10: all
		t.Errorf("merged histogram count %d sum %d buckets %v", h.Count, h.Sum, h.Buckets)
	}
	// Samples stay bounded across generations too.
	many := histogram("h", make([]uint64, hostsim.MaxHistogramSamples)...)
	if m := mergeMetric(mergeMetric(hostsim.Metric{}, many), histogram("h", 7)); len(m.Samples) != hostsim.MaxHistogramSamples ||
		m.Samples[len(m.Samples)-1] != 7 || m.Count != uint64(hostsim.MaxHistogramSamples)+1 {
		t.Errorf("merged %d samples (last %d), count %d", len(m.Samples), m.Samples[len(m.Samples)-1], m.Count)
	}
	if x := mergeMetric(a, hostsim.Metric{Name: "c", Type: "gauge", Value: 100}); x.Value != 5 {
		t.Errorf("a redefinition with another type changed the value: %d", x.Value)
	}
}
