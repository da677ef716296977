package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// send runs a headers-only request through a new stream and reports whether it went upstream.
// Streams that went upstream get a 200; the stream is closed either way.
func send(h *hostsim.Host, path string) (upstream bool, s *hostsim.Stream) {
	s = h.NewStream()
	s.SendRequestHeaders(get(path), true)
	if lr := s.LocalReply(); lr != nil {
		return false, s
	}
	if s.Paused() {
		return false, s
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
	return true, s
}

const rpsRule = `{"throttle":{"rules":[{"name":"api","match":{"path_prefix":"/api/"},"rate":"2/s","burst":3}]}}`

func TestBurstIsAdmittedAndTheNextRejectedWithExactRetryAfter(t *testing.T) {
	h, vc := startFilter(t, rpsRule, 1)
	for i := 1; i <= 3; i++ {
		if ok, s := send(h, "/api/x"); !ok {
			t.Fatalf("request %d of the burst refused: %+v", i, s.LocalReply())
		}
	}
	ok, s := send(h, "/api/x")
	if ok {
		t.Fatal("request 4 (burst+1) went upstream")
	}
	lr := s.LocalReply()
	if lr == nil || lr.Status != 429 {
		t.Fatalf("request 4: local reply %+v, want 429", lr)
	}
	// Empty bucket at 2/s: one token is due in 500 ms, so Retry-After rounds up to 1 s.
	if got := lr.Headers.Get("retry-after"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := lr.Headers.Get("x-ratelimit-limit"); got != "3" {
		t.Errorf("X-RateLimit-Limit = %q, want 3", got)
	}
	if got := lr.Headers.Get("x-ratelimit-remaining"); got != "0" {
		t.Errorf("X-RateLimit-Remaining = %q, want 0", got)
	}
	if lr.Headers.Get("ratelimit-policy") == "" || lr.Headers.Get("ratelimit") == "" {
		t.Errorf("missing IETF RateLimit headers: %v", lr.Headers)
	}
	if got := gjsonGet(lr.Body, "error.type"); got != "requests" {
		t.Errorf("body error.type = %q, want requests; body %s", got, lr.Body)
	}
	// Paths outside the rule are not counted.
	if ok, _ := send(h, "/other"); !ok {
		t.Error("/other was throttled")
	}
	vc.Advance(499 * time.Millisecond)
	if ok, _ := send(h, "/api/x"); ok {
		t.Error("admitted 1 ns before the token is due")
	}
	vc.Advance(time.Millisecond)
	if ok, _ := send(h, "/api/x"); !ok {
		t.Error("refused when the token is due")
	}
}

func TestAllowedResponsesCarryRateLimitHeaders(t *testing.T) {
	h, _ := startFilter(t, rpsRule, 1)
	_, s := send(h, "/api/x")
	d := s.Downstream().Headers
	if d.Get("x-ratelimit-limit") != "3" || d.Get("x-ratelimit-remaining") != "2" {
		t.Errorf("allowed response headers: %v", d)
	}
}

// Held requests leave on a 5 ms tick, so holds are planned within max_delay − 5 ms.
const shapeRule = `{"throttle":{"rules":[{"name":"paced","rate":"10/s","burst":2,
	"steps":[{"below":0,"action":"shape","max_delay":"305ms","max_queue":8}]}]}}`

func TestShapingHoldsFIFOAndFallsThroughAfterMaxDelay(t *testing.T) {
	h, vc := startFilter(t, shapeRule, 1)
	for i := 0; i < 2; i++ {
		if ok, _ := send(h, "/a"); !ok {
			t.Fatalf("burst request %d not admitted", i)
		}
	}
	// Tokens come every 100 ms: the next three are held 100, 200 and 300 ms; the fourth would
	// need 400 ms > max_delay and falls through to the implicit reject.
	var held []*hostsim.Stream
	for i := 0; i < 3; i++ {
		ok, s := send(h, "/a")
		if ok || !s.RequestPaused() || s.LocalReply() != nil {
			t.Fatalf("request %d: want held, got upstream=%v paused=%v reply=%+v", i, ok, s.Paused(), s.LocalReply())
		}
		held = append(held, s)
	}
	if _, s := send(h, "/a"); s.LocalReply() == nil || s.LocalReply().Status != 429 {
		t.Fatalf("request beyond max_delay: want 429, got %+v", s.LocalReply())
	}
	released := func() (n int) {
		for _, s := range held {
			if !s.RequestPaused() {
				n++
			}
		}
		return n
	}
	for i, want := range []int{1, 2, 3} {
		vc.Advance(100 * time.Millisecond)
		if got := released(); got != want {
			t.Fatalf("after %d ms: %d released, want %d", (i+1)*100, got, want)
		}
		// FIFO: exactly the first `want` are released.
		for j, s := range held {
			if s.RequestPaused() != (j >= want) {
				t.Fatalf("after %d ms: stream %d paused=%v (not FIFO)", (i+1)*100, j, s.RequestPaused())
			}
		}
	}
	for _, s := range held {
		if s.Upstream().Headers.Get("x-stepgate-step") != "shape" {
			t.Errorf("held request not tagged: %v", s.Upstream().Headers)
		}
	}
}

// With 4 worker VMs sharing one bucket through shared data, concurrent streams are admitted
// exactly burst + rate×t times over a virtual interval: no over-admission.
func TestNoOverAdmissionAcrossWorkers(t *testing.T) {
	const workers, perRound, rounds = 4, 12, 10
	h, vc := startFilter(t, `{"throttle":{"rules":[{"name":"all","rate":"5/s","burst":7}]}}`, workers)
	var admitted atomic.Int64
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		for i := 0; i < perRound; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, _ := send(h, "/x"); ok {
					admitted.Add(1)
				}
			}()
		}
		wg.Wait()
		vc.Advance(200 * time.Millisecond) // one token per round
	}
	// t is the time of the last round: 9 × 200 ms = 1.8 s → 9 tokens after the burst of 7.
	if got, want := admitted.Load(), int64(7+9); got != want {
		t.Fatalf("admitted %d, want exactly %d", got, want)
	}
}

func gjsonGet(body []byte, path string) string {
	return fmt.Sprint(gjsonParse(body).Get(path).Value())
}
