package main

import (
	"testing"
)

// Every crossing of the VM boundary costs the filter in Envoy too, so the host calls of the
// common requests are bounded here, counted by hostsim: header changes go to the host together
// (one proxy_set_header_map_pairs), headers are read once per map, the clock at most once per
// callback and only when something uses it. A change that adds a host call to these paths fails this test; docs/BENCHMARKS.md
// says what each one is for.
func TestHostCallsPerRequest(t *testing.T) {
	for _, c := range []struct {
		name string
		rc   func(*testing.T) *ratioCase
		max  uint64
	}{
		// request: clock, header pairs; response: header pairs, one write (x-request-id,
		// x-stepgate); end: the requests counter. Without the access log nothing needs the
		// time after the request.
		{"passthrough", func(t *testing.T) *ratioCase {
			return requestCase(t, "passthrough", filterWasm(t), `{"log":{"access_log":false}}`)
		}, 5},
		// the passthrough's, plus the bucket's shared-data read and compare-and-swap and the
		// decision counter; the five RateLimit headers join the response's one write.
		{"one request rule", func(t *testing.T) *ratioCase {
			return requestCase(t, "one request rule", filterWasm(t),
				`{"log":{"access_log":false},"throttle":{"rules":[{"name":"rps","rate":"1000/s","burst":100}]}}`)
		}, 8},
		{"translate 1 KB", func(t *testing.T) *ratioCase { return translateCase(t, "translate 1 KB", filterWasm(t), 1<<10) }, 20},
		{"one SSE event", func(t *testing.T) *ratioCase { return streamEventCase(t, "one SSE event", filterWasm(t)) }, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := c.rc(t)
			rc.op() // metrics defined, contexts made: the steady state follows
			before := sumCalls(rc.h.HostCalls())
			const n = 20
			for range n {
				rc.op()
			}
			if got := (sumCalls(rc.h.HostCalls()) - before) / n; got > c.max {
				t.Errorf("%d host calls per request, want at most %d: %v", got, c.max, rc.h.HostCalls())
			}
		})
	}
}
