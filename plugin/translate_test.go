package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
)

const aiConfig = `{
  "providers": {
    "oa":     {"type": "openai", "cluster": "openai", "api_keys": ["sk-provider-oa"]},
    "claude": {"type": "anthropic", "cluster": "anthropic", "api_keys": ["sk-ant-provider"], "default_max_tokens": 512},
    "gem":    {"type": "gemini", "cluster": "gemini", "api_keys": ["goog-provider"]}
  },
  "models": {"routes": {
    "gpt-4o": "oa/gpt-4o",
    "gpt-4o-mini": "oa/gpt-4o-mini",
    "claude": "claude/claude-sonnet-4-5",
    "gemini": "gem/gemini-2.0-flash"
  }},
  "limits": {"max_request_body_bytes": 2048}
  THROTTLE
}`

func aiFilter(t *testing.T, throttle string, workers int) (*hostsim.Host, *hostsim.VirtualClock) {
	if throttle != "" {
		throttle = `, "throttle": ` + throttle
	}
	return startFilter(t, strings.Replace(aiConfig, "THROTTLE", throttle, 1), workers)
}

// chat sends an OpenAI chat request with a client key and returns the stream.
func chat(h *hostsim.Host, body string) *hostsim.Stream {
	s := h.NewStream()
	hd := post("/v1/chat/completions", [2]string{"authorization", "Bearer client-secret"},
		[2]string{"content-length", strconv.Itoa(len(body))})
	if s.SendRequestHeaders(hd, false) == hostsim.Continue {
		panic("chat request headers were not held for the body")
	}
	s.SendRequestBody([]byte(body), true)
	return s
}

func TestOpenAIClientToAnthropicProvider(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	s := chat(h, `{"model":"claude","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`)
	if lr := s.LocalReply(); lr != nil {
		t.Fatalf("local reply %d %s", lr.Status, lr.Body)
	}
	up := s.Upstream()
	for name, want := range map[string]string{
		":path": "/v1/messages", ":authority": "api.anthropic.com", "x-stepgate-cluster": "anthropic",
		"x-api-key": "sk-ant-provider", "anthropic-version": "2023-06-01", "authorization": "",
		"content-length": "",
	} {
		if got := up.Headers.Get(name); got != want {
			t.Errorf("upstream %s = %q, want %q", name, got, want)
		}
	}
	body := gjson.ParseBytes(up.Body)
	if body.Get("model").Str != "claude-sonnet-4-5" || body.Get("max_tokens").Int() != 512 ||
		body.Get("system.0.text").Str != "Be brief." || body.Get("messages.0.content").String() != "Hi" {
		t.Errorf("upstream body = %s", up.Body)
	}

	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}, {"content-length", "999"}}, false)
	s.SendResponseBody([]byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",`+
		`"content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,`+
		`"usage":{"input_tokens":11,"output_tokens":3}}`), true)
	down := s.Downstream()
	if down.Headers.Get("content-length") != "" {
		t.Error("stale content-length forwarded to the client")
	}
	got := gjson.ParseBytes(down.Body)
	if got.Get("object").Str != "chat.completion" || got.Get("choices.0.message.content").Str != "Hello!" ||
		got.Get("choices.0.finish_reason").Str != "stop" || got.Get("usage.prompt_tokens").Int() != 11 ||
		got.Get("usage.completion_tokens").Int() != 3 {
		t.Errorf("client body = %s", down.Body)
	}
	rec := callRecord(t, h, up.Headers.Get("x-request-id"))
	if rec.Get("provider").Str != "claude" || rec.Get("tokens_in").Int() != 11 || rec.Get("tokens_out").Int() != 3 ||
		rec.Get("dialect").Str != "openai" || strings.Contains(rec.Raw, "secret") || strings.Contains(rec.Raw, "provider") && strings.Contains(rec.Raw, "sk-") {
		t.Errorf("call record = %s", rec.Raw)
	}
}

// A stream is translated chunk by chunk: what the first upstream chunk holds reaches the client
// before the second arrives.
func TestStreamingIsTranslatedAsChunksArrive(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	s := chat(h, `{"model":"claude","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"+
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel"), false)
	first := string(s.Downstream().Body)
	if !strings.Contains(first, `"role":"assistant"`) {
		t.Fatalf("nothing reached the client after the first chunk: %q", first)
	}
	s.SendResponseBody([]byte("lo\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n"+
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), true)
	all := string(s.Downstream().Body)
	if !strings.Contains(all, `"content":"Hello"`) || !strings.HasSuffix(all, "data: [DONE]\n\n") {
		t.Errorf("client stream = %s", all)
	}
	if strings.Contains(all, `"usage"`) {
		t.Error("usage chunk shown to a client that did not ask for it")
	}
}

func TestBadRequestsAreAnsweredInTheClientsDialect(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	tests := []struct {
		name, body string
		status     uint32
		want       string
	}{
		{"unknown model", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "nope"},
		{"malformed JSON", `{"model":"gpt-4o",`, 400, ""},
		{"missing messages", `{"model":"gpt-4o"}`, 400, "messages"},
		{"oversized", `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("x", 3000) + `"}]}`, 413, "2048"},
	}
	for _, tt := range tests {
		s := chat(h, tt.body)
		lr := s.LocalReply()
		if lr == nil || lr.Status != tt.status {
			t.Errorf("%s: local reply %+v, want %d", tt.name, lr, tt.status)
			continue
		}
		msg := gjson.GetBytes(lr.Body, "error.message").Str
		if msg == "" || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: error body %s, want a message naming %q", tt.name, lr.Body, tt.want)
		}
		if s.Upstream().Headers != nil {
			t.Errorf("%s: reached the provider", tt.name)
		}
	}
}

func TestModelsAreListedFromConfiguration(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	s := h.NewStream()
	s.SendRequestHeaders(get("/v1/models"), true)
	lr := s.LocalReply()
	if lr == nil || lr.Status != 200 {
		t.Fatalf("local reply %+v", lr)
	}
	var ids []string
	for _, m := range gjson.GetBytes(lr.Body, "data.#.id").Array() {
		ids = append(ids, m.Str)
	}
	if strings.Join(ids, ",") != "gpt-4o,gpt-4o-mini,claude,gemini" {
		t.Errorf("models = %v; body %s", ids, lr.Body)
	}
}

// An llm_tokens rule reserves the estimate up front and settles it with the reported usage.
func TestTokenBucketsSettleWithReportedUsage(t *testing.T) {
	h, _ := aiFilter(t, `{"rules":[{"name":"tpm","unit":"llm_tokens","rate":"1/min","burst":1000,"default_max_tokens":100}]}`, 1)
	body := `{"model":"gpt-4o","max_tokens":200,"messages":[{"role":"user","content":"Hi"}]}`
	// Estimate: ⌈len(body)/4⌉ + 200.
	estimate := (len(body)+3)/4 + 200
	answer := []byte(`{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"Yo"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}`)
	// The response head waits for its JSON body (a 502 could still replace it); it carries
	// the remaining tokens as they were when it arrived.
	s := chat(h, body)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}, false)
	s.SendResponseBody(answer, true)
	if got, want := s.Downstream().Headers.Get("x-ratelimit-remaining"), strconv.Itoa(1000-estimate); got != want {
		t.Errorf("remaining after the reservation = %s, want %s", got, want)
	}

	s2 := chat(h, body)
	s2.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}, false)
	s2.SendResponseBody(answer, true)
	// The first request now holds its real 30 tokens; the second its estimate.
	if got, want := s2.Downstream().Headers.Get("x-ratelimit-remaining"), strconv.Itoa(1000-30-estimate); got != want {
		t.Errorf("remaining after settle + second reservation = %s, want %s", got, want)
	}
}

func TestDegradeSwapsTheModelAndTagsTheRequest(t *testing.T) {
	h, _ := aiFilter(t, `{"rules":[{"name":"rps","rate":"1/min","burst":2,
		"steps":[{"below":1,"action":"degrade","model":"gpt-4o-mini","max_tokens":50}]}]}`, 1)
	body := `{"model":"gpt-4o","max_tokens":500,"messages":[{"role":"user","content":"Hi"}]}`
	first := chat(h, body)
	if m := gjson.GetBytes(first.Upstream().Body, "model").Str; m != "gpt-4o" {
		t.Fatalf("first request model = %q, want gpt-4o", m)
	}
	second := chat(h, body) // leaves 0 < 1 token: degrade
	up := second.Upstream()
	if m := gjson.GetBytes(up.Body, "model").Str; m != "gpt-4o-mini" {
		t.Errorf("degraded model = %q, want gpt-4o-mini; body %s", m, up.Body)
	}
	if n := gjson.GetBytes(up.Body, "max_tokens").Int(); n != 50 {
		t.Errorf("degraded max_tokens = %d, want 50", n)
	}
	if up.Headers.Get("x-stepgate-step") != "degrade" {
		t.Errorf("x-stepgate-step = %q", up.Headers.Get("x-stepgate-step"))
	}
	if lr := chat(h, body).LocalReply(); lr == nil || lr.Status != 429 {
		t.Errorf("third request: %+v, want 429", lr)
	}
}

// An upstream 429 steps the key's rate down by the configured factor for the cool-down.
func TestUpstream429StepsTheRateDown(t *testing.T) {
	h, vc := aiFilter(t, `{"rules":[{"name":"per-provider","key":"provider","rate":"10/s","burst":1,
		"adaptive":{"factor":"50%","cooldown":"10s","recovery_steps":1,"recovery_interval":"1s"}}]}`, 1)
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`
	s := chat(h, body)
	s.SendResponseHeaders(hostsim.Headers{{":status", "429"}, {"content-type", "application/json"}, {"retry-after", "1"}}, false)
	s.SendResponseBody([]byte(`{"error":{"message":"slow down","type":"rate_limit_error"}}`), true)
	// At 10/s a token comes every 100 ms; stepped down to 5/s, every 200 ms.
	vc.Advance(100 * time.Millisecond)
	if lr := chat(h, body).LocalReply(); lr == nil || lr.Status != 429 {
		t.Fatalf("100 ms after the step-down: %+v, want 429", lr)
	}
	vc.Advance(100 * time.Millisecond)
	if lr := chat(h, body).LocalReply(); lr != nil {
		t.Fatalf("200 ms after the step-down: refused %d %s", lr.Status, lr.Body)
	}
}

// A backend that answers 5xx is skipped for the cool-down (the breaker lives in shared data, so
// every worker sees it), and provider keys rotate.
func TestFailingBackendCoolsDownAndKeysRotate(t *testing.T) {
	h, vc := startFilter(t, `{
	  "providers": {
	    "a": {"type": "openai", "cluster": "a", "api_keys": ["ka1", "ka2"]},
	    "b": {"type": "openai", "cluster": "b", "api_keys": ["kb"]}
	  },
	  "models": {"cooldown_ms": 1000, "failures_to_trip": 1,
	    "routes": {"m": [{"provider": "a", "model": "m", "weight": 1}, {"provider": "b", "model": "m", "weight": 1}]}}
	}`, 2)
	body := `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`
	ok := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
	answer := []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}`)
	var keysA []string
	for i := 0; i < 200 && len(keysA) < 4; i++ {
		s := chat(h, body)
		up := s.Upstream().Headers
		if up.Get("x-stepgate-cluster") == "a" && s.Worker() == 0 {
			keysA = append(keysA, up.Get("authorization"))
		}
		s.SendResponseHeaders(ok, false)
		s.SendResponseBody(answer, true)
	}
	if len(keysA) < 4 || keysA[0] == keysA[1] || keysA[0] != keysA[2] || keysA[1] != keysA[3] {
		t.Errorf("provider a's keys on one worker = %v, want ka1/ka2 alternating", keysA)
	}
	for i := 0; ; i++ { // trip a
		s := chat(h, body)
		if s.Upstream().Headers.Get("x-stepgate-cluster") == "a" {
			s.SendResponseHeaders(hostsim.Headers{{":status", "503"}}, true)
			break
		}
		s.SendResponseHeaders(ok, false)
		s.SendResponseBody(answer, true)
		if i > 200 {
			t.Fatal("backend a never chosen")
		}
	}
	for i := 0; i < 40; i++ { // both workers skip a during the cool-down
		s := chat(h, body)
		if c := s.Upstream().Headers.Get("x-stepgate-cluster"); c != "b" {
			t.Fatalf("request %d during the cool-down went to %q, want b", i, c)
		}
		s.SendResponseHeaders(ok, false)
		s.SendResponseBody(answer, true)
	}
	vc.Advance(1001 * time.Millisecond)
	sawA := false
	for i := 0; i < 200 && !sawA; i++ {
		s := chat(h, body)
		sawA = s.Upstream().Headers.Get("x-stepgate-cluster") == "a"
		s.SendResponseHeaders(ok, false)
		s.SendResponseBody(answer, true)
	}
	if !sawA {
		t.Error("backend a never came back after the cool-down")
	}
}

// Stream contexts are reused inside the VM once a stream ends: nothing of an AI request, nor of a
// local reply, may reach the plain request that comes next on the same worker.
func TestNextStreamStartsClean(t *testing.T) {
	h, _ := aiFilter(t, `{"rules":[{"name":"tpm","key":"model","match":{"models":["claude"]},"unit":"llm_tokens","rate":"100000/min","burst":100000}]}`, 1)
	ai := chat(h, `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`)
	ai.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}, false)
	ai.SendResponseBody([]byte(`{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5",`+
		`"content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}`), true)
	if ai.Downstream().Headers.Get("ratelimit") == "" {
		t.Fatalf("the AI request got no RateLimit header: %v", ai.Downstream().Headers)
	}
	bad := chat(h, `{"model":`)
	if lr := bad.LocalReply(); lr == nil || lr.Status != 400 {
		t.Fatalf("malformed request: %+v", lr)
	}

	s := h.NewStream()
	if st := s.SendRequestHeaders(get("/v1/other", [2]string{"x-request-id", "plain"}), true); st != hostsim.Continue {
		t.Fatalf("plain request headers = %v", st)
	}
	up := s.Upstream().Headers
	for _, name := range []string{"x-stepgate-model", "x-stepgate-cluster", "x-stepgate-token-estimate", "x-api-key"} {
		if v := up.Get(name); v != "" {
			t.Errorf("upstream %s = %q, left over from an earlier stream", name, v)
		}
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/plain"}}, false)
	s.SendResponseBody([]byte("plain body"), true)
	down := s.Downstream()
	if string(down.Body) != "plain body" || down.Headers.Get("content-type") != "text/plain" || down.Headers.Get("ratelimit") != "" {
		t.Errorf("plain response changed: %v %q", down.Headers, down.Body)
	}
	rec := callRecord(t, h, "plain")
	for _, field := range []string{"model", "provider", "dialect", "error", "step", "tokens_in", "upstream_model"} {
		if rec.Get(field).Exists() {
			t.Errorf("call record has %s from an earlier stream: %s", field, rec.Raw)
		}
	}
	if rec.Get("status").Int() != 200 || rec.Get("path").Str != "/v1/other" {
		t.Errorf("call record = %s", rec.Raw)
	}
}
