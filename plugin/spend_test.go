package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
)

const pricingSection = `"pricing": {"currency": "USD", "response_header": true, "models": {
	"gpt-4o": {"input": 2.5, "cached_input": 1.25, "output": 10},
	"gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.6},
	"claude-sonnet-4-5": {"input": 3, "cached_input": 0.3, "cache_write_input": 3.75, "output": 15},
	"gemini-2.0-flash": {"input": 0.1, "cached_input": 0.025, "output": 0.4}}}`

// spendFilter runs the AI configuration with the price table and the given throttle section.
func spendFilter(t *testing.T, throttle string) (*hostsim.Host, *hostsim.VirtualClock) {
	return aiFilter(t, throttle+", "+pricingSection, 1)
}

// chatID is chat with an x-request-id, to find the call's record.
func chatID(h *hostsim.Host, id, body string) *hostsim.Stream {
	s := h.NewStream()
	hd := post("/v1/chat/completions", [2]string{"authorization", "Bearer client-secret"},
		[2]string{"x-request-id", id}, [2]string{"content-length", strconv.Itoa(len(body))})
	s.SendRequestHeaders(hd, false)
	s.SendRequestBody([]byte(body), true)
	return s
}

const openaiCached = `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,` +
	`"message":{"role":"assistant","content":"Yo"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,` +
	`"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":400}}}`

// A priced call carries its cost in the call record, the response header and stepgate_cost_total,
// and a cost rule reserves the estimate at the model's prices, then settles to the real cost.
func TestCostIsRecordedAndSettledThroughTheFilter(t *testing.T) {
	h, _ := spendFilter(t, `{"rules":[{"name":"budget","unit":"cost","rate":"100000/h","burst":100000}]}`)
	body := `{"model":"gpt-4o","max_tokens":200,"messages":[{"role":"user","content":"Hi"}]}`
	// Reserved: ⌈len/4⌉ prompt tokens at 2.5 µ, 200 completion tokens at 10 µ.
	estimate := (((len(body)+3)/4)*2_500_000+999_999)/1_000_000 + 2000
	s := chatID(h, "c-1", body)
	answerJSON(s, 200, openaiCached)
	// 600 fresh × 2.5 + 400 cached × 1.25 + 200 × 10 µ.
	const cost = 4000
	d := s.Downstream().Headers
	if got := d.Get("x-stepgate-cost-micros"); got != strconv.Itoa(cost) {
		t.Errorf("x-stepgate-cost-micros = %q, want %d", got, cost)
	}
	if got, want := d.Get("x-ratelimit-remaining"), strconv.Itoa(100000-estimate); got != want {
		t.Errorf("remaining after the reservation = %s, want %s", got, want)
	}
	if !strings.Contains(d.Get("ratelimit-policy"), `stepgate-qu="cost-micros"`) {
		t.Errorf("RateLimit-Policy %q does not name the unit", d.Get("ratelimit-policy"))
	}
	if got := callRecord(t, h, "c-1").Get("cost_micros").Int(); got != cost {
		t.Errorf("call record cost_micros = %d, want %d", got, cost)
	}
	if m, _ := h.Metric("stepgate_cost_total.tenant.anonymous.model.gpt-4o.provider.oa"); m.Value != cost {
		t.Errorf("stepgate_cost_total = %d, want %d", m.Value, cost)
	}
	s2 := chatID(h, "c-2", body)
	answerJSON(s2, 200, openaiCached)
	if got, want := s2.Downstream().Headers.Get("x-ratelimit-remaining"), strconv.Itoa(100000-cost-estimate); got != want {
		t.Errorf("remaining after settling + a second reservation = %s, want %s", got, want)
	}
}

// Anthropic reports cache reads and writes apart from input_tokens, in a stream's message_start;
// the record prices each class at its own rate.
func TestAnthropicStreamIsPricedByTokenClass(t *testing.T) {
	h, _ := spendFilter(t, `{"rules":[]}`)
	s := chatID(h, "a-1", `{"model":"claude","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\","+
		"\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":100,"+
		"\"cache_read_input_tokens\":1000,\"cache_creation_input_tokens\":200,\"output_tokens\":1}}}\n\n"+
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n"), false)
	s.SendResponseBody([]byte("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"+
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":300}}\n\n"+
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), true)
	// 100 × 3 + 1000 × 0.3 + 200 × 3.75 + 300 × 15 µ.
	if got := callRecord(t, h, "a-1").Get("cost_micros").Int(); got != 5850 {
		t.Errorf("cost_micros = %d, want 5850; record %s", got, callRecord(t, h, "a-1").Raw)
	}
}

// Gemini counts cached tokens inside promptTokenCount and thoughts apart from the candidates;
// thoughts are billed as output.
func TestGeminiAnswerIsPricedByTokenClass(t *testing.T) {
	h, _ := spendFilter(t, `{"rules":[]}`)
	s := chatID(h, "g-1", `{"model":"gemini","messages":[{"role":"user","content":"Hi"}]}`)
	answerJSON(s, 200, `{"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"},"finishReason":"STOP","index":0}],`+
		`"usageMetadata":{"promptTokenCount":2000,"cachedContentTokenCount":1000,"candidatesTokenCount":100,`+
		`"thoughtsTokenCount":300,"totalTokenCount":2400},"modelVersion":"gemini-2.0-flash"}`)
	// 1000 × 0.1 + 1000 × 0.025 + (100 + 300) × 0.4 µ.
	rec := callRecord(t, h, "g-1")
	if got := rec.Get("cost_micros").Int(); got != 285 {
		t.Errorf("cost_micros = %d, want 285; record %s", got, rec.Raw)
	}
	if got := s.Downstream().Headers.Get("x-stepgate-cost-micros"); got != "285" {
		t.Errorf("x-stepgate-cost-micros = %q, want 285", got)
	}
}
