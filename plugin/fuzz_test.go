package main

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
)

var fuzzHost struct {
	once sync.Once
	h    *hostsim.Host
	err  error
}

// FuzzFilter sends arbitrary request and response bodies through the real filter in hostsim, in
// every client dialect and to providers of every format. A Go panic inside the VM would kill it
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
	f.Fuzz(func(t *testing.T, path string, req, resp []byte, ct string, status uint8) {
		fuzzHost.once.Do(func() {
			vc := hostsim.NewVirtualClock(epoch)
			cfg := strings.Replace(`{"log":{"access_log":false},`+aiConfig[1:], "THROTTLE",
				`, "throttle": {"rules":[{"name":"t","unit":"llm_tokens","rate":"1000/s","burst":100000}]}`, 1)
			fuzzHost.h, fuzzHost.err = hostsim.New(context.Background(), hostsim.Config{
				Module: filterWasm(t), PluginConfig: []byte(cfg), Clock: vc, AllowOnHeadersStopIteration: true})
		})
		if fuzzHost.err != nil {
			t.Fatal(fuzzHost.err)
		}
		h := fuzzHost.h
		s := h.NewStream()
		s.SendRequestHeaders(post("/"+path), false)
		s.SendRequestBody(req, true)
		if s.LocalReply() == nil {
			s.SendResponseHeaders(hostsim.Headers{{":status", strconv.Itoa(int(status) + 100)}, {"content-type", ct}}, false)
			half := len(resp) / 2
			s.SendResponseBody(resp[:half], false)
			s.SendResponseBody(resp[half:], true)
		}
		s.Close()
		if h.Failed(0) {
			t.Fatalf("the VM failed: path %q, request %q, response %q; logs: %v", path, req, resp, h.Logs())
		}
	})
}
