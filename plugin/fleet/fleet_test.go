package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/stepgate/stepgate/plugin/throttle"
)

const tenantRule = `{"throttle":{"rules":[{"name":"fleet-rpm","key":"tenant","rate":"100/min","scope":"fleet",
  "fleet":{"min_block":10,"max_block":10,"timeout":"50ms"}}]}}`

func TestLeaseServesFromTheBlockAndCallsOncePerBlock(t *testing.T) {
	s := newService(100, time.Minute)
	f := newFleet(t, tenantRule, shareddata.NewMemory())
	q := &throttle.Request{Tenant: "acme"}
	d := f.Decide(t0, q, 0)
	if !d.Wait || d.WaitUntil != t0+int64(50*time.Millisecond) {
		t.Fatalf("first request: %+v, want a wait of the call timeout", d)
	}
	calls := f.Calls()
	if len(calls) != 1 || calls[0].Hits != 10 {
		t.Fatalf("calls %+v, want one lease of 10", calls)
	}
	body := gjson.ParseBytes(calls[0].Body)
	if body.Get("domain").Str != "stepgate" || body.Get("descriptors.0.entries.0.value").Str != "fleet-rpm" ||
		body.Get("descriptors.0.entries.1.key").Str != "tenant" || body.Get("descriptors.0.entries.1.value").Str != "acme" ||
		body.Get("hitsAddend").Int() != 10 {
		t.Errorf("request body %s", calls[0].Body)
	}
	st, b := s.answer(t0, calls[0].Body)
	if ev := f.Complete(t0, &calls[0], st, b); ev != Leased {
		t.Fatalf("event %v", ev)
	}
	for i := 0; i < 10; i++ {
		if d := f.Decide(t0, q, 0); d.Wait || d.Action != throttle.Allow {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	if c := f.Calls(); len(c) != 0 {
		t.Fatalf("%d calls on the request path with a lease in hand", len(c))
	}
	if d := f.Decide(t0, q, 0); !d.Wait {
		t.Fatalf("the 11th request did not wait for the next block: %+v", d)
	}
	if n := len(f.Calls()); n != 1 {
		t.Fatalf("%d calls for an empty block, want 1", n)
	}
}

func TestTickRefillsAtHalfTheBlockSoRequestsNeverWait(t *testing.T) {
	s := newService(100, time.Minute)
	f := newFleet(t, tenantRule, shareddata.NewMemory())
	q := &throttle.Request{Tenant: "acme"}
	decide(f, s, t0, q)
	waits := 0
	for i := 1; i < 60; i++ {
		now := t0 + int64(i)*int64(10*time.Millisecond)
		f.Tick(now)
		s.serve(f, now)
		if d := f.Decide(now, q, 0); d.Wait {
			waits++
		} else if d.Action != throttle.Allow {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	if waits != 0 {
		t.Errorf("%d requests waited for a lease although the tick refills", waits)
	}
}

func TestOverLimitRejectsWithRetryAfterUntilTheWindowResets(t *testing.T) {
	s := newService(20, time.Minute)
	f := newFleet(t, tenantRule, shareddata.NewMemory())
	q := &throttle.Request{Tenant: "acme"}
	now := t0 + int64(15*time.Second) // 45 s before the window's end
	admitted := 0
	var last Decision
	for i := 0; i < 30; i++ {
		last = decide(f, s, now, q)
		if last.Action == throttle.Allow {
			admitted++
		}
	}
	if admitted != 20 {
		t.Errorf("admitted %d, want the fleet limit 20", admitted)
	}
	if last.Action != throttle.Reject || last.Status != 429 || last.RetryAfter != 45 || last.Rule != "fleet-rpm" {
		t.Errorf("over the limit: %+v, want 429 with Retry-After 45", last)
	}
	next := t0 + int64(time.Minute)
	if d := decide(f, s, next, q); d.Action != throttle.Allow {
		t.Errorf("after the reset: %+v", d)
	}
}

func TestStepsSwitchAtFractionsOfTheFleetLimit(t *testing.T) {
	doc := `{"throttle":{"rules":[{"name":"r","rate":"100/min","scope":"fleet","fleet":{"max_block":5},
	  "steps":[{"below":"50%","action":"degrade","model":"small"},{"below":"10%","action":"reject"}]}]}}`
	s := newService(100, time.Minute)
	f := newFleet(t, doc, shareddata.NewMemory())
	var got []string
	for i := 0; i < 100; i++ {
		d := decide(f, s, t0, &throttle.Request{})
		got = append(got, d.Action.String())
	}
	// The level is the service's limitRemaining plus the lease in hand, after the request.
	first := func(a string) int {
		for i, g := range got {
			if g == a {
				return i
			}
		}
		return -1
	}
	if i := first("degrade"); i < 45 || i > 55 {
		t.Errorf("first degrade at request %d, want about 50: %v", i, got)
	}
	if i := first("reject"); i < 85 || i > 95 {
		t.Errorf("first reject at request %d, want about 90: %v", i, got)
	}
}

func TestServiceDownFailOpenUsesTheFallbackBucketAndRecovers(t *testing.T) {
	doc := `{"throttle":{"rules":[{"name":"r","rate":"100/min","scope":"fleet","fail":"open",
	  "fleet":{"fallback":"10%","retry":"1s"}}]}}`
	s := newService(100, time.Minute)
	f := newFleet(t, doc, shareddata.NewMemory())
	q := &throttle.Request{}
	s.down = true
	d := f.Decide(t0, q, 0)
	if !d.Wait {
		t.Fatalf("%+v", d)
	}
	if ev := s.serve(f, t0); len(ev) != 1 || ev[0] != Unavailable {
		t.Fatalf("events %v, want Unavailable", ev)
	}
	admitted := 0
	for i := 0; i < 20; i++ {
		d := f.Decide(t0, q, 0)
		if d.Wait || len(d.Fallen) != 1 {
			t.Fatalf("while down: %+v", d)
		}
		if d.Fallback.Action == throttle.Allow {
			admitted++
		}
	}
	if admitted != 10 {
		t.Errorf("fallback admitted %d, want 10%% of 100", admitted)
	}
	// The tick probes after the retry interval; the service is back.
	s.down = false
	later := t0 + int64(time.Second)
	f.Tick(later)
	if ev := s.serve(f, later); len(ev) != 1 || ev[0] != Recovered {
		t.Fatalf("probe events %v, want Recovered", ev)
	}
	if d := f.Decide(later, q, 0); d.Wait || len(d.Fallen) != 0 || d.Action != throttle.Allow {
		t.Errorf("after recovery: %+v", d)
	}
}

func TestFailClosedRejects503AndNoRequestWaitsPastTheTimeout(t *testing.T) {
	doc := `{"throttle":{"rules":[{"name":"r","rate":"100/min","scope":"fleet","fail":"closed","fleet":{"timeout":"30ms"}}]}}`
	f := newFleet(t, doc, shareddata.NewMemory())
	q := &throttle.Request{}
	d := f.Decide(t0, q, 0)
	if !d.Wait || d.WaitUntil != t0+int64(30*time.Millisecond) {
		t.Fatalf("%+v", d)
	}
	_ = f.Calls() // the service never answers
	d = f.Decide(d.WaitUntil, q, d.WaitUntil)
	if d.Wait || d.Action != throttle.Reject || d.Status != 503 || len(d.Unavailable) != 1 {
		t.Errorf("at the deadline: %+v, want 503", d)
	}
	// Another request meanwhile waits only until its own deadline, never past it.
	q2 := t0 + int64(10*time.Millisecond)
	if d := f.Decide(q2, q, 0); d.Wait && d.WaitUntil > q2+int64(30*time.Millisecond) {
		t.Errorf("a second request waits until %d, past its timeout", d.WaitUntil)
	}
}

func TestBlockSizeFollowsTheRate(t *testing.T) {
	doc := `{"throttle":{"rules":[{"name":"r","rate":"100000/min","scope":"fleet","fleet":{"min_block":1,"max_block":64,"lease_period":"1s"}}]}}`
	s := newService(100000, time.Minute)
	f := newFleet(t, doc, shareddata.NewMemory())
	q := &throttle.Request{}
	calls := 0
	for i := 0; i < 2000; i++ { // 1000 requests a second
		now := t0 + int64(i)*int64(time.Millisecond)
		f.Tick(now)
		calls += len(f.calls)
		s.serve(f, now)
		d := f.Decide(now, q, 0)
		calls += len(f.calls)
		if d.Wait {
			s.serve(f, now)
			f.Decide(now, q, d.WaitUntil)
		}
	}
	var e entry
	v, _, _ := f.store.Get(f.rules[0].slotOf(f.rules[0].AppendKey(nil, q)))
	if err := e.decode(v); err != nil || e.block != 64 {
		t.Errorf("block %d after a fast second (err %v), want the maximum 64", e.block, err)
	}
	if calls > 2000/16 {
		t.Errorf("%d calls for 2000 requests", calls)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"name":"r","rate":"5/3s","scope":"fleet"}`, "throttle.rules[0].rate: a fleet rule needs"},
		{`{"name":"r","rate":"5/s","scope":"world"}`, "throttle.rules[0].scope: unknown scope"},
		{`{"name":"r","rate":"5/s","burst":5,"fleet":{}}`, "throttle.rules[0].fleet: only applies"},
		{`{"name":"r","rate":"5/s","scope":"fleet","fleet":{"timeout":"1h"}}`, "throttle.rules[0].fleet.timeout"},
		{`{"name":"r","rate":"5/s","scope":"fleet","fleet":{"fallback":"120%"}}`, "throttle.rules[0].fleet.fallback"},
		{`{"name":"r","rate":"5/s","scope":"fleet","fleet":{"max_block":9}}`, "throttle.rules[0].fleet.max_block"},
		{`{"name":"r","rate":"5/s","scope":"fleet","fleet":{"nope":1}}`, "throttle.rules[0].fleet.nope: unknown field"},
		{`{"name":"r","rate":"5/s","scope":"fleet","shadow":true}`, "throttle.rules[0].shadow: not available"},
		{`{"name":"r","rate":"50/s","scope":"fleet","steps":[{"below":"50%","action":"shape","max_delay":"1s"}]}`,
			"throttle.rules[0].steps[0].action: shape is not available"},
	} {
		root := gjson.Parse(`{"throttle":{"rules":[` + tc.doc + `]}}`)
		tcfg, err := throttle.ParseConfig(root.Get("throttle"), "throttle")
		if err == nil {
			_, err = ParseConfig(root.Get("fleet"), "fleet", tcfg.Rules, "throttle.rules")
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestADescriptorTheServiceDoesNotLimitIsNeverRejected(t *testing.T) {
	f := newFleet(t, `{"throttle":{"rules":[{"name":"r","rate":"10/min","scope":"fleet","fleet":{"max_block":2}}]}}`,
		shareddata.NewMemory())
	q := &throttle.Request{}
	for i := 0; i < 30; i++ {
		d := f.Decide(t0, q, 0)
		for _, c := range f.Calls() {
			f.Complete(t0, &c, 200, []byte(`{"overallCode":"OK","statuses":[{"code":"OK"}]}`))
			d = f.Decide(t0, q, d.WaitUntil)
		}
		if d.Action != throttle.Allow || d.Wait {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
}
