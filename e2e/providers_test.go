package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// route is one model of envoy/stepgate.json and the mock provider it leads to.
type route struct {
	name     string // subtest name: the provider type
	kind     mockprovider.Kind
	provider string // provider name in the configuration
	model    string // what the client asks for
	upstream string // the model name the provider must see
	// authHeader carries the provider credential ("" for a local Ollama: none at all).
	authHeader string
	// shared: the model has other backends too; a request lands here only by the weighted
	// draw, so tests repeat it (with a new prompt) until this provider got one.
	shared bool
}

// exampleRoutes covers every provider type the example configuration routes to.
var exampleRoutes = []route{
	{name: "openai", kind: mockprovider.OpenAI, provider: "mock-openai", model: "gpt-4o-mini", upstream: "gpt-4o-mini", authHeader: "Authorization"},
	{name: "azure", kind: mockprovider.Azure, provider: "mock-azure", model: "gpt-4o", upstream: "gpt-4o", authHeader: "Api-Key", shared: true},
	{name: "anthropic", kind: mockprovider.Anthropic, provider: "mock-anthropic", model: "claude-sonnet-4", upstream: "claude-sonnet-4-20250514", authHeader: "X-Api-Key"},
	{name: "gemini", kind: mockprovider.Gemini, provider: "mock-gemini", model: "gemini-2.0-flash", upstream: "gemini-2.0-flash", authHeader: "X-Goog-Api-Key"},
	{name: "ollama", kind: mockprovider.Ollama, provider: "mock-ollama", model: "llama3.2", upstream: "llama3.2"},
	{name: "bedrock", kind: mockprovider.Bedrock, provider: "mock-bedrock", model: "claude-3-haiku",
		upstream: "anthropic.claude-3-haiku-20240307-v1:0", authHeader: "Authorization"},
}

// TestExampleRoutesMatchTheConfiguration keeps exampleRoutes honest about envoy/stepgate.json.
func TestExampleRoutesMatchTheConfiguration(t *testing.T) {
	cfg := exampleConfig(t)
	for _, r := range exampleRoutes {
		backends := gjson.GetBytes(cfg, "models.routes."+gjson.Escape(r.model))
		if !backends.IsArray() {
			backends = gjson.Parse("[" + backends.Raw + "]")
		}
		found := false
		for _, b := range backends.Array() {
			if b.Get("provider").Str == r.provider && b.Get("model").Str == r.upstream {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: model %q does not route to %s/%s in envoy/stepgate.json", r.name, r.model, r.provider, r.upstream)
		}
		if shared := len(backends.Array()) > 1; shared != r.shared {
			t.Errorf("%s: model %q has %d backends; shared = %v", r.name, r.model, len(backends.Array()), r.shared)
		}
		if typ := gjson.GetBytes(cfg, "providers."+gjson.Escape(r.provider)+".type").Str; typ != string(r.kind) {
			t.Errorf("%s: provider %s has type %q, want %q", r.name, r.provider, typ, r.kind)
		}
	}
}

// maxAttempts bounds the repeats for a shared model: with the example's 3:1 weights the chance
// of missing the 1 forty times in a row is 0.75^40 ≈ 1e-5.
const maxAttempts = 40

// via runs call with a fresh marker until the route's provider received a request containing
// it, and returns that request. call puts the marker in its prompt and records its own results
// (only the last call's results matter). Routes with one backend get exactly one call.
func (g *gateway) via(t *testing.T, r route, call func(marker string)) mockprovider.Request {
	t.Helper()
	base := nonce(t)
	for i := range maxAttempts {
		marker := fmt.Sprintf("%s~%d", base, i)
		call(marker)
		if t.Failed() {
			t.FailNow()
		}
		if !r.shared {
			return g.requestWith(t, r.kind, marker)
		}
		for _, req := range g.mocks.Requests(t, r.kind) {
			if strings.Contains(string(req.Body), marker) {
				return req
			}
		}
	}
	t.Fatalf("model %s never reached %s in %d attempts", r.model, r.kind, maxAttempts)
	return mockprovider.Request{}
}

// checkUpstream asserts what the provider received: its own model name (in the body, the Azure
// deployment or the Gemini path) and its own credentials only.
func checkUpstream(t *testing.T, cfg []byte, r route, req mockprovider.Request) {
	t.Helper()
	var model string
	switch r.kind {
	case mockprovider.Azure:
		model, _, _ = strings.Cut(strings.TrimPrefix(req.Path, "/openai/deployments/"), "/")
	case mockprovider.Gemini:
		model, _, _ = strings.Cut(strings.TrimPrefix(req.Path, "/v1beta/models/"), ":")
	case mockprovider.Bedrock: // the mock has verified the signature: check whose it is
		model = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(req.Path, "/model/"), "/converse-stream"), "/converse")
		id := gjson.GetBytes(cfg, "providers."+gjson.Escape(r.provider)+".access_key_id").Str
		if auth := req.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+id+"/") {
			t.Errorf("bedrock got Authorization %q, want a signature with access key %s", auth, id)
		}
	default:
		model = gjson.GetBytes(req.Body, "model").Str
	}
	if model != r.upstream {
		t.Errorf("%s received model %q (path %s), want %q", r.kind, model, req.Path, r.upstream)
	}
	if r.kind != mockprovider.Bedrock {
		checkCredentials(t, req, r.authHeader, providerKeys(cfg, r.provider))
	}
	// The filter's routing headers are for the proxy; only the documented step tag goes on.
	for name := range req.Header {
		if strings.HasPrefix(name, "X-Stepgate-") && name != "X-Stepgate-Step" {
			t.Errorf("%s received the internal header %s: %q", r.kind, name, req.Header.Get(name))
		}
	}
}

// mockTokens is the mock providers' tokenizer: one token per started 4 bytes.
func mockTokens(s string) int64 { return int64((len(s) + 3) / 4) }

// replyTo is the mock's deterministic answer to a last user text.
func replyTo(text string) string { return "mock reply to: " + text }
