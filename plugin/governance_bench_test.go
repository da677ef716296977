package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/plugin/governance"
)

// consumersJSON is the consumers section's content for n consumers of tenant t, key
// "sk-bench-<i>" each; "sk-bench-0" is always among them.
func consumersJSON(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"c%d":{"tenant":"t","keys":[{"id":"k%d","sha256":"%s"}]}`, i, i, governance.Hash(fmt.Sprintf("sk-bench-%d", i)))
	}
	return b.String()
}

// BenchmarkAuth is BenchmarkRequest's headers-only request with and without the auth step: a
// route requiring a key, 1 or 10 000 configured consumers, the request carrying one of their
// keys. The difference to the anonymous route is what authentication adds per request in the VM.
func BenchmarkAuth(b *testing.B) {
	cases := []struct{ name, config string }{
		{"anonymous-route", `{"log":{"access_log":false},"routes":{"api":{"path_prefix":"/api/"}}}`},
	}
	for _, n := range []int{1, 10000} {
		cases = append(cases, struct{ name, config string }{fmt.Sprintf("auth-%d-consumers", n),
			`{"log":{"access_log":false},"routes":{"api":{"path_prefix":"/api/","auth":{}}},"tenants":{"t":{}},"consumers":{` +
				consumersJSON(n) + `}}`})
	}
	// The same 10 000 consumers configured, the route anonymous: what the larger VM heap costs
	// without any auth step.
	cases = append(cases, struct{ name, config string }{"anonymous-route-10000-consumers",
		`{"log":{"access_log":false},"routes":{"api":{"path_prefix":"/api/"}},"tenants":{"t":{}},"consumers":{` +
			consumersJSON(10000) + `}}`})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := get("/api/items", [2]string{"x-request-id", "r"}, [2]string{"authorization", "Bearer sk-bench-0"})
			resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
			h, clock := benchHostClock(b, filterWasm(b), c.config)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clock.Advance(time.Millisecond)
				s := h.NewStream()
				s.SendRequestHeaders(req, true)
				if r := s.LocalReply(); r != nil {
					b.Fatalf("request %d answered locally: %d %s", i, r.Status, r.Body)
				}
				s.SendResponseHeaders(resp, true)
			}
		})
	}
}
