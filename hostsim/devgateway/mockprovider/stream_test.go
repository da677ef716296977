package mockprovider

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// streamCase is one provider's streamed and non-streamed form of the same conversation.
type streamCase struct {
	kind             Kind
	path, streamPath string
	headers          []string
	body, streamBody string
	// text and usage extract the reply text and (prompt, completion) tokens from an answer.
	text  func(t *testing.T, body string, stream bool) string
	usage func(t *testing.T, body string, stream bool) (int, int)
}

const streamPrompt = "Tell me about streams and rivers"

func streamCases() []streamCase {
	user := `[{"role":"user","content":"` + streamPrompt + `"}]`
	return []streamCase{{
		kind: OpenAI, path: "/v1/chat/completions", headers: hOpenAI,
		body:       `{"model":"gpt-4o","messages":` + user + `}`,
		streamBody: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":` + user + `}`,
		text:       openaiText, usage: openaiUsage,
	}, {
		kind: Azure, path: azurePath, headers: hAzure,
		body:       `{"messages":` + user + `}`,
		streamBody: `{"stream":true,"stream_options":{"include_usage":true},"messages":` + user + `}`,
		text:       openaiText, usage: openaiUsage,
	}, {
		kind: Anthropic, path: "/v1/messages", headers: hAnthropic,
		body:       `{"model":"claude-haiku-4-5","max_tokens":500,"messages":` + user + `}`,
		streamBody: `{"model":"claude-haiku-4-5","max_tokens":500,"stream":true,"messages":` + user + `}`,
		text:       anthropicText, usage: anthropicUsage,
	}, {
		kind: Gemini, path: geminiPath, streamPath: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
		headers:    hGemini,
		body:       `{"contents":[{"role":"user","parts":[{"text":"` + streamPrompt + `"}]}]}`,
		streamBody: `{"contents":[{"role":"user","parts":[{"text":"` + streamPrompt + `"}]}]}`,
		text:       geminiText, usage: geminiUsage,
	}, {
		kind: Gemini, path: geminiPath, streamPath: "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
		headers:    hGemini,
		body:       `{"contents":[{"role":"user","parts":[{"text":"` + streamPrompt + `"}]}]}`,
		streamBody: `{"contents":[{"role":"user","parts":[{"text":"` + streamPrompt + `"}]}]}`,
		text:       geminiArrayText, usage: geminiArrayUsage,
	}, {
		kind: Ollama, path: "/api/chat", headers: hOllama,
		body:       `{"model":"llama3.2","stream":false,"messages":` + user + `}`,
		streamBody: `{"model":"llama3.2","messages":` + user + `}`,
		text:       ollamaText, usage: ollamaUsage,
	}}
}

// TestStreamsMatchJSON parses each provider's stream back and checks that it carries the same
// text and usage as the non-streamed answer, split in several chunks.
func TestStreamsMatchJSON(t *testing.T) {
	want := "mock reply to: " + streamPrompt
	for _, sc := range streamCases() {
		t.Run(string(sc.kind)+sc.streamPath, func(t *testing.T) {
			sp := sc.streamPath
			if sp == "" {
				sp = sc.path
			}
			plain := serve(t, sc.kind, post(sc.path, sc.body, sc.headers...))
			streamed := serve(t, sc.kind, post(sp, sc.streamBody, sc.headers...))
			if plain.Code != 200 || streamed.Code != 200 {
				t.Fatalf("status %d / %d: %s %s", plain.Code, streamed.Code, plain.Body, streamed.Body)
			}
			if got := sc.text(t, plain.Body.String(), false); got != want {
				t.Errorf("JSON text %q", got)
			}
			if got := sc.text(t, streamed.Body.String(), true); got != want {
				t.Errorf("streamed text %q", got)
			}
			p1, c1 := sc.usage(t, plain.Body.String(), false)
			p2, c2 := sc.usage(t, streamed.Body.String(), true)
			if p1 != p2 || c1 != c2 || p1 != tokens(streamPrompt) || c1 != tokens(want) {
				t.Errorf("usage JSON (%d,%d) stream (%d,%d), want (%d,%d)", p1, c1, p2, c2, tokens(streamPrompt), tokens(want))
			}
		})
	}
}

func openaiText(t *testing.T, body string, stream bool) string {
	if !stream {
		return gjson.Get(body, "choices.0.message.content").String()
	}
	_, data := sseEvents(t, body)
	if data[len(data)-1] != "[DONE]" {
		t.Errorf("stream does not end with [DONE]")
	}
	var b strings.Builder
	for _, d := range data[:len(data)-1] {
		b.WriteString(gjson.Get(d, "choices.0.delta.content").String())
	}
	return b.String()
}

func openaiUsage(t *testing.T, body string, stream bool) (int, int) {
	if stream {
		_, data := sseEvents(t, body)
		body = data[len(data)-2] // the usage chunk precedes [DONE]
		if n := len(gjson.Get(body, "choices").Array()); n != 0 {
			t.Errorf("usage chunk has %d choices", n)
		}
	}
	return int(gjson.Get(body, "usage.prompt_tokens").Int()), int(gjson.Get(body, "usage.completion_tokens").Int())
}

func anthropicText(t *testing.T, body string, stream bool) string {
	if !stream {
		return gjson.Get(body, "content.0.text").String()
	}
	names, data := sseEvents(t, body)
	var b strings.Builder
	for i, n := range names {
		if got := gjson.Get(data[i], "type").String(); got != n {
			t.Errorf("event %q carries type %q", n, got)
		}
		if n == "content_block_delta" {
			b.WriteString(gjson.Get(data[i], "delta.text").String())
		}
	}
	if names[0] != "message_start" || names[len(names)-1] != "message_stop" {
		t.Errorf("events %v", names)
	}
	return b.String()
}

func anthropicUsage(t *testing.T, body string, stream bool) (int, int) {
	if !stream {
		return int(gjson.Get(body, "usage.input_tokens").Int()), int(gjson.Get(body, "usage.output_tokens").Int())
	}
	names, data := sseEvents(t, body)
	in, out := 0, 0
	for i, n := range names {
		switch n {
		case "message_start":
			in = int(gjson.Get(data[i], "message.usage.input_tokens").Int())
		case "message_delta":
			out = int(gjson.Get(data[i], "usage.output_tokens").Int())
		}
	}
	return in, out
}

func geminiText(t *testing.T, body string, stream bool) string {
	if !stream {
		return gjson.Get(body, "candidates.0.content.parts.0.text").String()
	}
	if !strings.Contains(body, "\r\n\r\n") {
		t.Errorf("Gemini SSE is CRLF framed")
	}
	_, data := sseEvents(t, body)
	var b strings.Builder
	for _, d := range data {
		b.WriteString(gjson.Get(d, "candidates.0.content.parts.0.text").String())
	}
	return b.String()
}

func geminiUsage(t *testing.T, body string, stream bool) (int, int) {
	if stream {
		_, data := sseEvents(t, body)
		body = data[len(data)-1]
	}
	return int(gjson.Get(body, "usageMetadata.promptTokenCount").Int()),
		int(gjson.Get(body, "usageMetadata.candidatesTokenCount").Int())
}

func geminiArray(t *testing.T, body string) []gjson.Result {
	if !gjson.Valid(body) || !gjson.Parse(body).IsArray() {
		t.Fatalf("not a JSON array: %s", body)
	}
	return gjson.Parse(body).Array()
}

func geminiArrayText(t *testing.T, body string, stream bool) string {
	if !stream {
		return geminiText(t, body, false)
	}
	var b strings.Builder
	for _, r := range geminiArray(t, body) {
		b.WriteString(r.Get("candidates.0.content.parts.0.text").String())
	}
	return b.String()
}

func geminiArrayUsage(t *testing.T, body string, stream bool) (int, int) {
	if stream {
		arr := geminiArray(t, body)
		body = arr[len(arr)-1].Raw
	}
	return geminiUsage(t, body, false)
}

func ollamaLines(t *testing.T, body string) []string {
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line %d is not JSON: %s", i, l)
		}
		if done := gjson.Get(l, "done").Bool(); done != (i == len(lines)-1) {
			t.Errorf("line %d: done=%v", i, done)
		}
	}
	return lines
}

func ollamaText(t *testing.T, body string, stream bool) string {
	if !stream {
		return gjson.Get(body, "message.content").String()
	}
	var b strings.Builder
	for _, l := range ollamaLines(t, body) {
		b.WriteString(gjson.Get(l, "message.content").String())
	}
	return b.String()
}

func ollamaUsage(t *testing.T, body string, stream bool) (int, int) {
	if stream {
		lines := ollamaLines(t, body)
		body = lines[len(lines)-1]
	}
	return int(gjson.Get(body, "prompt_eval_count").Int()), int(gjson.Get(body, "eval_count").Int())
}

// TestStreamFlushesChunks checks over a real connection that the first chunk arrives long before
// the stream ends: chunks are flushed one by one, not buffered.
func TestStreamFlushesChunks(t *testing.T) {
	const delay = 40 * time.Millisecond
	for _, sc := range streamCases() {
		t.Run(string(sc.kind)+sc.streamPath, func(t *testing.T) {
			_, url := Start(t, sc.kind, Options{ChunkDelay: delay})
			sp := sc.streamPath
			if sp == "" {
				sp = sc.path
			}
			req, _ := http.NewRequest(http.MethodPost, url+sp, strings.NewReader(sc.streamBody))
			for _, h := range sc.headers {
				k, v, _ := strings.Cut(h, ":")
				req.Header.Set(k, strings.TrimSpace(v))
			}
			start := time.Now()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			first := time.Since(start)
			for {
				if _, err := br.ReadString('\n'); err != nil {
					break
				}
			}
			total := time.Since(start)
			// 6+ chunks at 40 ms: the stream lasts ≥ 200 ms; the first line must not wait for it.
			if total < 5*delay || first > total-3*delay {
				t.Errorf("first line after %v, stream done after %v", first, total)
			}
		})
	}
}
