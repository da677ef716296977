package mockprovider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParseFault(f *testing.F) {
	for _, s := range []string{"429", "429-retry-7", "slow-10+broken", "drip-5", "malformed", "500+", "-", "4xx", "429-retry-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fault, err := ParseFault(spec)
		if err != nil {
			return
		}
		back, err := ParseFault(fault.String())
		if err != nil || back.Status != fault.Status || back.Break != fault.Break || back.Malformed != fault.Malformed {
			t.Fatalf("%q → %+v → %q → %+v, %v", spec, fault, fault.String(), back, err)
		}
	})
}

// fuzzTargets are the endpoints the body fuzzer posts to: chat for every provider, then
// embeddings and token counting.
var fuzzTargets = []struct {
	kind    Kind
	path    string
	headers []string
}{
	{OpenAI, "/v1/chat/completions", hOpenAI},
	{Azure, azurePath, hAzure},
	{Anthropic, "/v1/messages", hAnthropic},
	{Gemini, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", hGemini},
	{Gemini, geminiPath, hGemini},
	{Ollama, "/api/chat", hOllama},
	{OpenAI, "/v1/embeddings", hOpenAI},
	{Gemini, "/v1beta/models/gemini-embedding-001:embedContent", hGemini},
	{Gemini, "/v1beta/models/gemini-embedding-001:batchEmbedContents", hGemini},
	{Ollama, "/api/embed", hOllama},
	{Anthropic, "/v1/messages/count_tokens", hAnthropic},
	{Bedrock, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", nil}, // signed by brRequest
	{Bedrock, "/model/m/converse-stream", nil},
}

// FuzzServe posts arbitrary bodies to every provider: the mock must never panic, and every error
// it answers must be valid JSON in the provider's shape.
func FuzzServe(f *testing.F) {
	files, _ := filepath.Glob("testdata/cases/*.json")
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		var tc testCase
		if json.Unmarshal(raw, &tc) == nil && len(tc.Body) > 0 {
			for i, ft := range fuzzTargets {
				if ft.kind == tc.Kind {
					f.Add(uint8(i), []byte(tc.Body))
				}
			}
		}
	}
	f.Add(uint8(0), []byte(`{"model":"m","messages":[{"role":"user","content":"mock fault broken"}]}`))
	f.Add(uint8(2), []byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result"}]}]}`))
	f.Add(uint8(3), []byte(`{"contents":[{"parts":[{"text":"x","inlineData":{}}]}],"tools":[{"functionDeclarations":[{"parameters":{"properties":{"a":[]}}}]}]}`))
	f.Add(uint8(5), []byte(`{"model":"m","messages":[{"role":"tool"}],"options":{"stop":[1]}}`))
	f.Add(uint8(6), []byte(`{"model":"m","input":["a","b"],"dimensions":4}`))
	f.Add(uint8(7), []byte(`{"content":{"parts":[{"text":"a"}]},"outputDimensionality":4}`))
	f.Add(uint8(8), []byte(`{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]}}]}`))
	f.Add(uint8(9), []byte(`{"model":"m","input":["a","b"],"dimensions":4,"truncate":true}`))
	f.Add(uint8(10), []byte(`{"model":"m","system":"s","messages":[{"role":"user","content":"x"}]}`))
	f.Add(uint8(len(fuzzTargets)-2), []byte(`{"messages":[{"role":"user","content":[{"text":"call tool f"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}}]}}`))
	f.Add(uint8(len(fuzzTargets)-1), []byte(`{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"AA=="}}},{"text":"hi"}]}]}`))
	f.Fuzz(func(t *testing.T, target uint8, body []byte) {
		ft := fuzzTargets[int(target)%len(fuzzTargets)]
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		r := post(ft.path, string(body), ft.headers...)
		if ft.kind == Bedrock {
			r = brRequest(ft.path, string(body), fixedClock())
		}
		r = r.WithContext(ctx)
		w := httptest.NewRecorder()
		func() {
			defer func() {
				if v := recover(); v != nil && v != http.ErrAbortHandler {
					t.Fatalf("panic: %v", v)
				}
			}()
			New(ft.kind, testOptions()).ServeHTTP(w, r)
		}()
		if w.Code >= 400 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s answered %d with invalid JSON: %q", ft.kind, w.Code, w.Body)
		}
		injected := strings.Contains(string(body), "mock fault") || strings.Contains(string(body), "mock-fail-")
		if w.Code == 200 && w.Header().Get("Content-Type") == "application/json" && !injected && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s answered 200 with invalid JSON: %q", ft.kind, w.Body)
		}
	})
}
