package hostsim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// A local reply takes effect when the callback returns, forces a stop even though the plugin
// answered Continue, and runs through the plugin's own response callbacks.
func TestLocalReplyFromRequestHeaders(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	wantEqual(t, "forced stop", s.SendRequestHeaders(request("local-reply=req-headers"), false), hostsim.StopAllIterationAndWatermark)
	findLog(t, h, "local-reply sent err=<nil>")
	wantEqual(t, "nothing upstream", s.Upstream().Headers == nil, true)
	down := s.Downstream()
	wantStrings(t, "reply headers", headerLines(down.Headers), []string{
		":status: 403", "x-probe-reply: 1", "content-type: application/json", "content-length: 15", "x-probe-resp: 1",
	})
	wantEqual(t, "body", string(down.Body), `{"denied":true}`)
	wantEqual(t, "end", down.End, true)
	wantStrings(t, "callbacks", names(s.Callbacks()), []string{
		"proxy_on_context_create(2, 1)",
		"proxy_on_request_headers(2, 6, 0)",
		"proxy_on_response_headers(2, 4, 0)",
		"proxy_on_response_body(2, 15, 1)",
		"proxy_on_log(2)", "proxy_on_done(2)", "proxy_on_delete(2)",
	})
	// The request body that arrives later is not given to the plugin.
	wantEqual(t, "late body", s.SendRequestBody([]byte("x"), true), hostsim.NotCalled)
	// And an upstream answer that arrives anyway is dropped.
	wantEqual(t, "late response", s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true), hostsim.NotCalled)
}

func TestLocalReplyFromResponseHeadersGoesStraightToTheClient(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("local-reply=resp-headers"), true)
	wantEqual(t, "forced stop", s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"x-up", "1"}}, false), hostsim.StopAllIterationAndWatermark)
	down := s.Downstream()
	wantStrings(t, "reply headers", headerLines(down.Headers), []string{
		":status: 403", "x-probe-reply: 1", "content-type: application/json", "content-length: 15",
	})
	wantEqual(t, "done", s.Done(), true)
	wantEqual(t, "one response callback", strings.Count(strings.Join(names(s.Callbacks()), ";"), "proxy_on_response_headers"), 1)
	wantEqual(t, "upstream body dropped", s.SendResponseBody([]byte("x"), true), hostsim.NotCalled)
}

func TestLocalReplyAfterResponseHeadersLeftResetsTheStream(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("local-reply=resp-body"), true)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false)
	s.SendResponseBody([]byte("partial"), false)
	wantEqual(t, "reset", s.WasReset(), true)
	wantEqual(t, "client had 200", s.Downstream().Headers.Get(":status"), "200")
	wantEqual(t, "no local reply body", len(s.Downstream().Body), 0)
}

func TestCloseStreamResetsAfterTheCallback(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("close=req-headers"), false)
	findLog(t, h, "close request status=0")
	wantEqual(t, "reset", s.WasReset(), true)
	wantEqual(t, "details", s.ResponseCodeDetails(), "wasm_close_stream")
	wantEqual(t, "done", s.Done(), true)
}

// The throttling pattern: pause in on_request_headers, resume from on_tick through
// set_effective_context + continue_stream, on virtual time.
func TestTickResumesAPausedRequest(t *testing.T) {
	h, vc := newProbe(t, func(c *hostsim.Config) { c.PluginConfig = []byte(`{"tick_ms": 50}`) })
	s := h.NewStream()
	wantEqual(t, "paused", s.SendRequestHeaders(request("resume-on-tick"), true), hostsim.StopAllIterationAndWatermark)
	vc.Advance(49 * time.Millisecond)
	wantEqual(t, "still paused at 49ms", s.Paused(), true)
	vc.Advance(time.Millisecond)
	wantEqual(t, "resumed at 50ms", s.Paused(), false)
	findLog(t, h, fmt.Sprintf("tick 1 now=%d", epoch.Add(50*time.Millisecond).UnixNano()))
	findLog(t, h, "tick resumed 2 err=<nil>")
	up := s.Upstream()
	wantEqual(t, "forwarded", up.Headers.Get(":path"), "/v1/models?limit=2")
	wantEqual(t, "end", up.End, true)
	vc.Advance(100 * time.Millisecond)
	findLog(t, h, fmt.Sprintf("tick 3 now=%d", epoch.Add(150*time.Millisecond).UnixNano()))
}

func TestTickRejectsAPausedRequest(t *testing.T) {
	h, vc := newProbe(t, func(c *hostsim.Config) { c.PluginConfig = []byte(`{"tick_ms": 10}`) })
	s := h.NewStream()
	s.SendRequestHeaders(request("reject-on-tick"), false)
	vc.Advance(10 * time.Millisecond)
	down := s.Downstream()
	wantEqual(t, "status", down.Headers.Get(":status"), "429")
	wantEqual(t, "retry-after", down.Headers.Get("retry-after"), "1")
	wantEqual(t, "body", string(down.Body), "slow down")
	wantEqual(t, "done", s.Done(), true)
}

func TestTicksPerWorkerOnTheRealClock(t *testing.T) {
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: hostsimtest.Plugin(t, "probe"), Workers: 2, PluginConfig: []byte(`{"tick_ms": 5}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	s := h.NewStream(hostsim.OnWorker(1))
	s.SendRequestHeaders(request("resume-on-tick"), true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Await(ctx, func(s *hostsim.Stream) bool { return !s.Paused() }); err != nil {
		t.Fatalf("not resumed: %v", err)
	}
	// Each worker's root context ticks on its own.
	seen := map[int]bool{}
	for _, e := range h.Logs() {
		if strings.HasPrefix(e.Message, "probe: tick ") {
			seen[e.Worker] = true
		}
	}
	if !seen[0] || !seen[1] {
		t.Fatalf("ticks by worker: %v", seen)
	}
}

func TestContinueInsideThePausingCallback(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("continue-in-callback"), true)
	findLog(t, h, "resumed inside callback err=<nil>")
	wantEqual(t, "not paused", s.Paused(), false)
	wantEqual(t, "forwarded", s.Upstream().End, true)
}

// A trap fails the stream with 503 and breaks the VM: later streams on it are answered 503
// without calling the plugin, other workers carry on.
func TestTrapFailsTheStreamAndTheVM(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) { c.Workers = 2 })
	s := h.NewStream(hostsim.OnWorker(0))
	wantEqual(t, "status", s.SendRequestHeaders(request("trap=req-headers"), false), hostsim.StopAllIterationAndWatermark)
	down := s.Downstream()
	wantEqual(t, "503", down.Headers.Get(":status"), "503")
	wantEqual(t, "empty body", len(down.Body), 0)
	wantEqual(t, "details", s.ResponseCodeDetails(), "wasm_fail_stream")
	wantEqual(t, "failed", h.Failed(0), true)
	wantEqual(t, "other worker fine", h.Failed(1), false)
	cbs := names(s.Callbacks())
	wantStrings(t, "no teardown on a failed VM", cbs, []string{"proxy_on_context_create(2, 1)", "proxy_on_request_headers(2, 6, 0) trapped"})
	var failure string
	for _, e := range h.Logs(hostsim.LevelError) {
		if e.Host {
			failure = e.Message
		}
	}
	if !strings.HasPrefix(failure, "Wasm VM failed Function: proxy_on_request_headers failed: wasm error: unreachable") {
		t.Fatalf("failure log = %q", failure)
	}
	// The Go runtime's panic message reached stderr, logged at error.
	found := false
	for _, e := range h.Logs(hostsim.LevelError) {
		found = found || strings.Contains(e.Message, "probe trap in request headers")
	}
	wantEqual(t, "panic text logged", found, true)

	later := h.NewStream(hostsim.OnWorker(0))
	later.SendRequestHeaders(request(""), true)
	wantEqual(t, "later 503", later.Downstream().Headers.Get(":status"), "503")
	wantEqual(t, "no plugin calls", len(later.Callbacks()), 0)

	other := h.NewStream(hostsim.OnWorker(1))
	wantEqual(t, "other worker continues", other.SendRequestHeaders(request(""), true), hostsim.Continue)
}

func TestTrapFailOpen(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) { c.FailOpen = true })
	s := h.NewStream()
	wantEqual(t, "continues", s.SendRequestHeaders(request("trap=req-headers"), true), hostsim.Continue)
	wantEqual(t, "forwarded", s.Upstream().End, true)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
	wantEqual(t, "response passes", s.Downstream().Headers.Get(":status"), "200")
	later := h.NewStream()
	wantEqual(t, "bypassed", later.SendRequestHeaders(request(""), true), hostsim.NotCalled)
	wantEqual(t, "no context", later.ID(), uint32(0))
	wantEqual(t, "forwarded", later.Upstream().End, true)
}

func headerLines(h hostsim.Headers) []string {
	out := make([]string, len(h))
	for i, p := range h {
		out[i] = p[0] + ": " + p[1]
	}
	return out
}

// set_effective_context to a stream that has ended is BAD_ARGUMENT.
func TestEffectiveContextOfAnEndedStream(t *testing.T) {
	h, vc := newProbe(t, func(c *hostsim.Config) { c.PluginConfig = []byte(`{"tick_ms": 10}`) })
	s := h.NewStream()
	s.SendRequestHeaders(request("resume-on-tick"), true)
	s.Close()
	vc.Advance(10 * time.Millisecond)
	findLog(t, h, "tick set-effective 2: "+errBad)
}

// The throttling pattern with the pause in the body: the buffered body goes out on resume.
func TestTickResumesAPausedBody(t *testing.T) {
	h, vc := newProbe(t, func(c *hostsim.Config) { c.PluginConfig = []byte(`{"tick_ms": 20}`) })
	s := h.NewStream()
	s.SendRequestHeaders(request("resume-body-on-tick"), false)
	wantEqual(t, "headers went ahead", s.Upstream().Headers.Get(":path"), "/v1/models?limit=2")
	wantEqual(t, "chunk", s.SendRequestBody([]byte("ab"), false), hostsim.StopIterationAndBuffer)
	wantEqual(t, "last", s.SendRequestBody([]byte("cd"), true), hostsim.StopIterationAndBuffer)
	wantEqual(t, "held", len(s.Upstream().Body), 0)
	vc.Advance(20 * time.Millisecond)
	up := s.Upstream()
	wantEqual(t, "released body", string(up.Body), "abcd")
	wantEqual(t, "end", up.End, true)
	wantEqual(t, "resumed", s.Paused(), false)
}

// A tick period of 0 disables the root context's timer.
func TestTickPeriodZeroStopsTicks(t *testing.T) {
	h, vc := newProbe(t, func(c *hostsim.Config) { c.PluginConfig = []byte(`{"tick_ms": 10}`) })
	vc.Advance(10 * time.Millisecond)
	findLog(t, h, "tick 1 ")
	h.NewStream().SendRequestHeaders(request("stop-tick"), true)
	findLog(t, h, "stop-tick err=<nil>")
	vc.Advance(time.Second)
	for _, l := range probeLogs(h) {
		if strings.HasPrefix(l, "tick 2 ") {
			t.Fatal("ticked after the period was set to 0")
		}
	}
}
