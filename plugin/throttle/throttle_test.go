package throttle

import (
	"slices"
	"testing"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
)

func TestBurstThenRefill(t *testing.T) {
	for _, tc := range []struct {
		rate  string
		burst int
		every int64 // ns per token
	}{
		{"1/s", 5, sec},
		{"3/s", 2, 333_333_334}, // 1/3 s, rounded up to the next whole nanosecond
		{"100/min", 100, 600 * ms},
		{"0.5/s", 1, 2 * sec},
		{"7/10s", 3, 1_428_571_429},
	} {
		t.Run(tc.rate, func(t *testing.T) {
			th := newThrottler(t, oneRule(`{"name":"r","rate":"`+tc.rate+`","burst":`+itoa(int64(tc.burst))+`}`), nil)
			req := &Request{Path: "/"}
			got := allAt(th, 0, req, tc.burst+1)
			want := slices.Repeat([]Action{Allow}, tc.burst)
			want = append(want, Reject)
			if !slices.Equal(got, want) {
				t.Fatalf("at 0: %v, want %v", got, want)
			}
			if d := th.Decide(tc.every-1, req); d.Action != Reject {
				t.Fatalf("1ns before the next token: %v, want reject", d.Action)
			}
			if d := th.Decide(tc.every, req); d.Action != Allow {
				t.Fatalf("when the next token is due: %v, want allow", d.Action)
			}
			if d := th.Decide(tc.every, req); d.Action != Reject {
				t.Fatalf("second request on one token: %v, want reject", d.Action)
			}
		})
	}
}

// Over a long run the admitted count is exactly burst + rate × t: nothing drifts.
func TestNoDrift(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"7/3s","burst":4}`), nil)
	req := &Request{}
	admitted := 0
	const step = 37 * ms
	end := int64(3 * 3600 * sec)
	for now := int64(0); now <= end; now += step {
		for th.Decide(now, req).Action == Allow {
			admitted++
		}
	}
	last := end / step * step
	want := 4 + int(7*last/(3*sec))
	if admitted != want {
		t.Fatalf("admitted %d over %v, want %d", admitted, time.Duration(last), want)
	}
}

func TestRetryAfterIsTheBucketsArithmetic(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"3/s","burst":2}`), nil)
	req := &Request{}
	allAt(th, 0, req, 2)
	d := th.Decide(100*ms, req)
	o := outcome(t, &d)
	// One token is 1/3 s; 100 ms have refilled 0.3 of it.
	if want := time.Duration(333_333_334 - 100*ms); o.RetryAfter != want {
		t.Fatalf("RetryAfter = %v, want %v", o.RetryAfter, want)
	}
	if d.RetryAfter != 1 || d.Status != 429 {
		t.Fatalf("Retry-After %d, status %d; want 1, 429", d.RetryAfter, d.Status)
	}
	if th.Decide(100*ms+int64(o.RetryAfter)-1, req).Action != Reject {
		t.Fatal("admitted before Retry-After")
	}
	if th.Decide(100*ms+int64(o.RetryAfter), req).Action != Allow {
		t.Fatal("rejected at Retry-After")
	}
}

func TestRetryAfterSecondsRoundUp(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/min","burst":1}`), nil)
	req := &Request{}
	th.Decide(0, req)
	for _, tc := range []struct {
		now  int64
		want int64
	}{{0, 60}, {1, 60}, {sec - 1, 60}, {sec, 59}, {59 * sec, 1}, {60*sec - 1, 1}} {
		d := th.Decide(tc.now, req)
		if d.Action != Reject || d.RetryAfter != tc.want {
			t.Errorf("at %v: %v Retry-After %d, want reject %d", time.Duration(tc.now), d.Action, d.RetryAfter, tc.want)
		}
	}
}

func TestStepsSwitchAtTheirThresholds(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/s","burst":10,"steps":[
		{"below":"50%","action":"degrade","model":"mini"},
		{"below":2,"action":"reject"}]}`), nil)
	req := &Request{}
	// Level after each request: 9 8 7 6 5 | 4 3 2 | 1 → reject (below 2 tokens).
	got := allAt(th, 0, req, 9)
	want := []Action{Allow, Allow, Allow, Allow, Allow, Degrade, Degrade, Degrade, Reject}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A rejected request takes nothing: the level is still 2, the next one is still rejected, and
	// after one second (one token) the level after a request is 2 again: degrade.
	if a := th.Decide(sec-1, req).Action; a != Reject {
		t.Fatalf("before a token refilled: %v", a)
	}
	d := th.Decide(sec, req)
	if d.Action != Degrade || d.Degrade.Model != "mini" {
		t.Fatalf("after a token refilled: %v %q", d.Action, d.Degrade.Model)
	}
}

func TestShapeReleasesFIFOWithinMaxDelay(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"10/s","burst":5,"steps":[
		{"below":0,"action":"shape","max_delay":"1s","max_queue":100}]}`), nil)
	req := &Request{}
	if got := allAt(th, 0, req, 5); countAction(got, Allow) != 5 {
		t.Fatalf("burst: %v", got)
	}
	// Requests 6..15 are held 100 ms apart, in arrival order; the 16th would wait 1.1 s.
	for i := 1; i <= 10; i++ {
		d := th.Decide(0, req)
		if d.Action != Shape || d.Delay != time.Duration(int64(i)*100*ms) {
			t.Fatalf("held request %d: %v delay %v, want shape %v", i, d.Action, d.Delay, time.Duration(int64(i)*100*ms))
		}
		if h := headerMap(d.RequestHeaders(nil)); h["x-stepgate-step"] != "shape" {
			t.Fatalf("request headers %v", h)
		}
	}
	d := th.Decide(0, req)
	if d.Action != Reject {
		t.Fatalf("past max_delay: %v, want reject", d.Action)
	}
	if o := outcome(t, &d); o.RetryAfter != 100*time.Millisecond {
		t.Fatalf("RetryAfter %v, want 100ms (then the wait is exactly max_delay)", o.RetryAfter)
	}
	if d := th.Decide(100*ms, req); d.Action != Shape || d.Delay != time.Second {
		t.Fatalf("at 100ms: %v %v, want shape 1s", d.Action, d.Delay)
	}
}

func TestShapeQueueBound(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"10/s","burst":1,"steps":[
		{"below":0,"action":"shape","max_delay":"10s","max_queue":3}]}`), nil)
	req := &Request{}
	var got []Action
	var first Decision
	for i := 0; i < 5; i++ {
		d := th.Decide(0, req)
		if i == 1 {
			first = d
		}
		got = append(got, d.Action)
	}
	want := []Action{Allow, Shape, Shape, Shape, Reject}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// The queue frees a place when the first held request is released, at 100 ms.
	d := th.Decide(50*ms, req)
	if o := outcome(t, &d); d.Action != Reject || o.RetryAfter != 50*time.Millisecond {
		t.Fatalf("at 50ms: %v RetryAfter %v, want reject 50ms", d.Action, o.RetryAfter)
	}
	// Held requests count until they have really left: a late release keeps the queue full.
	if d := th.Decide(150*ms, req); d.Action != Reject {
		t.Fatalf("at 150ms, the first held request still held: %v, want reject", d.Action)
	}
	th.Resume(150*ms, &first.Reservation)
	th.Resume(150*ms, &first.Reservation) // twice is harmless
	if d := th.Decide(150*ms, req); d.Action != Shape || d.Delay != 250*time.Millisecond {
		t.Fatalf("at 150ms, after the release: %v %v, want shape 250ms", d.Action, d.Delay)
	}
	if d := th.Decide(150*ms, req); d.Action != Reject {
		t.Fatalf("queue full again: %v, want reject", d.Action)
	}
}

// A held request that is never reported gone (its worker VM failed) keeps its place only for a
// while after its release time.
func TestAbandonedHoldsLeaveTheQueue(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/h","burst":1,"steps":[
		{"below":0,"action":"shape","max_delay":"1h","max_queue":1}]}`), nil)
	req := &Request{}
	th.Decide(0, req)
	if d := th.Decide(0, req); d.Action != Shape || d.Delay != time.Hour {
		t.Fatal(d.Action, d.Delay)
	}
	hour := int64(time.Hour)
	if d := th.Decide(hour+abandonAfter-1, req); d.Action != Reject {
		t.Fatalf("before abandonAfter: %v, want reject (the queue is full)", d.Action)
	}
	if d := th.Decide(hour+abandonAfter, req); d.Action != Shape {
		t.Fatalf("after abandonAfter: %v, want shape", d.Action)
	}
}

// A hold is planned within max_delay − ReleaseSlack, so that a release that late still keeps
// within max_delay.
func TestReleaseSlackShortensTheLongestHold(t *testing.T) {
	cfg := mustParse(t, oneRule(`{"name":"r","rate":"10/s","burst":1,"steps":[
		{"below":0,"action":"shape","max_delay":"300ms"}]}`))
	cfg.ReleaseSlack = 5 * time.Millisecond
	th, err := New(cfg, shareddata.NewMemory())
	if err != nil {
		t.Fatal(err)
	}
	got := allAt(th, 0, &Request{}, 4)
	if want := []Action{Allow, Shape, Shape, Reject}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v (the 300 ms hold passes 300 − 5 ms)", got, want)
	}
}

func TestShapeFallsThroughToDegrade(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/s","burst":4,"steps":[
		{"below":"50%","action":"shape","max_delay":"1s"},
		{"below":1,"action":"degrade","model":"small"}]}`), nil)
	req := &Request{}
	// after: 3 2 (allow) | 1 → shape 1s | 0 → degrade band | -1 → no tokens: reject.
	got := allAt(th, 0, req, 5)
	want := []Action{Allow, Allow, Shape, Degrade, Reject}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestShapeFallThroughWhenTooLong(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/s","burst":10,"steps":[
		{"below":"80%","action":"shape","max_delay":"2s"},
		{"below":"10%","action":"degrade","max_tokens":100}]}`), nil)
	req := &Request{}
	// after: 9 8 allow; 7 (needs 1 s), 6 (2 s) shaped; 5 would wait 3 s: falls through to degrade.
	got := allAt(th, 0, req, 5)
	want := []Action{Allow, Allow, Shape, Shape, Degrade}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestTokenUnitReserveAndSettle(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"tpm","unit":"llm_tokens","rate":"600/min","burst":1000}`), nil)
	req := &Request{PromptChars: 401, MaxTokens: 200} // ⌈401/4⌉ = 101 + 200
	d := th.Decide(0, req)
	o := outcome(t, &d)
	if d.Action != Allow || o.Cost != 301 || o.Remaining != 699 {
		t.Fatalf("%v cost %d remaining %d, want allow 301 699", d.Action, o.Cost, o.Remaining)
	}
	th.Settle(0, &d.Reservation, 120)
	if o.Remaining != 880 || o.Cost != 120 {
		t.Fatalf("after settle: remaining %d cost %d, want 880 120", o.Remaining, o.Cost)
	}
	th.Settle(0, &d.Reservation, 150) // cumulative usage grew
	if o.Remaining != 850 {
		t.Fatalf("after second settle: remaining %d, want 850", o.Remaining)
	}
	th.Settle(0, &d.Reservation, 1500) // more than the bucket holds: the bucket goes into debt
	probe := th.Decide(0, &Request{PromptChars: 4, MaxTokens: 1})
	if po := outcome(t, &probe); probe.Action != Reject || po.RetryAfter != time.Duration(502*100*ms) {
		// debt 500 tokens + 2 for the probe at 10 tokens/s
		t.Fatalf("after overuse: %v retry %v", probe.Action, po.RetryAfter)
	}
	th.Release(0, &d.Reservation)
	after := th.Decide(0, &Request{PromptChars: 4, MaxTokens: 1})
	if ao := outcome(t, &after); after.Action != Allow || ao.Remaining != 998 {
		t.Fatalf("after release: %v remaining %d, want allow 998", after.Action, ao.Remaining)
	}
}

// Reserve and settle net to the real usage: after any sequence the bucket holds exactly burst
// minus the usage not yet refilled.
func TestTokenUnitNetsToUsage(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"tpm","unit":"llm_tokens","rate":"60/min","burst":100000,"default_max_tokens":500}`), nil)
	usage := []int64{10, 700, 0, 499, 1234}
	var total int64
	for i, u := range usage {
		d := th.Decide(0, &Request{PromptChars: int64(i * 40)})
		th.Settle(0, &d.Reservation, u)
		total += u
	}
	d := th.Decide(0, &Request{PromptChars: 0, MaxTokens: 1})
	if o := outcome(t, &d); o.Remaining != 100000-total-1 {
		t.Fatalf("remaining %d, want %d", o.Remaining, 100000-total-1)
	}
}

func TestDegradeCapLowersTheReservation(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"tpm","unit":"llm_tokens","rate":"1/s","burst":1000,"steps":[
		{"below":"50%","action":"degrade","model":"mini","max_tokens":50}]}`), nil)
	req := &Request{PromptChars: 400, MaxTokens: 300} // 100 + 300
	if d := th.Decide(0, req); d.Action != Allow {
		t.Fatalf("first: %v", d.Action)
	}
	d := th.Decide(0, req) // 600 left, 200 after: degrade, charged 100 + 50
	o := outcome(t, &d)
	if d.Action != Degrade || o.Cost != 150 || o.Remaining != 450 || d.Degrade.MaxTokens != 50 {
		t.Fatalf("%v cost %d remaining %d cap %d", d.Action, o.Cost, o.Remaining, d.Degrade.MaxTokens)
	}
	body, err := d.ApplyDegrade([]byte(`{"model":"big","max_tokens":300,"messages":[]}`))
	if err != nil || string(body) != `{"model":"mini","max_tokens":50,"messages":[]}` {
		t.Fatalf("ApplyDegrade: %s %v", body, err)
	}
	if h := headerMap(d.RequestHeaders(nil)); h["x-stepgate-step"] != "degrade" {
		t.Fatalf("request headers: %v", h)
	}
}

func TestAdaptiveStepDownAndRecovery(t *testing.T) {
	// Burst 2, so that the bucket never caps a fraction of a token while the test walks it.
	th := newThrottler(t, oneRule(`{"name":"p","key":"provider","rate":"10/s","burst":2,
		"adaptive":{"factor":"50%","cooldown":"10s","recovery_steps":2,"recovery_interval":"5s"}}`), nil)
	req := &Request{Provider: "openai"}
	d := th.Decide(0, req)
	if d.Action != Allow || th.Decide(0, req).Action != Allow {
		t.Fatal("burst not admitted")
	}
	th.ObserveUpstream(0, &d.Reservation, 429, 0)
	// The bucket is empty at 0. The k-th next request is admitted at the first t where the refill
	// since 0 reaches k tokens: 5/s until the cool-down ends at 10 s, 7.5/s until 15 s, then 10/s.
	// In units of 1/(2e9) token that is 10, 15 and 20 units per ns.
	refill := func(t int64) int64 {
		return 10*min(t, 10*sec) + 15*min(max(t-10*sec, 0), 5*sec) + 20*max(t-15*sec, 0)
	}
	due := func(k int64) int64 { // smallest t with refill(t) ≥ k tokens, by bisection
		lo, hi := int64(0), 30*sec
		for lo < hi {
			if mid := (lo + hi) / 2; refill(mid) >= k*2*sec {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		return lo
	}
	now := int64(0)
	for k := int64(1); k <= 150; k++ {
		d := th.Decide(now, req)
		if d.Action != Reject {
			t.Fatalf("request %d at %v: %v, want reject", k, time.Duration(now), d.Action)
		}
		now += int64(outcome(t, &d).RetryAfter)
		if now != due(k) {
			t.Fatalf("request %d due at %v, Retry-After says %v", k, time.Duration(due(k)), time.Duration(now))
		}
		if d := th.Decide(now, req); d.Action != Allow {
			t.Fatalf("request %d at its Retry-After %v: %v", k, time.Duration(now), d.Action)
		}
	}
	if now <= 15*sec {
		t.Fatalf("the run ended at %v, before full recovery", time.Duration(now))
	}
}

func TestAdaptiveTimesExactly(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"p","rate":"100/s","burst":100,
		"adaptive":{"factor":"25%","min":"10%","cooldown":"2s","recovery_steps":3,"recovery_interval":"1s"}}`), nil)
	req := &Request{}
	d := th.Decide(0, req)
	th.ObserveUpstream(0, &d.Reservation, 503, 0)
	// Another signal inside the cool-down does not compound, only extends: cool-down to 3s.
	th.ObserveUpstream(sec, &d.Reservation, 429, 0)
	// Empty the bucket at 1 s (99 left + 25/s × 1 s... count what is there).
	for th.Decide(sec, req).Action == Allow {
	}
	count := func(from, to int64) int {
		n := 0
		for now := from; now <= to; now += ms {
			for th.Decide(now, req).Action == Allow {
				n++
			}
		}
		return n
	}
	// 25/s until 3 s; then 50%, 75%, 100% at 3 s, 4 s, 5 s.
	if n := count(sec+ms, 3*sec-ms); n != 49 { // 1.999 s at 25/s = 49.975
		t.Errorf("25%%: %d admitted, want 49", n)
	}
	if n := count(3*sec, 4*sec-ms); n != 50 {
		t.Errorf("50%%: %d admitted, want 50", n)
	}
	if n := count(4*sec, 5*sec-ms); n != 75 {
		t.Errorf("75%%: %d admitted, want 75", n)
	}
	if n := count(5*sec, 6*sec-ms); n != 100 {
		t.Errorf("100%%: %d admitted, want 100", n)
	}
}

func TestUpstreamRetryAfterExtendsCooldown(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"p","rate":"10/s","burst":10,
		"adaptive":{"factor":"50%","cooldown":"1s","recovery_steps":1,"recovery_interval":"1s"}}`), nil)
	req := &Request{}
	d := th.Decide(0, req)
	th.ObserveUpstream(0, &d.Reservation, 200, 5*time.Second) // a retry-after on any status counts
	for th.Decide(0, req).Action == Allow {
	}
	// 5/s until 5 s, not 1 s.
	n := 0
	for now := ms; now < 5*sec; now += ms {
		for th.Decide(now, req).Action == Allow {
			n++
		}
	}
	if n != 24 { // the bucket was emptied at 0: 4.999 s at 5/s is 24.995 tokens
		t.Fatalf("admitted %d during the retry-after, want 24", n)
	}
}

func TestShadowNeverEnforces(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"s","rate":"1/min","burst":1,"shadow":true}`), nil)
	req := &Request{}
	d1 := th.Decide(0, req)
	d2 := th.Decide(0, req)
	if d1.Action != Allow || d2.Action != Allow {
		t.Fatalf("shadow enforced: %v %v", d1.Action, d2.Action)
	}
	o := outcome(t, &d2)
	if o.Action != Reject || !o.Shadow {
		t.Fatalf("shadow outcome %v shadow=%v, want reject true", o.Action, o.Shadow)
	}
	h := headerMap(d2.ResponseHeaders(nil))
	if h["x-stepgate-shadow"] != "s=reject" || h["ratelimit"] != `"s";r=0;t=60` {
		t.Fatalf("headers %v", h)
	}
	if _, ok := h["x-ratelimit-limit"]; ok {
		t.Fatal("legacy headers from a shadow rule")
	}
}

func TestRejectGivesBackOtherRulesTokens(t *testing.T) {
	section := `{"rules":[
		{"name":"wide","rate":"1/min","burst":10},
		{"name":"narrow","match":{"models":["gpt-*"]},"rate":"1/min","burst":1}]}`
	th := newThrottler(t, section, nil)
	req := &Request{Model: "gpt-4o"}
	if d := th.Decide(0, req); d.Action != Allow {
		t.Fatal(d.Action)
	}
	d := th.Decide(0, req)
	if d.Action != Reject {
		t.Fatalf("second: %v", d.Action)
	}
	outs := d.Reservation.Outcomes()
	if outs[0].Rule() != "wide" || outs[0].Remaining != 9 || outs[0].Cost != 0 {
		t.Fatalf("wide after the rejection: remaining %d cost %d, want 9 0", outs[0].Remaining, outs[0].Cost)
	}
	other := th.Decide(0, &Request{Model: "mistral"}) // only "wide" applies
	if o := outcome(t, &other); o.Remaining != 8 {
		t.Fatalf("wide remaining %d, want 8", o.Remaining)
	}
}

func TestMostSevereWinsAndDelayCarries(t *testing.T) {
	section := `{"rules":[
		{"name":"pace","rate":"10/s","burst":1,"steps":[{"below":0,"action":"shape","max_delay":"1s"}]},
		{"name":"cheap","rate":"1/min","burst":2,"steps":[{"below":"100%","action":"degrade","model":"mini"}]}]}`
	th := newThrottler(t, section, nil)
	req := &Request{}
	th.Decide(0, req)
	d := th.Decide(0, req)
	if d.Action != Degrade || d.Delay != 100*time.Millisecond || d.Degrade.Model != "mini" {
		t.Fatalf("%v delay %v model %q, want degrade 100ms mini", d.Action, d.Delay, d.Degrade.Model)
	}
}

func TestFailModes(t *testing.T) {
	for _, tc := range []struct {
		fail   string
		action Action
		status int
	}{{"open", Allow, 0}, {"closed", Reject, 503}} {
		cfg := mustParse(t, oneRule(`{"name":"r","rate":"1/s","burst":1,"fail":"`+tc.fail+`"}`))
		th, err := New(cfg, brokenStore{})
		if err == nil {
			t.Fatal("New over a broken store: no error")
		}
		d := th.Decide(0, &Request{})
		o := outcome(t, &d)
		if d.Action != tc.action || d.Status != tc.status || o.Failure != StoreFailure || th.Err() == nil {
			t.Fatalf("%s: %v %d failure %v", tc.fail, d.Action, d.Status, o.Failure)
		}
		if tc.action == Reject && (d.RetryAfter != 1 || len(d.Body()) == 0) {
			t.Fatalf("closed: Retry-After %d body %s", d.RetryAfter, d.Body())
		}
	}
}

func TestIdleKeysAreEvictedBusyKeysOverflow(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"k","key":"tenant","rate":"1/s","burst":1,"max_keys":8,
		"overflow":{"rate":"1/s","burst":2}}`), nil)
	for i := 0; i < ways; i++ {
		if d := th.Decide(0, &Request{Tenant: "t" + itoa(int64(i))}); d.Action != Allow || outcome(t, &d).Overflow {
			t.Fatalf("tenant %d: %v", i, d.Action)
		}
	}
	// Eight keys in use (their buckets are empty) fill the one set: the next keys share the
	// overflow bucket, which admits its burst of two and no more — the table full is no bypass.
	for i, want := range []Action{Allow, Allow, Reject} {
		d := th.Decide(0, &Request{Tenant: "x" + itoa(int64(i))})
		if o := outcome(t, &d); !o.Overflow || o.Failure != NoFailure || d.Action != want {
			t.Fatalf("overflowed key %d: %v overflow %v failure %v, want %v", i, d.Action, o.Overflow, o.Failure, want)
		}
	}
	// One second later the buckets are full again, idle: a new key takes one's place...
	if d := th.Decide(sec, &Request{Tenant: "x0"}); outcome(t, &d).Overflow || d.Action != Allow {
		t.Fatalf("new key after refill: %v", d.Action)
	}
	// ...and its bucket is real.
	if d := th.Decide(sec, &Request{Tenant: "x0"}); d.Action != Reject || outcome(t, &d).Overflow {
		t.Fatalf("new key's second request: %v, want reject from its own bucket", d.Action)
	}
}

func TestOverflowBucketDefaultsToTheRulesLimitAndSettles(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"k","key":"tenant","unit":"llm_tokens","rate":"100/min","burst":100,"max_keys":1}`), nil)
	for i := 0; i < ways; i++ {
		th.Decide(0, &Request{Tenant: "t" + itoa(int64(i)), MaxTokens: 100})
	}
	d := th.Decide(0, &Request{Tenant: "other", MaxTokens: 60})
	o := outcome(t, &d)
	if !o.Overflow || d.Action != Allow || o.Remaining != 40 || o.Key() != "other" {
		t.Fatalf("overflowed: %v overflow %v remaining %d key %q", d.Action, o.Overflow, o.Remaining, o.Key())
	}
	// The usage settles against the overflow bucket, not against a key's own.
	if err := th.Settle(0, &d.Reservation, 10); err != nil || o.Remaining != 90 {
		t.Fatalf("settle: %v remaining %d, want 90", err, o.Remaining)
	}
	th.Release(0, &d.Reservation)
	d = th.Decide(0, &Request{Tenant: "another", MaxTokens: 100})
	if o := outcome(t, &d); !o.Overflow || d.Action != Allow || o.Remaining != 0 {
		t.Fatalf("after release: %v remaining %d, want allow 0", d.Action, o.Remaining)
	}
}

func TestKeysSeparateBuckets(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"k","key":"tenant:model","rate":"1/min","burst":1}`), nil)
	for _, q := range []Request{{Tenant: "a", Model: "m"}, {Tenant: "a", Model: "n"}, {Tenant: "b", Model: "m"}, {Tenant: "a:m"}} {
		if d := th.Decide(0, &q); d.Action != Allow {
			t.Fatalf("%+v: %v", q, d.Action)
		}
	}
	if d := th.Decide(0, &Request{Tenant: "a", Model: "m"}); d.Action != Reject {
		t.Fatalf("repeat: %v", d.Action)
	} else if k := outcome(t, &d).Key(); k != "a:m" {
		t.Fatalf("key %q", k)
	}
}

func TestReleaseFreesTheQueue(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/s","burst":1,"steps":[
		{"below":0,"action":"shape","max_delay":"10s","max_queue":1}]}`), nil)
	req := &Request{}
	th.Decide(0, req)
	held := th.Decide(0, req)
	if held.Action != Shape {
		t.Fatal(held.Action)
	}
	if d := th.Decide(0, req); d.Action != Reject {
		t.Fatalf("queue full: %v", d.Action)
	}
	th.Release(0, &held.Reservation) // the client went away
	if d := th.Decide(0, req); d.Action != Shape || d.Delay != time.Second {
		t.Fatalf("after release: %v %v, want shape 1s", d.Action, d.Delay)
	}
}

func TestNewCreatesEverySet(t *testing.T) {
	m := shareddata.NewMemory()
	newThrottler(t, oneRule(`{"name":"k","key":"tenant","rate":"1/s","burst":1,"max_keys":10}`), m)
	// 10 keys: room for 20 entries in sets of 8, and eight sets more; then the overflow bucket.
	keys := []string{KeyPrefix + "k/overflow/0"}
	for i := 0; i < 11; i++ {
		keys = append(keys, KeyPrefix+"k/11/"+itoa(int64(i)))
	}
	for _, k := range keys {
		if v, _, err := m.Get(k); err != nil || string(v) != string(emptySet) {
			t.Fatalf("%s: %q %v", k, v, err)
		}
	}
}

func TestRejectReleasesAnotherRulesHold(t *testing.T) {
	section := `{"rules":[
		{"name":"pace","rate":"10/s","burst":1,"steps":[{"below":0,"action":"shape","max_delay":"1s","max_queue":1}]},
		{"name":"cap","rate":"1/min","burst":1}]}`
	th := newThrottler(t, section, nil)
	req := &Request{}
	if d := th.Decide(0, req); d.Action != Allow {
		t.Fatal(d.Action)
	}
	// "pace" would hold the second request 100 ms, but "cap" rejects it: "pace" gives back its
	// tokens and its place in the queue.
	d := th.Decide(0, req)
	if d.Action != Reject || d.Reservation.Outcomes()[0].Action != Shape {
		t.Fatalf("%v, pace %v", d.Action, d.Reservation.Outcomes()[0].Action)
	}
	th.rules = th.rules[:1] // from now on only "pace" applies
	// Had the place not been given back, the queue (max 1) would be full until 100 ms.
	if d := th.Decide(50*ms, req); d.Action != Shape || d.Delay != 50*time.Millisecond {
		t.Fatalf("pace after the rejection: %v %v, want shape 50ms", d.Action, d.Delay)
	}
}

func TestReloadKeepsDebtInNewUnits(t *testing.T) {
	m := shareddata.NewMemory()
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/s","burst":10}`), m)
	allAt(th, 0, &Request{}, 10)
	// The operator doubles the rate: the ten tokens are still owed, and refill twice as fast.
	th = newThrottler(t, oneRule(`{"name":"r","rate":"2/s","burst":10}`), m)
	if d := th.Decide(499*ms, &Request{}); d.Action != Reject {
		t.Fatalf("before a token at the new rate: %v", d.Action)
	}
	if got := allAt(th, sec, &Request{}, 3); !slices.Equal(got, []Action{Allow, Allow, Reject}) {
		t.Fatalf("after 1 s at 2/s: %v", got)
	}
}

func TestDegradeMergesAcrossRules(t *testing.T) {
	section := `{"rules":[
		{"name":"a","rate":"1/min","burst":1,"steps":[{"below":"100%","action":"degrade","model":"m-a","max_tokens":200,"set_headers":{"x-a":"1","x-both":"a"}}]},
		{"name":"b","rate":"1/min","burst":1,"steps":[{"below":"100%","action":"degrade","model":"m-b","max_tokens":100,"set_headers":{"x-b":"1","x-both":"b"}}]}]}`
	th := newThrottler(t, section, nil)
	d := th.Decide(0, &Request{})
	want := Degradation{Model: "m-a", MaxTokens: 100, SetHeaders: []Header{{"x-a", "1"}, {"x-both", "a"}, {"x-b", "1"}}}
	if d.Action != Degrade || d.Degrade.Model != want.Model || d.Degrade.MaxTokens != want.MaxTokens || !slices.Equal(d.Degrade.SetHeaders, want.SetHeaders) {
		t.Fatalf("%v %+v", d.Action, d.Degrade)
	}
	if cfgHeaders := th.rules[0].cfg.Steps[0].SetHeaders; len(cfgHeaders) != 2 {
		t.Fatalf("merging changed the configuration: %v", cfgHeaders)
	}
}

func TestNeedsBodyAndEstimate(t *testing.T) {
	for section, want := range map[string]bool{
		oneRule(`{"name":"r","rate":"1/s","burst":1}`):                         false,
		oneRule(`{"name":"r","rate":"1/s","burst":1,"key":"tenant"}`):          false,
		oneRule(`{"name":"r","rate":"1/s","burst":1,"key":"model"}`):           true,
		oneRule(`{"name":"r","rate":"1/s","burst":1,"match":{"models":"g*"}}`): true,
		oneRule(`{"name":"r","rate":"1/s","burst":1,"unit":"llm_tokens"}`):     true,
		`{"rules":[]}`: false,
	} {
		if got := newThrottler(t, section, nil).NeedsBody(); got != want {
			t.Errorf("%s: NeedsBody %v", section, got)
		}
	}
	q := Request{PromptChars: 9, MaxTokens: 0}
	if got := q.TokenEstimate(100); got != 3+100 {
		t.Errorf("estimate %d, want 103", got)
	}
	q.MaxTokens = 7
	if got := q.TokenEstimate(100); got != 3+7 {
		t.Errorf("estimate %d, want 10", got)
	}
}
