package main

import (
	"strconv"
	"testing"

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
// a provider; the caller must be allowed the model.
func TestCountTokens(t *testing.T) {
	h, _ := startFilter(t, governedConfig, 1)
	body := `{"model":"claude","system":"Be brief.","messages":[{"role":"user","content":"Count the tokens of this prompt, please."}]}`
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
	refused(t, sendReq(h, post("/v1/messages/count_tokens", [2]string{"x-api-key", aliceKey}, ant), body), 403, "error.type", "permission_error")
	refused(t, sendReq(h, post("/v1/messages/count_tokens", [2]string{"x-api-key", garyKey}, ant), `{"model":"claude","messages":"no"}`), 400, "error.type", "invalid_request_error")
}
