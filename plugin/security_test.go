package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
)

// secConfig has a provider of each credential header, and pattern routes whose model names go
// into the upstream path.
const secConfig = `{
  "providers": {
    "oa":     {"type": "openai", "cluster": "openai", "api_keys": ["sk-provider-oa"]},
    "claude": {"type": "anthropic", "cluster": "anthropic", "api_keys": ["sk-ant-provider"]},
    "gem":    {"type": "gemini", "cluster": "gemini", "api_keys": ["goog-provider"]},
    "az":     {"type": "azure", "cluster": "azure", "host": "r.openai.azure.com", "api_keys": ["azure-provider"]},
    "self":   {"type": "openai_compatible", "cluster": "self", "host": "llm.internal", "api_keys": ["self-provider"],
               "forward_headers": ["cookie"]}
  },
  "models": {"routes": {"gpt-4o": "oa", "claude": "claude/claude-sonnet-4-5", "gemini": "gem/gemini-2.0-flash",
    "az-*": "az", "gm-*": "gem", "self": "self"}}
}`

// clientCreds is a client credential in every header of every dialect, repeated and in mixed
// case, plus the session headers a provider never needs.
var clientCreds = [][2]string{
	{"Authorization", "Bearer client-secret-1"}, {"authorization", "Bearer client-secret-2"},
	{"X-Api-Key", "client-secret-3"}, {"x-api-key", "client-secret-4"},
	{"API-KEY", "client-secret-5"}, {"api-key", "client-secret-6"},
	{"X-Goog-Api-Key", "client-secret-7"}, {"x-goog-api-key", "client-secret-8"},
	{"Cookie", "session=client-secret-9"}, {"Proxy-Authorization", "Basic client-secret-10"},
}

// sendAI sends an AI request in a client dialect (path picks it) with extra headers.
func sendAI(h *hostsim.Host, path, body string, extra ...[2]string) *hostsim.Stream {
	s := h.NewStream()
	hd := post(path, append([][2]string{{"content-length", strconv.Itoa(len(body))}}, extra...)...)
	if s.SendRequestHeaders(hd, false) == hostsim.Continue {
		panic("AI request headers were not held for the body")
	}
	s.SendRequestBody([]byte(body), true)
	return s
}

func TestClientCredentialsNeverReachTheProvider(t *testing.T) {
	h, _ := startFilter(t, secConfig, 1)
	openaiBody := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
	}
	anthropicBody := func(model string) string {
		return `{"model":"` + model + `","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	}
	geminiBody := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	type call struct{ path, body, header, want string }
	var calls []call
	for _, to := range []struct{ model, header, want string }{
		{"gpt-4o", "authorization", "Bearer sk-provider-oa"},
		{"claude", "x-api-key", "sk-ant-provider"},
		{"gemini", "x-goog-api-key", "goog-provider"},
		{"az-prod", "api-key", "azure-provider"},
	} {
		calls = append(calls,
			call{"/v1/chat/completions", openaiBody(to.model), to.header, to.want},
			call{"/v1/messages", anthropicBody(to.model), to.header, to.want},
			call{"/v1beta/models/" + to.model + ":generateContent?key=client-secret-11", geminiBody, to.header, to.want})
	}
	for _, c := range calls {
		s := sendAI(h, c.path, c.body, clientCreds...)
		if lr := s.LocalReply(); lr != nil {
			t.Fatalf("%s %s: local reply %d %s", c.path, c.body, lr.Status, lr.Body)
		}
		up := s.Upstream()
		var values []string
		for _, kv := range up.Headers {
			if kv[0] == c.header {
				values = append(values, kv[1])
			}
			if strings.Contains(kv[1], "client-secret") {
				t.Errorf("%s → %s: client header forwarded: %s: %s", c.path, c.header, kv[0], kv[1])
			}
		}
		if len(values) != 1 || values[0] != c.want {
			t.Errorf("%s → %s: upstream %s = %q, want only %q", c.path, c.header, c.header, values, c.want)
		}
		if strings.Contains(string(up.Body), "client-secret") {
			t.Errorf("%s: body carries a client credential: %s", c.path, up.Body)
		}
	}
}

// A provider's forward_headers keeps a session header; credentials still go.
func TestForwardHeadersKeepsAllowedSessionHeaders(t *testing.T) {
	h, _ := startFilter(t, secConfig, 1)
	s := sendAI(h, "/v1/chat/completions", `{"model":"self","messages":[{"role":"user","content":"hi"}]}`, clientCreds...)
	up := s.Upstream().Headers
	if up.Get("cookie") != "session=client-secret-9" || up.Get("proxy-authorization") != "" ||
		up.Get("authorization") != "Bearer self-provider" {
		t.Errorf("upstream headers %v", up)
	}
	_, err := hostsim.New(t.Context(), hostsim.Config{Module: filterWasm(t),
		PluginConfig: []byte(strings.Replace(secConfig, `"forward_headers": ["cookie"]`, `"forward_headers": ["authorization"]`, 1))})
	if err == nil || !strings.Contains(err.Error(), "providers.self.forward_headers[0]") {
		t.Errorf("allow-listing a credential: err = %v", err)
	}
}

// A model name that would leave the provider's path template is refused in the client's
// dialect before anything goes upstream.
func TestModelNamesCannotEscapeTheUpstreamPath(t *testing.T) {
	h, _ := startFilter(t, secConfig, 1)
	for _, c := range []struct{ path, body, errField string }{
		{"/v1/chat/completions", `{"model":"az-x/../../../admin?y=","messages":[{"role":"user","content":"hi"}]}`, "error.param"},
		{"/v1/chat/completions", `{"model":"gm-x#frag","messages":[{"role":"user","content":"hi"}]}`, "error.param"},
		{"/v1/messages", `{"model":"az-a/../b","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "error.type"},
		{"/v1beta/models/gm-a/../../x:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, "error.status"},
	} {
		s := sendAI(h, c.path, c.body, [2]string{"authorization", "Bearer c"})
		lr := s.LocalReply()
		if lr == nil || lr.Status != 400 || !gjson.GetBytes(lr.Body, c.errField).Exists() {
			t.Errorf("%s %s: %+v, want 400 in the client's dialect", c.path, c.body, lr)
		}
		if s.Upstream().Headers != nil {
			t.Errorf("%s %s reached the provider at %s", c.path, c.body, s.Upstream().Headers.Get(":path"))
		}
	}
}

// Gemini's ?key= never reaches the provider nor the call record.
func TestQueryKeyIsNeitherForwardedNorLogged(t *testing.T) {
	h, _ := startFilter(t, secConfig, 1)
	s := sendAI(h, "/v1beta/models/gemini:streamGenerateContent?alt=sse&key=AIza-client-secret",
		`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, [2]string{"x-request-id", "q-1"})
	if p := s.Upstream().Headers.Get(":path"); p != "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse" {
		t.Errorf("upstream :path = %q", p)
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte(`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}]}`+"\r\n\r\n"), true)
	rec := callRecord(t, h, "q-1")
	if strings.Contains(rec.Raw, "AIza") || rec.Get("path").Str != "/v1beta/models/gemini:streamGenerateContent?alt=sse" {
		t.Errorf("call record = %s", rec.Raw)
	}
}
