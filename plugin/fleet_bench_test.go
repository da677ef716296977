package main

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// BenchmarkFleetRequest: a request decided by a fleet rule whose lease is in hand, against the
// same rule kept local. The fake service answers the first lease (and any refill) over loopback;
// the virtual clock moves 1 ms per request, so the tick (every 5 ms) runs as in production.
func BenchmarkFleetRequest(b *testing.B) {
	req := get("/api/items", [2]string{"x-request-id", "r"}, [2]string{"x-team", "blue"})
	resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
	for _, c := range []struct{ name, config string }{
		{"local-rule", `{"log":{"access_log":false},"throttle":{"rules":[
			{"name":"team","key":"header:x-team","rate":"1000000000/hour","burst":1000000000}]}}`},
		{"fleet-rule", `{"log":{"access_log":false},"throttle":{"rules":[
			{"name":"team","key":"header:x-team","rate":"1000000000/hour","scope":"fleet",
			 "fleet":{"min_block":1000000,"max_block":1000000}}]}}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			svc := &fakeRateLimit{limit: 1e9, window: time.Hour, counts: map[int64]int64{}}
			srv := httptest.NewServer(svc)
			defer srv.Close()
			h, clock := benchHostClock(b, filterWasm(b), c.config, map[string]string{"ratelimit": srv.URL})
			svc.now = clock.Now
			warm := h.NewStream() // takes the lease
			warm.SendRequestHeaders(req, true)
			for i := 0; i < 10 && warm.Paused(); i++ {
				clock.Advance(5 * time.Millisecond)
				waitIdle(b, h)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clock.Advance(time.Millisecond)
				s := h.NewStream()
				s.SendRequestHeaders(req, true)
				if s.Paused() || s.LocalReply() != nil {
					b.Fatalf("request %d did not pass at once", i)
				}
				s.SendResponseHeaders(resp, true)
			}
		})
	}
}
