package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// The mixed load: each client goes round the list, starting at its own offset.

type request struct {
	method, path, body string
	header             [][2]string
}

var mix = []request{
	{"POST", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}`, nil},
	{"POST", "/v1/chat/completions", `{"model":"claude-sonnet-4","stream":true,"messages":[{"role":"user","content":"stream to me"}]}`, nil},
	{"POST", "/v1/chat/completions", `{"model":"gemini-2.0-flash","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_tokens":64}`, nil},
	{"POST", "/v1/messages", `{"model":"claude-sonnet-4","max_tokens":128,"messages":[{"role":"user","content":"hello"}]}`, [][2]string{{"anthropic-version", "2023-06-01"}}},
	{"POST", "/v1beta/models/gemini-2.0-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}`, nil},
	{"POST", "/v1/chat/completions", `{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hello"}]}`, nil},
	{"GET", "/v1/models", "", nil},
	{"POST", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[`, nil},     // bad JSON: 400
	{"POST", "/v1/chat/completions", `{"model":"no-such-model","messages":[]}`, nil}, // unknown model
	{"GET", "/not/a/route", "", nil},                                                 // the catch-all 404
}

type httpClient struct{ c *http.Client }

func newHTTPClient() *httpClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &httpClient{c: &http.Client{Transport: t, Timeout: 30 * time.Second}}
}

// loop sends requests until ctx ends; record gets each status (0 with a reason when there was
// no HTTP answer).
func (h *httpClient) loop(ctx context.Context, base string, offset int, record func(int, string)) {
	for i := offset; ctx.Err() == nil; i++ {
		r := mix[i%len(mix)]
		var body io.Reader
		if r.body != "" {
			body = strings.NewReader(r.body)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, base+r.path, body)
		if err != nil {
			record(0, err.Error())
			continue
		}
		if r.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for _, kv := range r.header {
			req.Header.Set(kv[0], kv[1])
		}
		resp, err := h.c.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				record(0, err.Error())
			}
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil && ctx.Err() == nil {
			record(0, "reading the answer: "+err.Error())
			continue
		}
		record(resp.StatusCode, "")
	}
}
