package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
	"github.com/stepgate/stepgate/plugin/aiformat"
	pluginconfig "github.com/stepgate/stepgate/plugin/config"
	"github.com/stepgate/stepgate/plugin/shareddata"
)

// Per-request cost of the filter in hostsim (wazero, compiler mode), against an SDK plugin that
// does nothing, on the same stream shapes. docs/BENCHMARKS.md records the figures.

func benchHost(b testing.TB, module []byte, config string) *hostsim.Host {
	b.Helper()
	h, _ := benchHostClock(b, module, config)
	return h
}

// benchHostClock starts the plugin with a virtual clock; clusters (optional) are hostsim's
// Config.Clusters, for requests through hostsim.Proxy.
func benchHostClock(b testing.TB, module []byte, config string, clusters ...map[string]string) (*hostsim.Host, *hostsim.VirtualClock) {
	b.Helper()
	clock := hostsim.NewVirtualClock(epoch)
	cfg := hostsim.Config{Module: module, PluginConfig: []byte(config), Clock: clock, AllowOnHeadersStopIteration: true}
	if len(clusters) > 0 {
		cfg.Clusters = clusters[0]
	}
	h, err := hostsim.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(context.Background()) })
	return h, clock
}

// BenchmarkRequest is a headers-only request answered 200: the shape of the throttle path. The
// virtual clock moves 1 ms per request, so a rule of 1000/s allows every one of them.
func BenchmarkRequest(b *testing.B) {
	req := get("/api/items", [2]string{"x-request-id", "r"}, [2]string{"authorization", "Bearer k"})
	resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
	for _, c := range requestCases {
		b.Run(c.name, func(b *testing.B) {
			h, clock := benchHostClock(b, c.module(b), c.config)
			b.ReportAllocs()
			calls := countHostCalls(b, h)
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
			calls.report()
		})
	}
}

// requestCases are the plugins and configurations of the throttle path's benchmarks.
var requestCases = []struct {
	name   string
	module func(testing.TB) []byte
	config string
}{
	{"noop-plugin", noopWasm, ""},
	{"shared-counter-plugin", sharedCounterWasm, ""},
	{"stepgate-passthrough", filterWasm, `{"log":{"access_log":false}}`},
	{"stepgate-throttle", filterWasm, `{"log":{"access_log":false},"throttle":{"rules":[
			{"name":"rps","rate":"1000/s","burst":100}]}}`},
	{"stepgate-throttle-keyed", filterWasm, `{"log":{"access_log":false},"throttle":{"rules":[
			{"name":"per-route","key":"route:method","match":{"path_prefix":"/api/"},"rate":"1000/s","burst":100}]}}`},
	{"stepgate-throttle+log", filterWasm, `{"throttle":{"rules":[
			{"name":"rps","rate":"1000/s","burst":100}]}}`},
}

// BenchmarkProxiedRequest is the same request as a user of hostsim sends it: through
// hostsim.Proxy (the dev gateway's core: the filter callbacks plus the proxying around them) to an
// upstream answering 200. The upstream is an in-process handler behind the proxy's Transport, so
// no socket adds its noise; requests go one at a time. The plugins and rules are BenchmarkRequest's.
//
// Each iteration also sends BenchmarkRequest's request straight to the callbacks on the same
// host, alternating which goes first, and times both: proxied-med-ns and callbacks-med-ns are
// their medians, which a shared machine's load moves alike, so that what a rule adds through
// the proxy can be compared with what it adds to the callbacks alone within one run.
func BenchmarkProxiedRequest(b *testing.B) {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		w.Header().Set("content-length", "11") // as net/http's server sets it on a small answer
		w.Write([]byte(`{"ok":true}`))
	})
	req := get("/api/items", [2]string{"x-request-id", "r"}, [2]string{"authorization", "Bearer k"})
	// The callbacks alone get the stream the proxy gives them: the same headers and body.
	resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}, {"content-length", "11"}}
	okBody := []byte(`{"ok":true}`)
	for _, c := range requestCases {
		b.Run(c.name, func(b *testing.B) {
			h, clock := benchHostClock(b, c.module(b), c.config, map[string]string{"backend": "http://backend"})
			proxy := &hostsim.Proxy{Host: h, Transport: handlerTransport{upstream}}
			proxied := func(i int) {
				r := httptest.NewRequest("GET", "http://gateway/api/items", nil)
				r.Header.Set("x-request-id", "r")
				r.Header.Set("authorization", "Bearer k")
				w := httptest.NewRecorder()
				proxy.ServeHTTP(w, r)
				if w.Code != 200 || w.Body.String() != `{"ok":true}` {
					b.Fatalf("request %d: %d %s", i, w.Code, w.Body)
				}
			}
			direct := func(int) {
				s := h.NewStream()
				s.SendRequestHeaders(req, true)
				s.SendResponseHeaders(resp, false)
				s.SendResponseBody(okBody, true)
			}
			took := [2][]time.Duration{make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := range 2 {
					which := (i + k) % 2 // 0: proxied, 1: callbacks alone
					clock.Advance(time.Millisecond)
					t0 := time.Now()
					if which == 0 {
						proxied(i)
					} else {
						direct(i)
					}
					took[which] = append(took[which], time.Since(t0))
				}
			}
			b.StopTimer()
			_, medProxied := meanMedian(took[0])
			_, medDirect := meanMedian(took[1])
			b.ReportMetric(medProxied, "proxied-med-ns")
			b.ReportMetric(medDirect, "callbacks-med-ns")
		})
	}
}

// handlerTransport answers upstream requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// BenchmarkTranslate is a chat request from an OpenAI client to an Anthropic model and its
// JSON answer, with request bodies of 1, 4 and 64 KB.
func BenchmarkTranslate(b *testing.B) {
	config := strings.Replace(aiConfig, "THROTTLE", `, "log":{"access_log":false}`, 1)
	config = strings.Replace(config, `"max_request_body_bytes": 2048`, `"max_request_body_bytes": 1048576`, 1)
	resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
	for _, size := range []int{1 << 10, 4 << 10, 64 << 10} {
		body := chatBody(benchModel(), size)
		b.Run(sizeName(size), func(b *testing.B) {
			h := benchHost(b, filterWasm(b), config)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			calls := countHostCalls(b, h)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := h.NewStream()
				s.SendRequestHeaders(post("/v1/chat/completions"), false)
				s.SendRequestBody(body, true)
				s.SendResponseHeaders(resp, false)
				s.SendResponseBody(benchAnswer, true)
			}
			calls.report()
		})
	}
}

// BenchmarkTranslateNative is BenchmarkTranslate's work without the VM: the same configuration,
// request bodies and answer through the aiformat package natively (parse, route and encode the
// request; translate the answer). It is the "native" of the translation target in
// docs/BENCHMARKS.md.
func BenchmarkTranslateNative(b *testing.B) {
	config := strings.Replace(aiConfig, "THROTTLE", "", 1)
	cfg, err := pluginconfig.Parse([]byte(config))
	if err != nil {
		b.Fatal(err)
	}
	router := aiformat.NewRouter(cfg.AI, shareddata.NewMemory())
	for _, size := range []int{1 << 10, 4 << 10, 64 << 10} {
		body := chatBody(benchModel(), size)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req, perr := cfg.AI.ParseRequest("POST", "/v1/chat/completions", "", body)
				if perr != nil {
					b.Fatal(perr.Message)
				}
				up, rerr := router.Route(req, 0, 0)
				if rerr != nil || len(up.Body) == 0 {
					b.Fatal(rerr)
				}
				rt := aiformat.NewResponseTranslator(req, up, 0)
				rt.Headers(200, "application/json")
				if _, out := rt.Finish(benchAnswer); len(out) == 0 {
					b.Fatal("no answer")
				}
			}
		})
	}
}

// BenchmarkStreamEvent is the cost of one SSE text delta from an Anthropic stream, translated to
// OpenAI chunks, one event per body callback.
func BenchmarkStreamEvent(b *testing.B) {
	config := strings.Replace(aiConfig, "THROTTLE", `, "log":{"access_log":false}`, 1)
	h := benchHost(b, filterWasm(b), config)
	event := []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n")
	s := h.NewStream()
	s.SendRequestHeaders(post("/v1/chat/completions"), false)
	s.SendRequestBody([]byte(`{"model":"claude","stream":true,"messages":[{"role":"user","content":"Hi"}]}`), true)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"c\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"+
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"), false)
	b.ReportAllocs()
	calls := countHostCalls(b, h)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.SendResponseBody(event, false)
	}
	calls.report()
}

// hostCalls reports the host functions the plugin calls per operation (hostcalls/op), from the
// host's counts before and after the benchmark loop; with -v it logs them by function.
type hostCalls struct {
	b      *testing.B
	h      *hostsim.Host
	before map[string]uint64
}

func countHostCalls(b *testing.B, h *hostsim.Host) hostCalls {
	return hostCalls{b, h, h.HostCalls()}
}

func (c hostCalls) report() {
	var total uint64
	var by []string
	for name, n := range c.h.HostCalls() {
		n -= c.before[name]
		total += n
		if n > 0 {
			by = append(by, fmt.Sprintf("%s %.3g", strings.TrimPrefix(name, "env.proxy_"), float64(n)/float64(c.b.N)))
		}
	}
	c.b.ReportMetric(float64(total)/float64(c.b.N), "hostcalls/op")
	if testing.Verbose() {
		sort.Strings(by)
		c.b.Logf("host calls per op: %s", strings.Join(by, ", "))
	}
}

// benchAnswer is the Anthropic answer of the translation benchmarks.
var benchAnswer = []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
	`"content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,` +
	`"usage":{"input_tokens":11,"output_tokens":3}}`)

func noopWasm(t testing.TB) []byte {
	return hostsimtest.Plugin(t, "noop")
}

// sharedCounterWasm is the floor of any throttle sharing state across worker VMs: one header read
// and one shared-data read and compare-and-swap per request, nothing else.
func sharedCounterWasm(t testing.TB) []byte {
	return hostsimtest.Plugin(t, "sharedcounter")
}

// chatBody is an OpenAI chat request of about size bytes.
func chatBody(model string, size int) []byte {
	head := `{"model":"` + model + `","max_tokens":256,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"`
	tail := `"}]}`
	return []byte(head + strings.Repeat("lorem ipsum ", (size-len(head)-len(tail))/12) + tail)
}

func sizeName(n int) string { return strconv.Itoa(n>>10) + "KB" }

func benchModel() string {
	if m := os.Getenv("STEPGATE_BENCH_MODEL"); m != "" {
		return m
	}
	return "claude"
}
