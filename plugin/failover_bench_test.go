package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// BenchmarkFailover is a chat request from an OpenAI client whose OpenAI backend answers 503
// and whose fallback, an Anthropic model, answers through proxy_http_call: the whole request,
// from its headers to the translated fallback answer the client gets. The fallback is the strict
// mock served in process (no network), so the figure is the filter's and hostsim's work.
func BenchmarkFailover(b *testing.B) {
	cfg := `{"providers": {
	    "oa": {"type": "openai", "cluster": "c-openai", "api_key": "test-key"},
	    "an": {"type": "anthropic", "cluster": "c-anthropic", "api_key": "test-key"}},
	  "models": {"routes": {"gpt-4o": "oa/gpt-4o", "claude": "an/claude-haiku"}, "fallbacks": {"gpt-4o": ["claude"]}},
	  "log": {"access_log": false}}`
	mock := mockprovider.New(mockprovider.Anthropic, mockprovider.Options{})
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: filterWasm(b), PluginConfig: []byte(cfg), Clock: hostsim.NewVirtualClock(epoch),
		AllowOnHeadersStopIteration: true,
		Clusters:                    map[string]string{"c-openai": "http://openai.local", "c-anthropic": "http://anthropic.local"},
		HTTPClient:                  &http.Client{Transport: handlerTransport{mock}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(context.Background()) })
	body := []byte(oaChat("gpt-4o", false))
	failed := []byte(`{"error":{"message":"overloaded","type":"server_error"}}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := h.NewStream()
		s.SendRequestHeaders(post("/v1/chat/completions"), false)
		s.SendRequestBody(body, true)
		s.SendResponseHeaders(hostsim.Headers{{":status", "503"}, {"content-type", "application/json"}}, false)
		s.SendResponseBody(failed, true)
		if err := s.Await(ctx, func(s *hostsim.Stream) bool { return s.Done() }); err != nil {
			b.Fatal(err)
		}
		if st := s.Downstream().Headers.Get(":status"); st != "200" {
			b.Fatalf("request %d: client got %s %s", i, st, s.Downstream().Body)
		}
	}
}
