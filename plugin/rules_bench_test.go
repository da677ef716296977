package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// BenchmarkRuleCount is a headers-only request through the real module with n throttle rules that
// all match it, or n that all miss it (another path prefix): the cost each rule adds per request.
// docs/BENCHMARKS.md records the figures.
func BenchmarkRuleCount(b *testing.B) {
	req := get("/api/items", [2]string{"x-user", "u1"})
	resp := hostsim.Headers{{":status", "200"}}
	for _, c := range []struct {
		name   string
		n      int
		prefix string
	}{{"match-1", 1, "/api/"}, {"match-10", 10, "/api/"}, {"match-100", 100, "/api/"},
		{"miss-10", 10, "/admin/"}, {"miss-100", 100, "/admin/"}, {"miss-1000", 1000, "/admin/"}} {
		b.Run(c.name, func(b *testing.B) {
			h, clock := benchHostClock(b, filterWasm(b), ruleCountConfig(c.n, c.prefix))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clock.Advance(time.Millisecond)
				s := h.NewStream()
				s.SendRequestHeaders(req, true)
				if r := s.LocalReply(); r != nil {
					b.Fatalf("request %d answered locally: %d", i, r.Status)
				}
				s.SendResponseHeaders(resp, true)
			}
		})
	}
}

// ruleCountConfig is n keyed rules on a path prefix, generous enough to allow every request, with
// the RateLimit headers off so that only the decisions are measured.
func ruleCountConfig(n int, prefix string) string {
	var sb strings.Builder
	sb.WriteString(`{"log":{"access_log":false},"throttle":{"rules":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"name":"r` + strconv.Itoa(i) + `","key":"header:x-user","match":{"path_prefix":"` + prefix +
			`"},"rate":"1000000/s","burst":1000,"headers":false,"max_keys":64}`)
	}
	sb.WriteString(`]}}`)
	return sb.String()
}
