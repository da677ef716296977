package mockprovider

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"
)

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Fault
	}{
		{"429", Fault{Status: 429}},
		{"429-retry-7", Fault{Status: 429, RetryAfter: 7 * time.Second}},
		{"503", Fault{Status: 503}},
		{"slow-1500", Fault{Delay: 1500 * time.Millisecond}},
		{"drip-20", Fault{ChunkDelay: 20 * time.Millisecond}},
		{"broken", Fault{Break: true}},
		{"malformed", Fault{Malformed: true}},
		{"html", Fault{HTML: true}},
		{"empty+slow-5", Fault{Empty: true, Delay: 5 * time.Millisecond}},
		{"slow-10+broken", Fault{Delay: 10 * time.Millisecond, Break: true}},
		{"500+slow-5", Fault{Status: 500, Delay: 5 * time.Millisecond}},
	} {
		got, err := ParseFault(tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
		if back, err := ParseFault(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q via %q: %+v, %v", tc.spec, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "200", "600", "slow", "slow-x", "429-wait-3", "429-retry-x", "boom", "broken+"} {
		if f, err := ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) = %+v, want an error", bad, f)
		}
	}
}

// validRequest is a minimal valid chat request per provider.
func validRequest(kind Kind, model string) *http.Request {
	switch kind {
	case OpenAI:
		return post("/v1/chat/completions", `{"model":"`+model+`","messages":`+okUser+`}`, hOpenAI...)
	case Azure:
		return post("/openai/deployments/"+model+"/chat/completions?api-version=2024-10-21", `{"messages":`+okUser+`}`, hAzure...)
	case Anthropic:
		return post("/v1/messages", `{"model":"`+model+`","max_tokens":50,"messages":`+okUser+`}`, hAnthropic...)
	case Gemini:
		return post("/v1beta/models/"+model+":generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`, hGemini...)
	case Bedrock:
		return brRequest(brPath(model, false), `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`, fixedClock())
	}
	return post("/api/chat", `{"model":"`+model+`","stream":false,"messages":`+okUser+`}`, hOllama...)
}

func TestFailNextShapes(t *testing.T) {
	// What identifies each provider's rate-limit answer.
	rateLimited := map[Kind][2]string{
		OpenAI:    {"error.code", "rate_limit_exceeded"},
		Azure:     {"error.code", "429"},
		Anthropic: {"error.type", "rate_limit_error"},
		Gemini:    {"error.status", "RESOURCE_EXHAUSTED"},
		Ollama:    {"error", "too many requests"},
		Bedrock:   {"message", "Too many requests, please wait before trying again."},
	}
	for _, kind := range Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			s := New(kind, testOptions())
			s.FailNext(1, RateLimited(7*time.Second))
			s.FailNext(1, ServerError())
			s.FailNext(1, Unavailable())
			do := func() *http.Response {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, validRequest(kind, "m"))
				return w.Result()
			}
			res := do()
			body := readBody(t, res)
			if res.StatusCode != 429 || res.Header.Get("Retry-After") != "7" {
				t.Errorf("429: status %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
			}
			if want := rateLimited[kind]; gjson.Get(body, want[0]).String() != want[1] {
				t.Errorf("429 body %s: want %s=%s", body, want[0], want[1])
			}
			if kind == Azure && res.Header.Get("Retry-After-Ms") != "7000" {
				t.Errorf("Azure retry-after-ms %q", res.Header.Get("Retry-After-Ms"))
			}
			if kind == Gemini && gjson.Get(body, "error.details.0.retryDelay").String() != "7s" {
				t.Errorf("Gemini RetryInfo missing: %s", body)
			}
			for _, want := range []int{500, 503, 200} {
				if res := do(); res.StatusCode != want {
					t.Errorf("status %d, want %d: %s", res.StatusCode, want, readBody(t, res))
				}
			}
		})
	}
}

func TestRequestTriggers(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind Kind
		req  *http.Request
		want int
	}{
		{"model name", OpenAI, validRequest(OpenAI, "gpt-4o-mock-fail-503"), 503},
		{"Anthropic model", Anthropic, validRequest(Anthropic, "claude-mock-fail-529"), 529},
		{"Gemini path model", Gemini, validRequest(Gemini, "gemini-mock-fail-429-retry-2"), 429},
		{"Azure deployment", Azure, validRequest(Azure, "dep-mock-fail-500"), 500},
		{"Ollama model", Ollama, validRequest(Ollama, "llama-mock-fail-503"), 503},
		{"header", OpenAI, withHeader(validRequest(OpenAI, "gpt-4o"), "X-Mock-Fault", "429-retry-1"), 429},
		{"text", OpenAI, post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"mock fault 500"}]}`, hOpenAI...), 500},
		{"underscore joins specs in a model name", OpenAI, validRequest(OpenAI, "m-mock-fail-500_slow-1"), 500},
		{"bad spec is just a name", OpenAI, validRequest(OpenAI, "m-mock-fail-often"), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w := serve(t, tc.kind, tc.req); w.Code != tc.want {
				t.Errorf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
		})
	}
}

func withHeader(r *http.Request, k, v string) *http.Request {
	r.Header.Set(k, v)
	return r
}

func TestSlowFirstByte(t *testing.T) {
	s, url := Start(t, OpenAI)
	s.FailNext(1, SlowFirstByte(150*time.Millisecond))
	start := time.Now()
	res := doReal(t, url, validRequest(OpenAI, "m"))
	readBody(t, res)
	if d := time.Since(start); d < 150*time.Millisecond || res.StatusCode != 200 {
		t.Errorf("answered %d after %v", res.StatusCode, d)
	}
	// A client that gives up is not waited for.
	s.FailNext(1, SlowFirstByte(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := validRequest(OpenAI, "m").WithContext(ctx)
	if _, err := doRealErr(url, req); err == nil {
		t.Error("want a timeout")
	}
}

func TestBrokenAndMalformed(t *testing.T) {
	s, url := Start(t, OpenAI)
	client := openaiClient(url)
	params := openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a few words to stream")}}
	ctx := context.Background()

	s.FailNext(1, BrokenStream())
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	n := 0
	for stream.Next() {
		n++
	}
	if stream.Err() == nil || n == 0 || n > 2 {
		t.Errorf("broken stream: %d chunks, err %v", n, stream.Err())
	}

	s.FailNext(1, BrokenStream())
	res := doReal(t, url, validRequest(OpenAI, "m"))
	if _, err := io.ReadAll(res.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("broken JSON body: %v", err)
	}

	s.FailNext(1, MalformedJSON())
	if _, err := client.Chat.Completions.New(ctx, params); err == nil {
		t.Error("malformed JSON decoded without error")
	}
	s.FailNext(1, MalformedJSON())
	stream = client.Chat.Completions.NewStreaming(ctx, params)
	for stream.Next() {
	}
	if stream.Err() == nil {
		t.Error("malformed stream decoded without error")
	}
	// Each provider's stream: one frame keeps its framing but carries broken JSON.
	for _, sc := range streamCases() {
		sp := sc.streamPath
		if sp == "" {
			sp = sc.path
		}
		srv := New(sc.kind, testOptions())
		srv.FailNext(1, MalformedJSON())
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, post(sp, sc.streamBody, sc.headers...))
		if w.Code != 200 || countInvalidFrames(w.Body.String()) != 1 {
			t.Errorf("%s%s: %d, %d invalid frames in\n%s", sc.kind, sp, w.Code, countInvalidFrames(w.Body.String()), w.Body)
		}
	}
}

// countInvalidFrames counts the JSON payloads of a stream (SSE data lines, NDJSON lines, or a
// JSON array) that do not parse.
func countInvalidFrames(body string) int {
	if strings.HasPrefix(body, "[") {
		if gjson.Valid(body) {
			return 0
		}
		return 1
	}
	n := 0
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		line = strings.TrimPrefix(line, "data: ")
		if line == "" || line == "[DONE]" || strings.HasPrefix(line, "event: ") {
			continue
		}
		if !gjson.Valid(line) {
			n++
		}
	}
	return n
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// doReal sends a request built with post() to a live server at url.
func doReal(t *testing.T, url string, r *http.Request) *http.Response {
	t.Helper()
	res, err := doRealErr(url, r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func doRealErr(url string, r *http.Request) (*http.Response, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, url+r.URL.RequestURI(), r.Body)
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	req.Host = r.Host // a signed request (Bedrock) signs its host
	return http.DefaultClient.Do(req)
}

// The HTML and Empty faults answer 200 with something that is not the API's answer, to
// streaming requests too.
func TestNonAnswerFaults(t *testing.T) {
	for _, sc := range streamCases() {
		sp := sc.streamPath
		if sp == "" {
			sp = sc.path
		}
		for _, f := range []Fault{{HTML: true}, {Empty: true}} {
			srv := New(sc.kind, testOptions())
			srv.FailNext(1, f)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, post(sp, sc.streamBody, sc.headers...))
			ct := w.Header().Get("Content-Type")
			if w.Code != 200 || f.HTML && (!strings.HasPrefix(ct, "text/html") || !strings.Contains(w.Body.String(), "<html>")) ||
				f.Empty && w.Body.Len() != 0 {
				t.Errorf("%s%s %v: %d %s %q", sc.kind, sp, f, w.Code, ct, w.Body)
			}
		}
	}
}
