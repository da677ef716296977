package hostsim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

func TestStartupRunsCanaryThenEveryWorker(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) {
		c.Workers = 2
		c.VMConfig = []byte("vmcfg")
		c.PluginConfig = []byte(`{}`)
		c.Env = map[string]string{"PROBE_ENV": "e1"}
	})
	var starts, configures []int
	for _, e := range h.Logs() {
		switch {
		case strings.HasPrefix(e.Message, "probe: vm-start"):
			wantEqual(t, "vm-start line", e.Message, `probe: vm-start size=5 config="vmcfg" err=<nil> env="e1"`)
			starts = append(starts, e.Worker)
		case strings.HasPrefix(e.Message, "probe: configure size=2 root=1"):
			configures = append(configures, e.Worker)
		}
	}
	// The configuration canary (worker -1) runs first, then each worker; root ids start at 1.
	wantEqual(t, "vm starts", len(starts), 3)
	wantEqual(t, "configures", len(configures), 3)
	if starts[0] != -1 || starts[1] != 0 || starts[2] != 1 {
		t.Fatalf("start order by worker = %v, want [-1 0 1]", starts)
	}
	wantEqual(t, "workers", h.Workers(), 2)
}

func TestBadConfigurationIsRefusedWithThePluginsMessage(t *testing.T) {
	module := hostsimtest.Plugin(t, "probe")
	tests := []struct {
		config, want string
	}{
		{`{"tick_ms": 5, "tick": 1}`, `json: unknown field "tick"`},
		{`{"fail": "throttle.rules[2].steps[1].action: unknown action \"slow\""}`,
			`probe config: throttle.rules[2].steps[1].action: unknown action "slow"`},
	}
	for _, tt := range tests {
		_, err := hostsim.New(context.Background(), hostsim.Config{Module: module, PluginName: "probe", PluginConfig: []byte(tt.config)})
		if err == nil {
			t.Fatalf("config %s accepted", tt.config)
		}
		if !strings.Contains(err.Error(), "proxy_on_configure returned false") || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("error %q does not explain %q", err, tt.want)
		}
	}
}

func TestVMStartFalseIsRefused(t *testing.T) {
	_, err := hostsim.New(context.Background(), hostsim.Config{Module: hostsimtest.Plugin(t, "probe"), VMConfig: []byte("refuse")})
	if err == nil || !strings.Contains(err.Error(), "proxy_on_vm_start returned false") {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamCallbackOrder(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	wantEqual(t, "request headers", s.SendRequestHeaders(request(""), false), hostsim.Continue)
	wantEqual(t, "request body", s.SendRequestBody([]byte("hello"), false), hostsim.Continue)
	wantEqual(t, "request trailers", s.SendRequestTrailers(hostsim.Headers{{"x-t", "1"}}), hostsim.Continue)
	wantEqual(t, "response headers", s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false), hostsim.Continue)
	wantEqual(t, "response body", s.SendResponseBody([]byte("world"), false), hostsim.Continue)
	wantEqual(t, "done before trailers", s.Done(), false)
	wantEqual(t, "response trailers", s.SendResponseTrailers(hostsim.Headers{{"grpc-status", "0"}}), hostsim.Continue)
	wantEqual(t, "done", s.Done(), true)
	wantStrings(t, "callbacks", names(s.Callbacks()), []string{
		"proxy_on_context_create(2, 1)",
		"proxy_on_request_headers(2, 6, 0)",
		"proxy_on_request_body(2, 5, 0)",
		"proxy_on_request_trailers(2, 1)",
		"proxy_on_response_headers(2, 1, 0)",
		"proxy_on_response_body(2, 5, 0)",
		"proxy_on_response_trailers(2, 1)",
		"proxy_on_log(2)",
		"proxy_on_done(2)",
		"proxy_on_delete(2)",
	})
	up := s.Upstream()
	wantEqual(t, "upstream body", string(up.Body), "hello")
	wantEqual(t, "upstream trailer", up.Trailers.Get("x-t"), "1")
	wantEqual(t, "upstream end", up.End, true)
	down := s.Downstream()
	wantEqual(t, "downstream header added by plugin", down.Headers.Get("x-probe-resp"), "1")
	wantEqual(t, "downstream body", string(down.Body), "world")
	// In on_log Envoy still shows the request and response headers (read-only).
	findLog(t, h, `log ctx=2 path="/v1/models?limit=2" err=<nil> status="200" err=<nil> add=`+errBad+` code=200 err=<nil> duration-bytes=8 err=<nil>`)
	// Context ids are not reused: the next stream gets 3.
	s2 := h.NewStream()
	wantEqual(t, "next id", s2.ID(), uint32(3))
}

func TestHeadersOnlyRequestHasNoBodyCallback(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request(""), true)
	wantEqual(t, "upstream end", s.Upstream().End, true)
	s.SendResponseHeaders(hostsim.Headers{{":status", "204"}}, true)
	wantStrings(t, "callbacks", names(s.Callbacks()), []string{
		"proxy_on_context_create(2, 1)",
		"proxy_on_request_headers(2, 6, 1)",
		"proxy_on_response_headers(2, 1, 1)",
		"proxy_on_log(2)", "proxy_on_done(2)", "proxy_on_delete(2)",
	})
}

func TestMissingRequestIDIsGenerated(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(hostsim.Headers{{":method", "GET"}, {":path", "/"}, {":authority", "a"}}, true)
	if id := s.Upstream().Headers.Get("x-request-id"); len(id) != 36 {
		t.Fatalf("x-request-id = %q, want a UUID", id)
	}
}

// Envoy's meaning of what on_request_headers returns.
func TestHeaderCallbackReturnValues(t *testing.T) {
	h, _ := newProbe(t, nil)
	tests := []struct {
		ret       string
		want      hostsim.FilterStatus
		forwarded bool
	}{
		{"0", hostsim.Continue, true},
		{"1", hostsim.StopAllIterationAndWatermark, false}, // a plain Stop is stop-all
		{"2", hostsim.Continue, true},                      // ContinueAndEndStream continues
		{"3", hostsim.StopAllIterationAndBuffer, false},
		{"4", hostsim.StopAllIterationAndWatermark, false},
		{"9", hostsim.StopAllIterationAndWatermark, false}, // out of range stops
	}
	for _, tt := range tests {
		s := h.NewStream()
		got := s.SendRequestHeaders(request("req-headers-action="+tt.ret), false)
		wantEqual(t, "status for "+tt.ret, got, tt.want)
		wantEqual(t, "forwarded for "+tt.ret, s.Upstream().Headers != nil, tt.forwarded)
		wantEqual(t, "paused for "+tt.ret, s.Paused(), !tt.forwarded)
		s.Close()
	}
}

func TestCloseEndsTheStream(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("pause-headers"), false)
	s.Close()
	wantEqual(t, "done", s.Done(), true)
	wantEqual(t, "reset", s.WasReset(), true)
	cbs := names(s.Callbacks())
	wantStrings(t, "teardown", cbs[len(cbs)-3:], []string{"proxy_on_log(2)", "proxy_on_done(2)", "proxy_on_delete(2)"})
	wantEqual(t, "later input ignored", s.SendRequestBody([]byte("x"), true), hostsim.NotCalled)
}

// A root context that answers false to on_done keeps running until it calls proxy_done.
func TestCloseWaitsForPluginDone(t *testing.T) {
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: hostsimtest.Plugin(t, "probe"), PluginConfig: []byte(`{"tick_ms": 5, "done_later": true}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, l := range probeLogs(h) {
		if strings.HasPrefix(l, "plugin done") {
			order = append(order, l)
		}
	}
	wantStrings(t, "shutdown", order, []string{"plugin done asked later=true", "plugin done now"})
}

func TestLogCapacityKeepsTheNewestLines(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) { c.LogCapacity = 3 })
	for i := 0; i < 5; i++ {
		h.NewStream().SendRequestHeaders(request(""), true)
	}
	logs := h.Logs()
	wantEqual(t, "kept", len(logs), 3)
	wantEqual(t, "newest last", logs[2].Message, "probe: req-headers ctx=6 n=6 eos=true")
}

// A plugin that registers in main() (TinyGo style) works: the bridge runs main once.
func TestPluginRegisteringInMainRuns(t *testing.T) {
	h, err := hostsim.New(context.Background(), hostsim.Config{Module: hostsimtest.Plugin(t, "mainreg"), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	var started int
	for _, e := range h.Logs() {
		if e.Message == "mainreg: registered from main" {
			started++
		}
	}
	wantEqual(t, "plugin starts (canary + 2 workers)", started, 3)
	s := h.NewStream()
	s.SendRequestHeaders(request(""), true)
	lr := s.LocalReply()
	if lr == nil || lr.Status != 418 || string(lr.Body) != "from main" {
		t.Fatalf("local reply = %+v", lr)
	}
}
