//go:build unix

package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// BenchmarkMCPToolsCall is one tools/call POST and its JSON answer, on an MCP route (buffered,
// parsed, checked against the allow-list, forwarded) and the same request on a route outside the
// mcp section: passed through, and with its body buffered as the MCP route buffers it (a
// token-counting rule that matches nothing makes the filter read every body, and look up its
// completion limit for the estimate). MCP parsing costs about the difference between the last
// two; buffering the body is what any body-reading feature pays.
func BenchmarkMCPToolsCall(b *testing.B) {
	const config = `{"log":{"access_log":false},"mcp":{"servers":{"demo":{"path_prefix":"/mcp/demo","cluster":"mcp_demo",
		"allowed_tools":["echo","report"],"blocked_methods":["resources/*"]}}}}`
	const buffered = `{"log":{"access_log":false},"mcp":{"servers":{"demo":{"path_prefix":"/mcp/demo","cluster":"mcp_demo",
		"allowed_tools":["echo","report"],"blocked_methods":["resources/*"]}}},
		"throttle":{"rules":[{"name":"body","match":{"path_prefix":"/nothing/"},"unit":"llm_tokens","rate":"1/s","burst":1}]}}`
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"report","arguments":{"text":"the quarterly numbers, please"},"_meta":{"progressToken":7}}}`)
	answer := []byte(`{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"words: 4"}]}}`)
	resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
	for _, c := range []struct{ name, path, config string }{
		{"other-route", "/api/tools", config},
		{"other-route-body-buffered", "/api/tools", buffered},
		{"mcp-route", "/mcp/demo", config},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := benchHost(b, filterWasm(b), c.config)
			req := post(c.path, [2]string{"x-request-id", "r"}, [2]string{"mcp-session-id", "s-1"},
				[2]string{"accept", "application/json, text/event-stream"}, [2]string{"content-length", itoa(len(body))})
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			defer func() { b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op") }()
			for i := 0; i < b.N; i++ {
				s := h.NewStream()
				s.SendRequestHeaders(req, false)
				s.SendRequestBody(body, true)
				if r := s.LocalReply(); r != nil || s.Paused() {
					b.Fatalf("request %d answered locally or held: %+v", i, r)
				}
				s.SendResponseHeaders(resp, false)
				s.SendResponseBody(answer, true)
			}
		})
	}
}

// cpuTime is the CPU time this process has used. On a machine shared with other work, ns/op
// counts the time the benchmark waited for a core; cpu-ns/op, the CPU time per request (all of
// the process's threads, the garbage collector's included), does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
