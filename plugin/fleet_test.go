package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
)

// fakeRateLimit is envoyproxy/ratelimit's POST /json for one limit, counting fixed windows on the
// test's virtual clock, so that leases and resets are exact.
type fakeRateLimit struct {
	mu     sync.Mutex
	limit  int64
	window time.Duration
	now    func() time.Time
	counts map[int64]int64
	calls  []int64 // hitsAddend of every call
	mode   string  // "", "error" (500) or "hang" (never answers in time)
}

func (f *fakeRateLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	mode := f.mode
	hits := gjson.GetBytes(body, "hitsAddend").Int()
	if mode == "" {
		f.calls = append(f.calls, hits)
	}
	now := f.now().UnixNano()
	win := now / int64(f.window)
	f.counts[win] += hits
	rem, code, status := f.limit-f.counts[win], "OK", 200
	if rem < 0 {
		rem, code, status = 0, "OVER_LIMIT", 429
	}
	reset := time.Duration((win+1)*int64(f.window) - now)
	f.mu.Unlock()
	switch mode {
	case "error":
		http.Error(w, "Internal Server Error", 500)
		return
	case "hang":
		<-r.Context().Done()
		return
	}
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"overallCode":%q,"statuses":[{"code":%q,"currentLimit":{"requestsPerUnit":%d,"unit":"MINUTE"},"limitRemaining":%d,"durationUntilReset":"%.3fs"}]}`,
		code, code, f.limit, rem, reset.Seconds())
}

func (f *fakeRateLimit) set(mode string) {
	f.mu.Lock()
	f.mode = mode
	f.mu.Unlock()
}

func (f *fakeRateLimit) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// startFleet runs the filter with config on workers VMs, a virtual clock and a fake service on
// the cluster "ratelimit".
func startFleet(t *testing.T, config string, workers int, limit int64) (*hostsim.Host, *hostsim.VirtualClock, *fakeRateLimit) {
	t.Helper()
	vc := hostsim.NewVirtualClock(epoch)
	svc := &fakeRateLimit{limit: limit, window: time.Minute, now: vc.Now, counts: map[int64]int64{}}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: filterWasm(t), PluginConfig: []byte(config), Workers: workers, Clock: vc,
		PluginName: "stepgate", AllowOnHeadersStopIteration: true,
		Clusters: map[string]string{"ratelimit": srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return h, vc, svc
}

// sendWaiting sends a headers-only request; a stream waiting for a lease gets the call's answer
// delivered (WaitIdle) before the outcome is read. It reports whether the request went upstream.
func sendWaiting(t *testing.T, h *hostsim.Host, vc *hostsim.VirtualClock, path string, extra ...[2]string) (bool, *hostsim.Stream) {
	t.Helper()
	s := h.NewStream()
	s.SendRequestHeaders(get(path, extra...), true)
	for i := 0; i < 20 && s.Paused() && s.LocalReply() == nil; i++ {
		vc.Advance(time.Millisecond) // the tick sends the lease call
		waitIdle(t, h)
	}
	if s.LocalReply() != nil || s.Paused() {
		return false, s
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
	return true, s
}

const fleetRule = `{"throttle":{"rules":[{"name":"fleet-rpm","key":"header:x-tenant","rate":"20/min","scope":"fleet",
  "fail":"%s","fleet":{"min_block":5,"max_block":5,"timeout":"50ms","fallback":"25%%","retry":"1s"}}]}}`

func TestFleetRuleServesFromLeasesAndRejectsOverTheFleetLimit(t *testing.T) {
	h, vc, svc := startFleet(t, fmt.Sprintf(fleetRule, "closed"), 2, 20)
	vc.Advance(15 * time.Second) // 45 s before the service's minute ends
	tenant := [2]string{"x-tenant", "acme"}
	admitted := 0
	var last *hostsim.Stream
	for i := 0; i < 25; i++ {
		ok, s := sendWaiting(t, h, vc, "/v1/x", tenant)
		if ok {
			admitted++
		}
		last = s
	}
	if admitted != 20 {
		t.Errorf("admitted %d, want the fleet limit 20", admitted)
	}
	lr := last.LocalReply()
	if lr == nil || lr.Status != 429 || lr.Headers.Get("retry-after") != "45" {
		t.Fatalf("over the limit: %+v, want 429 with Retry-After 45 (durationUntilReset)", lr)
	}
	if got := gjson.GetBytes(lr.Body, "error.code").Str; got != "rate_limit_exceeded" {
		t.Errorf("body %s", lr.Body)
	}
	// One call per block of 5, at most, and one that found the limit reached.
	if n := svc.callCount(); n > 20/5+1 {
		t.Errorf("%d service calls for 20 admitted requests in blocks of 5", n)
	}
	vc.Advance(45 * time.Second) // the window resets
	if ok, s := sendWaiting(t, h, vc, "/v1/x", tenant); !ok {
		t.Errorf("after the reset: %+v", s.LocalReply())
	}
}

func TestFleetServiceHangingFailsClosedAtTheCallTimeoutAndRecovers(t *testing.T) {
	h, vc, svc := startFleet(t, fmt.Sprintf(fleetRule, "closed"), 2, 20)
	svc.set("hang")
	s := h.NewStream()
	s.SendRequestHeaders(get("/v1/x"), true)
	if !s.Paused() || s.LocalReply() != nil {
		t.Fatal("the first request did not wait for its lease")
	}
	vc.Advance(49 * time.Millisecond)
	if s.LocalReply() != nil {
		t.Fatal("answered before the call timeout")
	}
	vc.Advance(time.Millisecond)
	lr := s.LocalReply()
	if lr == nil || lr.Status != 503 {
		t.Fatalf("at the call timeout: %+v, want 503", lr)
	}
	if got := gjson.GetBytes(lr.Body, "error.code").Str; got != "rate_limit_state_unavailable" {
		t.Errorf("503 body %s", lr.Body)
	}
	waitIdle(t, h) // the call's own timeout: the rule is now in its fail mode
	if ok, s := sendWaiting(t, h, vc, "/v1/x"); ok || s.LocalReply() == nil || s.LocalReply().Status != 503 {
		for _, l := range h.Logs() {
			t.Log(l.Message)
		}
		t.Fatalf("while down: %+v, want an immediate 503", s.LocalReply())
	}
	findLogLine(t, h, "rate limit service unavailable")
	svc.set("")
	vc.Advance(time.Second) // the retry interval: the tick probes
	waitIdle(t, h)
	findLogLine(t, h, "fleet enforcement resumes")
	if ok, s := sendWaiting(t, h, vc, "/v1/x"); !ok {
		t.Fatalf("after recovery: %+v", s.LocalReply())
	}
}

func TestFleetServiceErrorFailsOpenToTheFallbackBucket(t *testing.T) {
	h, vc, svc := startFleet(t, fmt.Sprintf(fleetRule, "open"), 2, 20)
	svc.set("error")
	admitted := 0
	var last *hostsim.Stream
	for i := 0; i < 10; i++ {
		ok, s := sendWaiting(t, h, vc, "/v1/chat/completions")
		if ok {
			admitted++
		}
		last = s
	}
	// 25% of the fleet limit of 20: a fallback bucket of 5 for this Envoy.
	if admitted != 5 {
		t.Errorf("fail open admitted %d, want the fallback bucket's 5", admitted)
	}
	if lr := last.LocalReply(); lr == nil || lr.Status != 429 {
		t.Errorf("past the fallback bucket: %+v, want 429", lr)
	}
}

func waitIdle(t testing.TB, h *hostsim.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

func findLogLine(t *testing.T, h *hostsim.Host, substr string) {
	t.Helper()
	for _, l := range h.Logs() {
		if contains(l.Message, substr) {
			return
		}
	}
	t.Fatalf("no log line contains %q", substr)
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
