package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
)

// The call record explains each kind of call: these tests drive the real filter in hostsim and
// check the fields docs/CALL-RECORD.md promises.

// chatAs sends an OpenAI chat request carrying a request id.
func chatAs(h *hostsim.Host, id, body string) *hostsim.Stream {
	s := h.NewStream()
	s.SendRequestHeaders(post("/v1/chat/completions", [2]string{"x-request-id", id},
		[2]string{"authorization", "Bearer client-secret"}, [2]string{"content-length", strconv.Itoa(len(body))}), false)
	s.SendRequestBody([]byte(body), true)
	return s
}

const claudeAnswer = `{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
	`"content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,` +
	`"usage":{"input_tokens":7,"output_tokens":2}}`

func answerJSON(s *hostsim.Stream, status int, body string) {
	s.SendResponseHeaders(hostsim.Headers{{":status", strconv.Itoa(status)}, {"content-type", "application/json"}}, false)
	s.SendResponseBody([]byte(body), true)
}

// recordWants checks fields of a record: numbers as int64, strings, true, or nil for "absent".
func recordWants(t *testing.T, rec gjson.Result, want map[string]any) {
	t.Helper()
	for field, w := range want {
		got := rec.Get(field)
		var ok bool
		switch w := w.(type) {
		case nil:
			ok = !got.Exists()
		case int:
			ok = got.Type == gjson.Number && got.Int() == int64(w)
		case string:
			ok = got.Type == gjson.String && got.Str == w
		case bool:
			ok = got.Exists() && got.Bool() == w
		}
		if !ok {
			t.Errorf("%s = %s, want %v in %s", field, got.Raw, w, rec.Raw)
		}
	}
}

func TestCallRecordOfAllowedShapedAndRejectedCalls(t *testing.T) {
	h, vc := aiFilter(t, `{"rules":[{"name":"paced","key":"model","rate":"10/s","burst":1,
		"steps":[{"below":0,"action":"shape","max_delay":"150ms"}]}]}`, 1)
	body := `{"model":"claude","max_tokens":40,"messages":[{"role":"user","content":"Hi"}]}`

	allowed := chatAs(h, "allowed", body)
	vc.Advance(30 * time.Millisecond)
	answerJSON(allowed, 200, claudeAnswer)
	held := chatAs(h, "shaped", body)       // at 30 ms: the next token is due at 100 ms
	rejected := chatAs(h, "rejected", body) // would need 200 ms > max_delay
	vc.Advance(120 * time.Millisecond)      // released at 100 ms, answered at 150 ms
	answerJSON(held, 200, claudeAnswer)

	down := allowed.Downstream().Body
	recordWants(t, callRecord(t, h, "allowed"), map[string]any{
		"step": "allow", "rule": "paced", "status": 200, "provider": "claude", "upstream_model": "claude-sonnet-4-5",
		"tokens_in": 7, "tokens_out": 2, "ttfb_ms": 30, "latency_ms": 30, "request_bytes": len(body),
		"response_bytes": len(down), "shape_delay_ms": nil, "error_type": nil, "stream": nil,
	})
	if est := callRecord(t, h, "allowed").Get("tokens_estimated").Int(); est < 40 {
		t.Errorf("tokens_estimated = %d, want the prompt estimate + max_tokens 40", est)
	}
	recordWants(t, callRecord(t, h, "shaped"), map[string]any{
		"step": "shape", "rule": "paced", "shape_delay_ms": 70, "status": 200, "ttfb_ms": 50,
		"latency_ms": 120, "error_type": nil,
	})
	lr := rejected.LocalReply()
	if lr == nil {
		t.Fatal("third request was not rejected")
	}
	recordWants(t, callRecord(t, h, "rejected"), map[string]any{
		"step": "reject", "rule": "paced", "status": 429, "error_type": "throttle", "ttfb_ms": nil,
		"response_bytes": len(lr.Body), "tokens_in": nil, "request_bytes": len(body),
	})
}

func TestCallRecordOfADegradedCall(t *testing.T) {
	h, _ := aiFilter(t, `{"rules":[{"name":"rps","rate":"1/min","burst":2,
		"steps":[{"below":1,"action":"degrade","model":"gpt-4o-mini","max_tokens":50}]}]}`, 1)
	body := `{"model":"gpt-4o","max_tokens":500,"messages":[{"role":"user","content":"Hi"}]}`
	answerJSON(chatAs(h, "first", body), 200, `{"id":"c","object":"chat.completion","model":"gpt-4o",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	second := chatAs(h, "degraded", body)
	answerJSON(second, 200, `{"id":"c","object":"chat.completion","model":"gpt-4o-mini",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	first, degraded := callRecord(t, h, "first"), callRecord(t, h, "degraded")
	recordWants(t, degraded, map[string]any{
		"step": "degrade", "rule": "rps", "model": "gpt-4o", "upstream_model": "gpt-4o-mini", "status": 200,
		"error_type": nil,
	})
	// The estimate follows the degraded request's max_tokens (50), not the client's (500).
	if a, b := first.Get("tokens_estimated").Int(), degraded.Get("tokens_estimated").Int(); a-b != 450 {
		t.Errorf("tokens_estimated %d then %d, want the degraded one 450 lower", a, b)
	}
}

func TestCallRecordOfFailedCalls(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	s := chatAs(h, "provider-500", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`)
	answerJSON(s, 500, `{"error":{"message":"boom","type":"server_error"}}`)
	recordWants(t, callRecord(t, h, "provider-500"), map[string]any{
		"status": 500, "error_type": "provider", "provider": "oa", "ttfb_ms": 0,
	})

	unknown := chatAs(h, "unknown-model", `{"model":"no-such-model","messages":[{"role":"user","content":"Hi"}]}`)
	if lr := unknown.LocalReply(); lr == nil || lr.Status != 404 {
		t.Fatalf("unknown model: %+v, want 404", lr)
	}
	recordWants(t, callRecord(t, h, "unknown-model"), map[string]any{
		"status": 404, "error_type": "client", "provider": nil, "ttfb_ms": nil,
	})
	if callRecord(t, h, "unknown-model").Get("error").Str == "" {
		t.Error("a refused call's record has no error message")
	}
}

func TestCallRecordOfAStreamedCall(t *testing.T) {
	h, vc := aiFilter(t, "", 1)
	s := chatAs(h, "streamed", `{"model":"claude","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
	vc.Advance(15 * time.Millisecond)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"+
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"), false)
	vc.Advance(50 * time.Millisecond)
	s.SendResponseBody([]byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"+
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n"+
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), true)
	recordWants(t, callRecord(t, h, "streamed"), map[string]any{
		"stream": true, "status": 200, "ttfb_ms": 15, "latency_ms": 65, "tokens_in": 5, "tokens_out": 2,
		"response_bytes": len(s.Downstream().Body), "error_type": nil,
	})
}
