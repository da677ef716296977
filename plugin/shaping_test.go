package main

import (
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// When the release tick runs late, max_queue still bounds what is held: requests held past their
// release time keep their places until they really leave, so a new one goes to the next step
// instead of joining them; the late tick then releases everything due at once.
func TestShapingBoundsHoldWhenTheTickRunsLate(t *testing.T) {
	h, vc := startFilter(t, `{"throttle":{"rules":[{"name":"paced","rate":"10/s","burst":1,
		"steps":[{"below":0,"action":"shape","max_delay":"505ms","max_queue":3}]}]}}`, 1)
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
	// next request is not held (here the next step is the implicit reject).
	if _, s := send(h, "/a"); s.LocalReply() == nil || s.LocalReply().Status != 429 {
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
	// 0.5 token left after the three: the next request is held 50 ms, then three more fit.
	for i, want := range []time.Duration{50, 150, 250} {
		if ok, s := send(h, "/a"); ok || !s.RequestPaused() {
			t.Fatalf("after the release, request %d (hold %d ms): not held", i, want)
		}
	}
	if _, s := send(h, "/a"); s.LocalReply() == nil {
		t.Fatal("a fourth held request: want 429")
	}
}
