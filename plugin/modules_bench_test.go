package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// BenchmarkModules compares two builds of the filter (say, by two Go toolchains) in one
// process: STEPGATE_BENCH_WASM_A and STEPGATE_BENCH_WASM_B name the modules. Each iteration
// sends the case's request once through a host running A and once through one running B,
// alternating which goes first, and times each, so that both see the same load on a shared
// machine. It reports each module's mean (a-ns/op, b-ns/op) and median (a-med-ns, b-med-ns)
// and their ratios: b/a of the means, b/a-med of the medians, which a burst of load on
// the machine or a garbage collection in one request moves less.
func BenchmarkModules(b *testing.B) {
	pathA, pathB := os.Getenv("STEPGATE_BENCH_WASM_A"), os.Getenv("STEPGATE_BENCH_WASM_B")
	if pathA == "" || pathB == "" {
		b.Skip("set STEPGATE_BENCH_WASM_A and STEPGATE_BENCH_WASM_B to two builds of the filter")
	}
	modA, errA := os.ReadFile(pathA)
	modB, errB := os.ReadFile(pathB)
	if errA != nil || errB != nil {
		b.Fatal(errA, errB)
	}
	for _, c := range moduleCases {
		b.Run(c.name, func(b *testing.B) {
			runA, runB := c.start(b, modA), c.start(b, modB)
			took := [2][]time.Duration{make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				first, second := runA, runB
				if i%2 == 1 {
					first, second = runB, runA
				}
				t0 := time.Now()
				first()
				t1 := time.Now()
				second()
				t2 := time.Now()
				took[i%2] = append(took[i%2], t1.Sub(t0))     // A's time on even iterations, B's on odd ones
				took[1-i%2] = append(took[1-i%2], t2.Sub(t1)) // and the other way round
			}
			b.StopTimer()
			meanA, medA := meanMedian(took[0])
			meanB, medB := meanMedian(took[1])
			b.ReportMetric(meanA, "a-ns/op")
			b.ReportMetric(meanB, "b-ns/op")
			b.ReportMetric(medA, "a-med-ns")
			b.ReportMetric(medB, "b-med-ns")
			b.ReportMetric(meanB/meanA, "b/a")
			b.ReportMetric(medB/medA, "b/a-med")
		})
	}
}

// moduleCases are the shapes of BenchmarkRequest (one rule), BenchmarkTranslate and
// BenchmarkStreamEvent; start returns one request's work on a host running the module.
var moduleCases = []struct {
	name  string
	start func(*testing.B, []byte) func()
}{
	{"throttle", func(b *testing.B, module []byte) func() {
		h, clock := benchHostClock(b, module, requestCases[3].config)
		req := get("/api/items", [2]string{"x-request-id", "r"}, [2]string{"authorization", "Bearer k"})
		resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
		return func() {
			clock.Advance(time.Millisecond)
			s := h.NewStream()
			s.SendRequestHeaders(req, true)
			s.SendResponseHeaders(resp, true)
		}
	}},
	{"translate-1KB", moduleTranslateCase(1 << 10)},
	{"translate-64KB", moduleTranslateCase(64 << 10)},
	{"stream-event", func(b *testing.B, module []byte) func() {
		config := strings.Replace(aiConfig, "THROTTLE", `, "log":{"access_log":false}`, 1)
		h := benchHost(b, module, config)
		s := h.NewStream()
		s.SendRequestHeaders(post("/v1/chat/completions"), false)
		s.SendRequestBody([]byte(`{"model":"claude","stream":true,"messages":[{"role":"user","content":"Hi"}]}`), true)
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
		event := []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n")
		return func() { s.SendResponseBody(event, false) }
	}},
}

func moduleTranslateCase(size int) func(*testing.B, []byte) func() {
	return func(b *testing.B, module []byte) func() {
		config := strings.Replace(aiConfig, "THROTTLE", `, "log":{"access_log":false}`, 1)
		config = strings.Replace(config, `"max_request_body_bytes": 2048`, `"max_request_body_bytes": 1048576`, 1)
		h := benchHost(b, module, config)
		body := chatBody(benchModel(), size)
		resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
		return func() {
			s := h.NewStream()
			s.SendRequestHeaders(post("/v1/chat/completions"), false)
			s.SendRequestBody(body, true)
			s.SendResponseHeaders(resp, false)
			s.SendResponseBody(benchAnswer, true)
		}
	}
}

func meanMedian(d []time.Duration) (mean, median float64) {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	slices.Sort(d)
	return float64(sum) / float64(len(d)), float64(d[len(d)/2])
}
