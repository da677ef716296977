package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

var fuzzHost struct {
	once sync.Once
	h    *hostsim.Host
	err  error
}

// fuzzFallback answers the filter's fallback calls with the iteration's answer (fuzz
// iterations of one process run one at a time).
var fuzzFallback struct {
	mu       sync.Mutex
	status   int
	ct, body string
}

type fuzzFallbackDoer struct{}

func (fuzzFallbackDoer) Do(*http.Request) (*http.Response, error) {
	fuzzFallback.mu.Lock()
	defer fuzzFallback.mu.Unlock()
	return &http.Response{StatusCode: fuzzFallback.status, Header: http.Header{"Content-Type": {fuzzFallback.ct}},
		Body: io.NopCloser(strings.NewReader(fuzzFallback.body))}, nil
}

// FuzzFilter sends arbitrary request and response bodies through the real filter in hostsim, in
// every client dialect and to providers of every format; a 429/5xx sends the request on to its
// fallback, whose call gets the same answer. A Go panic inside the VM would kill it
// (and, in Envoy, every stream on that worker): the VM must never fail.
func FuzzFilter(f *testing.F) {
	seeds := []struct {
		path, req, resp, ct string
	}{
		{"/v1/chat/completions", `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`, `{"content":[{"type":"text","text":"x"}]}`, "application/json"},
		{"/v1/chat/completions", `{"model":"gemini","stream":true,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\r\n\r\n", "text/event-stream"},
		{"/v1/messages", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"Hi"}],"stream":true}`, "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\"}}]}}]}\n\ndata: [DONE]\n\n", "text/event-stream"},
		{"/v1beta/models/claude:generateContent", `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`, `{"error":{"type":"overloaded_error"}}`, "application/json"},
		{"/v1/chat/completions", `{"model":`, `not json`, "application/json"},
	}
	for _, s := range seeds {
		f.Add(s.path, []byte(s.req), []byte(s.resp), s.ct, uint8(200))
	}
	f.Add("/v1/chat/completions", []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`),
		[]byte(`{"content":[{"type":"text","text":"x"}],"usage":{"input_tokens":1,"output_tokens":2}}`), "application/json", uint8(234))
	f.Add("/v1/messages", []byte(`{"model":"claude","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`),
		[]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\n\n"), "text/event-stream", uint8(229))
	f.Fuzz(func(t *testing.T, path string, req, resp []byte, ct string, status uint8) {
		fuzzHost.once.Do(func() {
			vc := hostsim.NewVirtualClock(epoch)
			cfg := strings.Replace(`{"log":{"access_log":false},`+aiConfig[1:], "THROTTLE",
				`, "throttle": {"rules":[{"name":"t","unit":"llm_tokens","rate":"1000/s","burst":100000}]}`, 1)
			cfg = strings.Replace(cfg, `"gem/gemini-2.0-flash"
  }}`, `"gem/gemini-2.0-flash"
  }, "fallbacks": {"gpt-4o": ["claude"], "claude": ["gemini"], "gemini": ["gpt-4o-mini"]}}`, 1)
			fuzzHost.h, fuzzHost.err = hostsim.New(context.Background(), hostsim.Config{
				Module: filterWasm(t), PluginConfig: []byte(cfg), Clock: vc, AllowOnHeadersStopIteration: true,
				Clusters:   map[string]string{"openai": "http://fallback", "anthropic": "http://fallback", "gemini": "http://fallback"},
				HTTPClient: fuzzFallbackDoer{}})
		})
		if fuzzHost.err != nil {
			t.Fatal(fuzzHost.err)
		}
		h := fuzzHost.h
		fuzzFallback.mu.Lock()
		code := fuzzStatus(status)
		fuzzFallback.status, fuzzFallback.ct, fuzzFallback.body = code, ct, string(resp)
		if status%2 == 0 {
			fuzzFallback.status = 200 // the fallback serves; else it fails the same way
		}
		fuzzFallback.mu.Unlock()
		s := h.NewStream()
		s.SendRequestHeaders(post("/"+path), false)
		s.SendRequestBody(req, true)
		if s.LocalReply() == nil {
			s.SendResponseHeaders(hostsim.Headers{{":status", strconv.Itoa(code)}, {"content-type", ct}}, false)
			half := len(resp) / 2
			s.SendResponseBody(resp[:half], false)
			s.SendResponseBody(resp[half:], true)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = s.Await(ctx, func(s *hostsim.Stream) bool { return s.Done() }) // a fallback's answer
		cancel()
		s.Close()
		if h.Failed(0) {
			t.Fatalf("the VM failed: path %q, request %q, response %q; logs: %v", path, req, resp, h.Logs())
		}
	})
}

// fuzzStatus maps the fuzzer's byte to an upstream status: 100-328, 429, and 500-525 (which fail
// over).
func fuzzStatus(b uint8) int {
	switch {
	case b == 229:
		return 429
	case b >= 230:
		return int(b) + 270
	}
	return int(b) + 100
}
