package main

// These tests load the real build/stepgate.wasm into hostsim and drive it as Envoy would.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

var epoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// filterWasm is the filter built once per test binary (see hostsimtest.Stepgate), so that
// `go test ./plugin/` never runs a stale module; STEPGATE_TEST_WASM names a prebuilt module to
// test instead (for example an unstripped build for profiling).
func filterWasm(t testing.TB) []byte { return hostsimtest.Stepgate(t) }

// startFilter runs the filter with config on workers VMs and a virtual clock.
func startFilter(t *testing.T, config string, workers int) (*hostsim.Host, *hostsim.VirtualClock) {
	t.Helper()
	vc := hostsim.NewVirtualClock(epoch)
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: filterWasm(t), PluginConfig: []byte(config), Workers: workers, Clock: vc,
		PluginName: "stepgate", AllowOnHeadersStopIteration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return h, vc
}

func get(path string, extra ...[2]string) hostsim.Headers {
	return append(hostsim.Headers{{":method", "GET"}, {":scheme", "http"}, {":path", path},
		{":authority", "gw.local"}}, extra...)
}

func post(path string, extra ...[2]string) hostsim.Headers {
	return append(hostsim.Headers{{":method", "POST"}, {":scheme", "http"}, {":path", path},
		{":authority", "gw.local"}, {"content-type", "application/json"}}, extra...)
}

func TestBadConfigurationIsRefusedNamingTheField(t *testing.T) {
	tests := []struct{ config, want string }{
		{`{"log":{"level":"loud"}}`, `log.level: unknown level "loud"`},
		{`{"throttle":{"rules":[{"name":"r","rate":"0/s","burst":1}]}}`, `throttle.rules[0].rate`},
		{`{"throttle":{"rules":[{"name":"r","rate":"1/s","burst":2,"steps":[{"below":1,"action":"slow"}]}]}}`, `throttle.rules[0].steps[0].action`},
		{`{"providers":{"p":{"type":"nope","cluster":"c"}}}`, `providers.p.type`},
		{`{"log":`, `configuration: invalid JSON`},
	}
	for _, tt := range tests {
		_, err := hostsim.New(context.Background(), hostsim.Config{Module: filterWasm(t), PluginConfig: []byte(tt.config)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %s: err = %v, want it to name %q", tt.config, err, tt.want)
		}
	}
}

func TestPassThroughAddsVersionAndLogsTheCall(t *testing.T) {
	h, _ := startFilter(t, `{}`, 1)
	s := h.NewStream()
	if st := s.SendRequestHeaders(get("/healthz", [2]string{"x-request-id", "r-1"}), true); st != hostsim.Continue {
		t.Fatalf("request headers = %v, want Continue", st)
	}
	if got := s.Upstream().Headers.Get(":path"); got != "/healthz" {
		t.Fatalf("upstream :path = %q", got)
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-length", "2"}}, false)
	s.SendResponseBody([]byte("ok"), true)
	if got := s.Downstream().Headers.Get("x-stepgate"); got == "" {
		t.Errorf("response lacks x-stepgate; headers %v", s.Downstream().Headers)
	}
	if string(s.Downstream().Body) != "ok" {
		t.Errorf("body = %q, want ok", s.Downstream().Body)
	}
	rec := callRecord(t, h, "r-1")
	// No rule took a step: the record has none and the metric says "none".
	if rec.Get("status").Int() != 200 || rec.Get("path").Str != "/healthz" || rec.Get("method").Str != "GET" ||
		rec.Get("step").Exists() {
		t.Errorf("call record = %s", rec.Raw)
	}
	if _, ok := h.Metric("stepgate_requests_total.tenant.anonymous.route.none.model.unknown.provider.none.step.none.status.200"); !ok {
		t.Errorf("no requests_total with step none; have %v", h.Metrics())
	}
}

// A client cannot pick the cluster or feed the fleet limiter: x-stepgate-* request headers are
// the filter's own.
func TestClientCannotSetInternalHeaders(t *testing.T) {
	h, _ := startFilter(t, `{}`, 1)
	s := h.NewStream()
	s.SendRequestHeaders(get("/x", [2]string{"x-stepgate-cluster", "provider_openai"},
		[2]string{"x-stepgate-token-estimate", "1"}, [2]string{"x-other", "kept"},
		[2]string{"x-stepgate-some-future-header", "2"}), true)
	up := s.Upstream().Headers
	if up.Get("x-stepgate-cluster") != "" || up.Get("x-stepgate-token-estimate") != "" ||
		up.Get("x-stepgate-some-future-header") != "" {
		t.Errorf("internal headers forwarded: %v", up)
	}
	if up.Get("x-other") != "kept" {
		t.Errorf("other headers lost: %v", up)
	}
}

// callRecord finds the JSON call record of a request id among the filter's info logs.
func callRecord(t *testing.T, h *hostsim.Host, requestID string) gjson.Result {
	t.Helper()
	for _, e := range h.Logs() {
		if json.Valid([]byte(e.Message)) {
			if r := gjson.Parse(e.Message); r.Get("request_id").Str == requestID {
				return r
			}
		}
	}
	t.Fatalf("no call record for %s in the logs", requestID)
	return gjson.Result{}
}

func gjsonParse(b []byte) gjson.Result { return gjson.ParseBytes(b) }
