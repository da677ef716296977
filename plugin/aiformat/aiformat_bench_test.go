package aiformat

import (
	"strconv"
	"strings"
	"testing"
)

// benchBody builds a request of about size bytes in the given dialect: a system prompt and
// alternating user/assistant turns of prose.
func benchBody(d Dialect, size int) (path string, body []byte) {
	turn := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 4) // ~180 bytes
	var b strings.Builder
	switch d {
	case DialectAnthropic:
		path = "/v1/messages"
		b.WriteString(`{"model":"MODEL","max_tokens":256,"system":"You are terse.","messages":[`)
	case DialectGemini:
		path = "/v1beta/models/MODEL:generateContent"
		b.WriteString(`{"systemInstruction":{"parts":[{"text":"You are terse."}]},"contents":[`)
	default:
		path = "/v1/chat/completions"
		b.WriteString(`{"model":"MODEL","max_tokens":256,"messages":[{"role":"system","content":"You are terse."}`)
	}
	for i := 0; b.Len() < size-250; i++ {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		if d == DialectGemini && role == "assistant" {
			role = "model"
		}
		if i > 0 || d == DialectOpenAI {
			b.WriteByte(',')
		}
		if d == DialectGemini {
			b.WriteString(`{"role":"` + role + `","parts":[{"text":"` + turn + `"}]}`)
		} else {
			b.WriteString(`{"role":"` + role + `","content":"` + turn + `"}`)
		}
	}
	if d == DialectGemini {
		b.WriteString(`],"generationConfig":{"maxOutputTokens":256}}`)
	} else {
		b.WriteString(`],"temperature":0.2}`)
	}
	return path, []byte(b.String())
}

var benchSizes = []struct {
	name string
	n    int
}{{"1KB", 1 << 10}, {"4KB", 4 << 10}, {"64KB", 64 << 10}}

var benchRoutes = []struct {
	name     string
	client   Dialect
	provider string
}{
	{"openai-to-openai", DialectOpenAI, "openai"},
	{"openai-to-anthropic", DialectOpenAI, "anthropic"},
	{"openai-to-gemini", DialectOpenAI, "gemini"},
	{"openai-to-ollama", DialectOpenAI, "ollama"},
	{"openai-to-bedrock", DialectOpenAI, "bedrock"}, // translation and SigV4 signing
	{"anthropic-to-openai", DialectAnthropic, "openai"},
	{"anthropic-to-anthropic", DialectAnthropic, "anthropic"},
	{"gemini-to-openai", DialectGemini, "openai"},
}

// BenchmarkRequest is the per-request cost of ParseRequest + Route: validation, translation
// to the hub and to the provider, and the routing decision. The body goes back to the router
// (Recycle), as the filter gives it back once the host has copied it.
func BenchmarkRequest(b *testing.B) {
	r := testRouter(b)
	cfg := r.Config()
	for _, rt := range benchRoutes {
		for _, sz := range benchSizes {
			path, body := benchBody(rt.client, sz.n)
			model := "to-" + rt.provider
			path = strings.Replace(path, "MODEL", model, 1)
			body = []byte(strings.Replace(string(body), "MODEL", model, 1))
			b.Run(rt.name+"/"+sz.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					req, err := cfg.ParseRequest("POST", path, "", body)
					if err != nil {
						b.Fatal(err.Message)
					}
					up, err := r.Route(req, 0, uint32(i))
					if err != nil {
						b.Fatal(err.Message)
					}
					r.Recycle(up) // as the filter does once the host has the body
				}
			})
		}
	}
}

func benchResponse(wire wireFormat, size int) []byte {
	text := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", size/57+1)[:size-300]
	switch wire {
	case wireAnthropic:
		return []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"` + text + `"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":200}}`)
	case wireGemini:
		return []byte(`{"candidates":[{"content":{"parts":[{"text":"` + text + `"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":200,"totalTokenCount":210},"modelVersion":"gemini"}`)
	}
	return []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt","choices":[{"index":0,"message":{"role":"assistant","content":"` + text + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":200,"total_tokens":210}}`)
}

// BenchmarkResponse is the per-response cost of translating a non-streamed answer.
func BenchmarkResponse(b *testing.B) {
	pairs := []struct {
		name   string
		client Dialect
		wire   wireFormat
	}{
		{"openai-to-openai", DialectOpenAI, wireOpenAI},
		{"anthropic-to-openai", DialectOpenAI, wireAnthropic},
		{"gemini-to-openai", DialectOpenAI, wireGemini},
		{"openai-to-anthropic", DialectAnthropic, wireOpenAI},
	}
	for _, p := range pairs {
		for _, sz := range benchSizes {
			body := benchResponse(p.wire, sz.n)
			b.Run(p.name+"/"+sz.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					tr := newTranslator(p.client, p.wire, false, true, testNow, "m")
					tr.Headers(200, "application/json")
					if st, _ := tr.Finish(body); st != 200 {
						b.Fatal(st)
					}
				}
			})
		}
	}
}

// benchEvent is one text-delta event of a provider's stream.
func benchEvent(wire wireFormat, i int) []byte {
	tok := `" tok` + strconv.Itoa(i%10) + `"`
	switch wire {
	case wireAnthropic:
		return []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":" + tok + "}}\n\n")
	case wireGemini:
		return []byte(`data: {"candidates":[{"content":{"parts":[{"text":` + tok + `}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r1"}` + "\r\n\r\n")
	case wireOllama:
		return []byte(`{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":` + tok + `},"done":false}` + "\n")
	}
	return []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":` + tok + `},"finish_reason":null}],"usage":null}` + "\n\n")
}

// BenchmarkStreamEvent is the cost of translating one SSE (or NDJSON) event, one event per
// body chunk, as tokens arrive.
func BenchmarkStreamEvent(b *testing.B) {
	pairs := []struct {
		name   string
		client Dialect
		wire   wireFormat
	}{
		{"openai-to-openai", DialectOpenAI, wireOpenAI},
		{"anthropic-to-openai", DialectOpenAI, wireAnthropic},
		{"gemini-to-openai", DialectOpenAI, wireGemini},
		{"ollama-to-openai", DialectOpenAI, wireOllama},
		{"openai-to-anthropic", DialectAnthropic, wireOpenAI},
		{"openai-to-gemini", DialectGemini, wireOpenAI},
	}
	for _, p := range pairs {
		events := make([][]byte, 10)
		for i := range events {
			events[i] = benchEvent(p.wire, i)
		}
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			tr := newTranslator(p.client, p.wire, true, false, testNow, "m")
			tr.Headers(200, "text/event-stream")
			for i := 0; i < b.N; i++ {
				if out := tr.Write(events[i%len(events)], false); len(out) == 0 {
					b.Fatal("no output")
				}
			}
		})
	}
}
