package main

import (
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// sendOn runs a headers-only request on worker VM w; one that goes upstream is answered 200.
func sendOn(h *hostsim.Host, w int) (upstream bool, s *hostsim.Stream) {
	s = h.NewStream(hostsim.OnWorker(w))
	s.SendRequestHeaders(get("/a"), true)
	if s.LocalReply() != nil || s.Paused() {
		return false, s
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
	return true, s
}

// When the release tick runs late, max_queue still bounds what is held: requests held past their
// release time keep their places until they really leave, so a new one — on another worker, which
// cannot continue them — goes to the next step instead of joining them; the late tick then
// releases everything due at once.
func TestShapingBoundsHoldWhenTheTickRunsLate(t *testing.T) {
	h, vc := startFilter(t, `{"throttle":{"rules":[{"name":"paced","rate":"10/s","burst":1,
		"steps":[{"below":0,"action":"shape","max_delay":"505ms","max_queue":3}]}]}}`, 2)
	send := func(*hostsim.Host, string) (bool, *hostsim.Stream) { return sendOn(h, 0) }
	gauge := func() uint64 { m, _ := h.Metric("stepgate_shaped_requests.rule.paced"); return m.Value }
	if ok, _ := send(h, "/a"); !ok {
		t.Fatal("first request not admitted")
	}
	var held []*hostsim.Stream
	for i := 0; i < 3; i++ { // held 100, 200 and 300 ms
		ok, s := send(h, "/a")
		if ok || !s.RequestPaused() || s.LocalReply() != nil {
			t.Fatalf("request %d: want held", i)
		}
		held = append(held, s)
	}
	if _, s := send(h, "/a"); s.LocalReply() == nil || s.LocalReply().Status != 429 {
		t.Fatal("queue full: want 429")
	}
	// The tick is 350 ms late: all three are overdue, and all three still held.
	vc.AdvanceLate(350 * time.Millisecond)
	for i, s := range held {
		if !s.RequestPaused() {
			t.Fatalf("held request %d released without a tick", i)
		}
	}
	// The bucket has refilled 3.5 tokens but the queue is full of requests not yet gone: the
	// next request, on the other worker, is not held (here the next step is the implicit reject).
	if _, s := sendOn(h, 1); s.LocalReply() == nil || s.LocalReply().Status != 429 {
		t.Fatalf("with the queue full of overdue requests: %+v, want 429", s.LocalReply())
	}
	if g := gauge(); g != 3 {
		t.Fatalf("stepgate_shaped_requests = %d, want 3", g)
	}
	// The late tick releases all three at once, and their places are free again.
	vc.Advance(0)
	for i, s := range held {
		if s.RequestPaused() {
			t.Fatalf("held request %d still held after the late tick", i)
		}
	}
	if g := gauge(); g != 0 {
		t.Fatalf("stepgate_shaped_requests = %d after the late tick, want 0", g)
	}
	hist, _ := h.Metric("stepgate_shape_delay_ms.rule.paced.step.shape")
	if hist.Count != 3 || hist.Sum != 3*350 {
		t.Fatalf("shape delays: %d samples summing %d ms, want 3 × 350", hist.Count, hist.Sum)
	}
	// 0.5 token left after the three: the next request is held 50 ms, then two more fit.
	for i, want := range []time.Duration{50, 150, 250} { // on either worker: the queue is shared
		if ok, s := sendOn(h, i%2); ok || !s.RequestPaused() {
			t.Fatalf("after the release, request %d (hold %d ms): not held", i, want)
		}
	}
	if _, s := sendOn(h, 1); s.LocalReply() == nil {
		t.Fatal("a fourth held request: want 429")
	}
}

// A busy worker's tick runs late while its callbacks keep coming: a new request continues the
// held streams that are due before it is decided.
func TestNewRequestsContinueDueHeldStreams(t *testing.T) {
	h, vc := startFilter(t, `{"throttle":{"rules":[{"name":"paced","rate":"10/s","burst":1,
		"steps":[{"below":0,"action":"shape","max_delay":"505ms","max_queue":3}]}]}}`, 1)
	sendOn(h, 0)
	_, first := sendOn(h, 0)  // held 100 ms
	_, second := sendOn(h, 0) // held 200 ms
	vc.AdvanceLate(150 * time.Millisecond)
	ok, s := sendOn(h, 0)
	if first.RequestPaused() || !second.RequestPaused() {
		t.Fatalf("after a request at 150 ms: first paused %v, second paused %v; want the first continued",
			first.RequestPaused(), second.RequestPaused())
	}
	if ok || !s.RequestPaused() {
		t.Fatal("the new request: want held")
	}
	if first.Upstream().Headers.Get("x-stepgate-step") != "shape" {
		t.Fatal("the continued request did not reach the upstream")
	}
	hist, _ := h.Metric("stepgate_shape_delay_ms.rule.paced.step.shape")
	if hist.Count != 1 || hist.Sum != 150 {
		t.Fatalf("shape delays: %d samples summing %d ms, want one of 150", hist.Count, hist.Sum)
	}
}
