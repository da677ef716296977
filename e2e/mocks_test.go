package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// mocks is how a test reaches the mock providers behind the gateway: in process (the dev
// gateway's Mux) or through the control endpoints of docker compose's mock containers.
type mocks interface {
	// Requests returns what the provider of kind received, oldest first.
	Requests(t *testing.T, kind mockprovider.Kind) []mockprovider.Request
	// FailNext makes the next n requests of kind fail as spec says (mockprovider.ParseFault).
	FailNext(t *testing.T, kind mockprovider.Kind, n int, spec string)
}

// composePorts are the localhost ports docker-compose.yml publishes for each mock container.
var composePorts = map[mockprovider.Kind]int{
	mockprovider.OpenAI: 18081, mockprovider.Azure: 18082, mockprovider.Anthropic: 18083,
	mockprovider.Gemini: 18084, mockprovider.Ollama: 18085, mockprovider.Bedrock: 18086,
}

// httpMocks reach docker compose's mock containers through their control endpoints.
type httpMocks struct{ base map[mockprovider.Kind]string }

func composeMocks() httpMocks {
	m := httpMocks{base: map[mockprovider.Kind]string{}}
	for k, port := range composePorts {
		m.base[k] = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	return m
}

func (hm httpMocks) Requests(t *testing.T, kind mockprovider.Kind) []mockprovider.Request {
	t.Helper()
	resp, err := httpClient.Get(hm.base[kind] + "/__mock/requests?kind=" + url.QueryEscape(string(kind)))
	if err != nil {
		t.Fatalf("mock %s: %v", kind, err)
	}
	defer resp.Body.Close()
	var reqs []mockprovider.Request
	if err := json.NewDecoder(resp.Body).Decode(&reqs); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mock %s: GET /__mock/requests: %d %v", kind, resp.StatusCode, err)
	}
	return reqs
}

func (hm httpMocks) FailNext(t *testing.T, kind mockprovider.Kind, n int, spec string) {
	t.Helper()
	b, _ := json.Marshal(mockprovider.FaultRequest{Kind: kind, Count: n, Spec: spec})
	resp, err := httpClient.Post(hm.base[kind]+"/__mock/faults", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("mock %s: %v", kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("mock %s: POST /__mock/faults: %d %s", kind, resp.StatusCode, msg)
	}
}

// requestWith returns the request the provider of kind received whose body (or path, for
// providers that carry the prompt nowhere else) contains marker. It fails the test when there
// is none or more than one.
func (g *gateway) requestWith(t *testing.T, kind mockprovider.Kind, marker string) mockprovider.Request {
	t.Helper()
	var found []mockprovider.Request
	for _, r := range g.mocks.Requests(t, kind) {
		if bytes.Contains(r.Body, []byte(marker)) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("mock %s received %d requests containing %q, want 1", kind, len(found), marker)
	}
	return found[0]
}

// reached reports whether any provider received a request containing marker.
func (g *gateway) reached(t *testing.T, marker string) []mockprovider.Kind {
	t.Helper()
	var kinds []mockprovider.Kind
	for _, k := range mockprovider.Kinds() {
		for _, r := range g.mocks.Requests(t, k) {
			if bytes.Contains(r.Body, []byte(marker)) || strings.Contains(r.Path, marker) {
				kinds = append(kinds, k)
				break
			}
		}
	}
	return kinds
}

// checkCredentials asserts that the provider got one of its configured keys in its own auth
// header and that the client's key went nowhere (headers, query, body).
func checkCredentials(t *testing.T, r mockprovider.Request, authHeader string, keys []string) {
	t.Helper()
	for name, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, clientKey) {
				t.Errorf("the client's key reached %s in header %s", r.Kind, name)
			}
		}
	}
	if strings.Contains(r.Query, clientKey) || bytes.Contains(r.Body, []byte(clientKey)) {
		t.Errorf("the client's key reached %s in the query or body", r.Kind)
	}
	if authHeader == "" {
		for _, h := range []string{"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key"} {
			if v := r.Header.Get(h); v != "" {
				t.Errorf("%s got %s: %q, want no credential", r.Kind, h, v)
			}
		}
		return
	}
	got := strings.TrimPrefix(r.Header.Get(authHeader), "Bearer ")
	for _, k := range keys {
		if got == k {
			return
		}
	}
	t.Errorf("%s got %s %q, want one of the configured keys %q", r.Kind, authHeader, got, keys)
}
