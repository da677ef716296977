package aiformat

import (
	"testing"

	"github.com/stepgate/stepgate/plugin/aiformat/anthropic"
	"github.com/stepgate/stepgate/plugin/aiformat/gemini"
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/ollama"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
	"github.com/tidwall/gjson"
)

// These tables are the ones in docs/AI-FORMAT.md §6 and §8; change both together.

func TestFinishMapping(t *testing.T) {
	stop, length, tools, filter := hub.FinishStop, hub.FinishLength, hub.FinishToolCalls, hub.FinishContentFilter
	from := []struct {
		src  string
		got  hub.Finish
		want hub.Finish
	}{
		{"openai stop", openai.FinishFrom("stop"), stop},
		{"openai length", openai.FinishFrom("length"), length},
		{"openai tool_calls", openai.FinishFrom("tool_calls"), tools},
		{"openai function_call", openai.FinishFrom("function_call"), tools},
		{"openai content_filter", openai.FinishFrom("content_filter"), filter},
		{"anthropic end_turn", anthropic.FinishFrom("end_turn"), stop},
		{"anthropic stop_sequence", anthropic.FinishFrom("stop_sequence"), stop},
		{"anthropic pause_turn", anthropic.FinishFrom("pause_turn"), stop},
		{"anthropic max_tokens", anthropic.FinishFrom("max_tokens"), length},
		{"anthropic model_context_window_exceeded", anthropic.FinishFrom("model_context_window_exceeded"), length},
		{"anthropic tool_use", anthropic.FinishFrom("tool_use"), tools},
		{"anthropic refusal", anthropic.FinishFrom("refusal"), filter},
		{"gemini STOP", gemini.FinishFrom("STOP", false), stop},
		{"gemini STOP with calls", gemini.FinishFrom("STOP", true), tools},
		{"gemini OTHER", gemini.FinishFrom("OTHER", false), stop},
		{"gemini MALFORMED_FUNCTION_CALL", gemini.FinishFrom("MALFORMED_FUNCTION_CALL", false), stop},
		{"gemini MAX_TOKENS", gemini.FinishFrom("MAX_TOKENS", true), length},
		{"gemini SAFETY", gemini.FinishFrom("SAFETY", false), filter},
		{"gemini RECITATION", gemini.FinishFrom("RECITATION", false), filter},
		{"gemini BLOCKLIST", gemini.FinishFrom("BLOCKLIST", false), filter},
		{"gemini PROHIBITED_CONTENT", gemini.FinishFrom("PROHIBITED_CONTENT", false), filter},
		{"gemini SPII", gemini.FinishFrom("SPII", false), filter},
		{"gemini IMAGE_SAFETY", gemini.FinishFrom("IMAGE_SAFETY", false), filter},
		{"ollama stop", ollama.FinishFrom("stop", false), stop},
		{"ollama load", ollama.FinishFrom("load", false), stop},
		{"ollama stop with calls", ollama.FinishFrom("stop", true), tools},
		{"ollama length", ollama.FinishFrom("length", true), length},
	}
	for _, c := range from {
		if c.got != c.want {
			t.Errorf("%s -> %v, want %v", c.src, c.got, c.want)
		}
	}
	to := []struct {
		f                        hub.Finish
		openai, anthropic, gemin string
	}{
		{stop, "stop", "end_turn", "STOP"},
		{length, "length", "max_tokens", "MAX_TOKENS"},
		{tools, "tool_calls", "tool_use", "STOP"},
		{filter, "content_filter", "refusal", "SAFETY"},
	}
	for _, c := range to {
		if c.f.String() != c.openai || anthropic.StopReason(c.f) != c.anthropic || gemini.FinishReason(c.f) != c.gemin {
			t.Errorf("%v -> %s %s %s", c.f, c.f.String(), anthropic.StopReason(c.f), gemini.FinishReason(c.f))
		}
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		status                                          int
		openaiType, anthropicType, geminiStatus         string
		openaiStatus, anthropicStatus, geminiHTTPStatus int
	}{
		{400, "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT", 400, 400, 400},
		{401, "invalid_request_error", "authentication_error", "UNAUTHENTICATED", 401, 401, 401},
		{403, "invalid_request_error", "permission_error", "PERMISSION_DENIED", 403, 403, 403},
		{404, "invalid_request_error", "not_found_error", "NOT_FOUND", 404, 404, 404},
		{413, "invalid_request_error", "request_too_large", "INVALID_ARGUMENT", 413, 413, 413},
		{422, "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT", 422, 422, 422},
		{429, "requests", "rate_limit_error", "RESOURCE_EXHAUSTED", 429, 429, 429},
		{500, "server_error", "api_error", "INTERNAL", 500, 500, 500},
		{502, "server_error", "api_error", "INTERNAL", 502, 502, 502},
		{503, "server_error", "overloaded_error", "UNAVAILABLE", 503, 529, 503},
		{529, "server_error", "overloaded_error", "UNAVAILABLE", 503, 529, 503},
		{504, "server_error", "timeout_error", "DEADLINE_EXCEEDED", 504, 504, 504},
	}
	for _, c := range cases {
		o := NewError(DialectOpenAI, c.status, "m")
		a := NewError(DialectAnthropic, c.status, "m")
		g := NewError(DialectGemini, c.status, "m")
		if typ := gjson.GetBytes(o.Body, "error.type").Str; typ != c.openaiType || o.Status != c.openaiStatus {
			t.Errorf("%d openai: %d %s", c.status, o.Status, o.Body)
		}
		if typ := gjson.GetBytes(a.Body, "error.type").Str; typ != c.anthropicType || a.Status != c.anthropicStatus {
			t.Errorf("%d anthropic: %d %s", c.status, a.Status, a.Body)
		}
		if st := gjson.GetBytes(g.Body, "error.status").Str; st != c.geminiStatus || g.Status != c.geminiHTTPStatus || gjson.GetBytes(g.Body, "error.code").Int() != int64(g.Status) {
			t.Errorf("%d gemini: %d %s", c.status, g.Status, g.Body)
		}
	}
}

func TestUsageMapping(t *testing.T) {
	a := anthropic.UsageFrom(gjson.Parse(`{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20}`))
	if a.Prompt != 130 || a.Completion != 5 || a.CacheRead != 100 || a.CacheWrite != 20 {
		t.Errorf("anthropic: %+v", a)
	}
	g := gemini.UsageFrom(gjson.Parse(`{"promptTokenCount":50,"toolUsePromptTokenCount":5,"candidatesTokenCount":7,"thoughtsTokenCount":30,"totalTokenCount":92,"cachedContentTokenCount":40}`))
	if g.Prompt != 55 || g.Completion != 37 || g.Reasoning != 30 || g.CacheRead != 40 || g.Total != 92 {
		t.Errorf("gemini: %+v", g)
	}
	o := openai.UsageFrom(gjson.Parse(`{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}`))
	if o.Prompt != 9 || o.Completion != 3 || o.CacheRead != 4 || o.Reasoning != 2 {
		t.Errorf("openai: %+v", o)
	}
	l := ollama.UsageFrom(gjson.Parse(`{"prompt_eval_count":26,"eval_count":298}`))
	if l.Prompt != 26 || l.Completion != 298 || l.Total != 324 {
		t.Errorf("ollama: %+v", l)
	}
}
