package main

import (
	"testing"

	"github.com/stepgate/stepgate/hostsim"
)

// The client gets the call record's id in x-request-id, whatever the provider answered, and the
// record keeps the provider's own id apart; local replies carry the id too.
func TestOneRequestIDEndToEnd(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	for _, tc := range []struct {
		model, header, providerID, answer string
	}{
		{"gpt-4o", "x-request-id", "req_openai_1", `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o",` +
			`"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],` +
			`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`},
		{"claude", "request-id", "req_anthropic_1", `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
			`"content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`},
		{"gemini", "", "", `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP"}],` +
			`"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}`},
	} {
		s := chat(h, `{"model":"`+tc.model+`","messages":[{"role":"user","content":"Hi"}]}`)
		id := s.Upstream().Headers.Get("x-request-id")
		if id == "" {
			t.Fatalf("%s: no x-request-id upstream", tc.model)
		}
		resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
		if tc.header != "" {
			resp = append(resp, [2]string{tc.header, tc.providerID})
		}
		s.SendResponseHeaders(resp, false)
		s.SendResponseBody([]byte(tc.answer), true)
		if s.LocalReply() != nil {
			t.Fatalf("%s: the answer was refused: %s", tc.model, s.Downstream().Body)
		}
		if got := s.Downstream().Headers.Values("x-request-id"); len(got) != 1 || got[0] != id {
			t.Errorf("%s: client x-request-id = %q, want [%s]", tc.model, got, id)
		}
		rec := callRecord(t, h, id)
		if got := rec.Get("provider_request_id").Str; got != tc.providerID {
			t.Errorf("%s: provider_request_id = %q, want %q in %s", tc.model, got, tc.providerID, rec.Raw)
		}
	}

	s := chat(h, `{"model":"no-such-model","messages":[{"role":"user","content":"Hi"}]}`)
	lr := s.LocalReply()
	if lr == nil {
		t.Fatal("unknown model: no local reply")
	}
	if id := s.Downstream().Headers.Get("x-request-id"); id == "" || callRecord(t, h, id).Get("status").Int() != int64(lr.Status) {
		t.Errorf("local reply x-request-id %q does not name its call record", id)
	}
}
