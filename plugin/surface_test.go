package main

import (
	"strconv"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/tidwall/gjson"
)

// A model a caller may use is answered like its entry in /v1/models; any other is the same
// 404 an unknown model gets, in the caller's dialect.
func TestModelByID(t *testing.T) {
	h, _ := startFilter(t, governedConfig, 1)
	lr := sendReq(h, get("/v1/models/gpt-4o-mini", bearer(aliceKey)), "").LocalReply()
	if lr == nil || lr.Status != 200 || string(lr.Body) != `{"id":"gpt-4o-mini","object":"model","created":0,"owned_by":"oa"}` {
		t.Fatalf("gpt-4o-mini for alice: %+v", lr)
	}
	// acme may not use claude: it does not exist for alice, but does for gary.
	refused(t, sendReq(h, get("/v1/models/claude", bearer(aliceKey)), ""), 404, "error.code", "model_not_found")
	refused(t, sendReq(h, get("/v1/models/gpt-5", bearer(garyKey)), ""), 404, "error.message", `model "gpt-5" does not exist`)
	lr = sendReq(h, get("/v1/models/claude", bearer(garyKey), [2]string{"anthropic-version", "2023-06-01"}), "").LocalReply()
	if lr == nil || lr.Status != 200 || gjson.GetBytes(lr.Body, "type").Str != "model" || gjson.GetBytes(lr.Body, "id").Str != "claude" {
		t.Fatalf("claude for gary, Anthropic shape: %+v", lr)
	}
	lr = sendReq(h, get("/v1beta/models/gemini", [2]string{"x-goog-api-key", aliceKey}), "").LocalReply()
	if lr == nil || lr.Status != 200 || gjson.GetBytes(lr.Body, "name").Str != "models/gemini" {
		t.Fatalf("gemini for alice, Gemini shape: %+v", lr)
	}
	refused(t, sendReq(h, get("/v1/models/gpt-4o"), ""), 401, "error.message", "missing API key")
}

// count_tokens is answered locally with the prompt estimate, marked as one, and never reaches
// a provider that has no count of its own; the caller must be allowed the model.
func TestCountTokens(t *testing.T) {
	h, _ := startFilter(t, governedConfig, 1)
	body := `{"model":"gpt-4o","system":"Be brief.","messages":[{"role":"user","content":"Count the tokens of this prompt, please."}]}`
	ant := [2]string{"anthropic-version", "2023-06-01"}
	s := sendReq(h, post("/v1/messages/count_tokens", [2]string{"x-api-key", garyKey}, ant), body)
	lr := s.LocalReply()
	if lr == nil {
		t.Fatalf("count_tokens went upstream: %v", s.Upstream().Headers)
	}
	n := gjson.GetBytes(lr.Body, "input_tokens").Int()
	if lr.Status != 200 || n <= 0 || string(lr.Body) != `{"input_tokens":`+strconv.FormatInt(n, 10)+`}` {
		t.Fatalf("count_tokens: %d %s", lr.Status, lr.Body)
	}
	if got := lr.Headers.Get(aiformat.EstimateHeader[0]); got != "estimate" {
		t.Errorf("%s = %q", aiformat.EstimateHeader[0], got)
	}
	claude := `{"model":"claude","messages":[{"role":"user","content":"hi"}]}`
	refused(t, sendReq(h, post("/v1/messages/count_tokens", [2]string{"x-api-key", aliceKey}, ant), claude), 403, "error.type", "permission_error")
	refused(t, sendReq(h, post("/v1/messages/count_tokens", [2]string{"x-api-key", garyKey}, ant), `{"model":"claude","messages":"no"}`), 400, "error.type", "invalid_request_error")
	refused(t, sendReq(h, post("/v1/messages/count_tokens", [2]string{"x-api-key", garyKey}, ant), `{"model":"nope","messages":[{"role":"user","content":"x"}]}`), 404, "error.type", "not_found_error")
}

// A model served by Anthropic gets Anthropic's own count: the request goes to its count_tokens
// endpoint with the provider's key, and the answer is labelled as the provider's.
func TestCountTokensForwardedToAnthropic(t *testing.T) {
	h, _ := startFilter(t, governedConfig, 1)
	body := `{"model":"claude","system":"Be brief.","messages":[{"role":"user","content":"Count me"}]}`
	s := sendReq(h, post("/v1/messages/count_tokens", [2]string{"x-api-key", garyKey},
		[2]string{"anthropic-version", "2023-06-01"}, [2]string{"x-request-id", "ct-1"}), body)
	if lr := s.LocalReply(); lr != nil {
		t.Fatalf("answered locally: %d %s", lr.Status, lr.Body)
	}
	up := s.Upstream()
	for name, want := range map[string]string{":path": "/v1/messages/count_tokens", ":authority": "api.anthropic.com",
		"x-stepgate-cluster": "anthropic", "x-api-key": "sk-ant-provider", "anthropic-version": "2023-06-01"} {
		if got := up.Headers.Get(name); got != want {
			t.Errorf("upstream %s = %q, want %q", name, got, want)
		}
	}
	if got := string(up.Body); got != `{"model":"claude-sonnet-4-5","system":"Be brief.","messages":[{"role":"user","content":"Count me"}]}` {
		t.Errorf("upstream body %s", got)
	}
	answerJSON(s, 200, `{"input_tokens":23}`)
	d := s.Downstream()
	if string(d.Body) != `{"input_tokens":23}` || d.Headers.Get(aiformat.ProviderHeader[0]) != "provider" {
		t.Errorf("client got %s, %s %q", d.Body, aiformat.ProviderHeader[0], d.Headers.Get(aiformat.ProviderHeader[0]))
	}
	recordWants(t, callRecord(t, h, "ct-1"), map[string]any{"provider": "claude", "status": 200,
		"upstream_model": "claude-sonnet-4-5"})

	// The provider's error comes back as Anthropic's, without the label.
	s = sendReq(h, post("/v1/messages/count_tokens", [2]string{"x-api-key", garyKey},
		[2]string{"anthropic-version", "2023-06-01"}), body)
	answerJSON(s, 429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
	if d := s.Downstream(); d.Headers.Get(":status") != "429" || d.Headers.Get(aiformat.ProviderHeader[0]) != "" {
		t.Errorf("error answer: %v %s", d.Headers, d.Body)
	}
}

// embed sends an embeddings request with a client key and returns the stream.
func embed(h *hostsim.Host, id, body string) *hostsim.Stream {
	s := h.NewStream()
	s.SendRequestHeaders(post("/v1/embeddings", [2]string{"authorization", "Bearer client-secret"},
		[2]string{"x-request-id", id}, [2]string{"content-length", strconv.Itoa(len(body))}), false)
	s.SendRequestBody([]byte(body), true)
	return s
}

// Embeddings go to an OpenAI provider at its embeddings path with its own key; the answer
// passes through untouched and its usage settles the llm_tokens bucket.
func TestEmbeddingsReachTheProviderAndChargeTokens(t *testing.T) {
	h, _ := aiFilter(t, `{"rules":[{"name":"tpm","unit":"llm_tokens","rate":"1/min","burst":10000,"default_max_tokens":1}]}`, 1)
	s := embed(h, "e-1", `{"model":"gpt-4o-mini","input":["hello","world"],"dimensions":8}`)
	if lr := s.LocalReply(); lr != nil {
		t.Fatalf("local reply %d %s", lr.Status, lr.Body)
	}
	up := s.Upstream()
	for name, want := range map[string]string{
		":path": "/v1/embeddings", ":authority": "api.openai.com", "x-stepgate-cluster": "openai",
		"authorization": "Bearer sk-provider-oa",
	} {
		if got := up.Headers.Get(name); got != want {
			t.Errorf("upstream %s = %q, want %q", name, got, want)
		}
	}
	if string(up.Body) != `{"model":"gpt-4o-mini","input":["hello","world"],"dimensions":8}` {
		t.Errorf("upstream body %s", up.Body)
	}
	answer := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]},{"object":"embedding","index":1,"embedding":[0.25]}],` +
		`"model":"text-embedding-3-small","usage":{"prompt_tokens":3000,"total_tokens":3000}}`
	answerJSON(s, 200, answer)
	if got := string(s.Downstream().Body); got != answer {
		t.Errorf("client got %s", got)
	}
	// The next request sees the 3000 tokens the provider reported, not the estimate of 2, and
	// reserves its own input only (1 token), no completion.
	probe := embed(h, "e-2", `{"model":"gpt-4o-mini","input":"hi"}`)
	answerJSON(probe, 200, `{"object":"list","data":[],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}`)
	if got, want := remaining(t, probe), 10000-3000-1; got != want {
		t.Errorf("remaining after 3000 embedded tokens = %d, want %d", got, want)
	}
	// A model whose provider has no embeddings API is refused before anything goes upstream.
	refused(t, embed(h, "e-3", `{"model":"claude","input":"hi"}`), 400, "error.message", "which has no embeddings API")
}

// A degrade step swaps a chat request's model, never an embeddings request's.
func TestDegradeLeavesEmbeddingsAlone(t *testing.T) {
	h, _ := aiFilter(t, `{"rules":[{"name":"rps","rate":"1/min","burst":2,
		"steps":[{"below":1,"action":"degrade","model":"gpt-4o-mini","max_tokens":50}]}]}`, 1)
	body := `{"model":"gpt-4o","input":"hello"}`
	embed(h, "d-1", body)
	s := embed(h, "d-2", body) // leaves 0 < 1: degrade
	if lr := s.LocalReply(); lr != nil {
		t.Fatalf("local reply %d %s", lr.Status, lr.Body)
	}
	if got := string(s.Upstream().Body); got != body {
		t.Errorf("degraded embeddings body %s, want %s", got, body)
	}
}
