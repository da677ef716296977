package hostsim_test

import (
	"context"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// BenchmarkNoopPlugin measures hostsim's cost of one full stream through a plugin that does
// nothing: request headers and body, response headers and body, then log/done/delete.
func BenchmarkNoopPlugin(b *testing.B) {
	ctx := context.Background()
	h, err := hostsim.New(ctx, hostsim.Config{Module: hostsimtest.Plugin(b, "noop"), Clock: hostsim.NewVirtualClock(epoch)})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	reqHeaders := hostsim.Headers{{":method", "POST"}, {":path", "/v1/chat/completions"},
		{":authority", "api.example.com"}, {"content-type", "application/json"}, {"x-request-id", "1"}}
	respHeaders := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := h.NewStream()
		s.SendRequestHeaders(reqHeaders, false)
		s.SendRequestBody(body, true)
		s.SendResponseHeaders(respHeaders, false)
		s.SendResponseBody(body, true)
		s.Close()
	}
}
