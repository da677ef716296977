package throttle

import "testing"

// A fallback is decided by the rules that depend on the route only; the first route's share of
// those rules is settled at zero, and the other rules keep counting the request once.
func TestFallbackIsDecidedByTheRulesOfItsRoute(t *testing.T) {
	th := newThrottler(t, `{"rules":[
		{"name":"tenant","key":"tenant","unit":"llm_tokens","rate":"1000/min","burst":1000},
		{"name":"per-model","key":"model","unit":"llm_tokens","rate":"1000/min","burst":1000},
		{"name":"claude-only","match":{"providers":["an"]},"rate":"1/min","burst":1}]}`, nil)
	now := int64(1000) * sec
	primary := Request{Tenant: "t", Model: "gpt-4o", Provider: "oa", PromptChars: 400, MaxTokens: 100}
	d := th.Decide(now, &primary)
	if n := len(d.Reservation.Outcomes()); d.Action != Allow || n != 2 {
		t.Fatalf("primary: %v with %d outcomes, want allow by tenant and per-model", d.Action, n)
	}
	fb := primary
	fb.Model, fb.Provider = "claude", "an"
	f := th.DecideRouted(now, &fb)
	outs := f.Reservation.Outcomes()
	if f.Action != Allow || len(outs) != 2 || outs[0].Rule() != "per-model" || outs[1].Rule() != "claude-only" {
		t.Fatalf("fallback: %v %+v, want allow by per-model and claude-only", f.Action, outs)
	}
	if err := th.Reroute(now, &d.Reservation); err != nil {
		t.Fatal(err)
	}
	// The primary's model bucket got its reservation back; the tenant's keeps it until Settle.
	if got := th.Decide(now, &Request{Tenant: "u", Model: "gpt-4o", Provider: "oa", PromptChars: 4, MaxTokens: 0}); outcomeNamed(&got, "per-model").Remaining != 1000-257 {
		t.Errorf("per-model gpt-4o after reroute: %d left, want %d", outcomeNamed(&got, "per-model").Remaining, 1000-257)
	}
	_ = th.Settle(now, &d.Reservation, 50)
	_ = th.Settle(now, &f.Reservation, 50)
	if o := outcomeNamed(&d, "tenant"); o.Cost != 50 {
		t.Errorf("tenant rule settled at %d, want 50", o.Cost)
	}
	if o := outcomeNamed(&d, "per-model"); o.Cost != 0 {
		t.Errorf("the first route's model rule settled at %d after reroute, want 0", o.Cost)
	}
	// A second fallback to the same provider is throttled by its one-a-minute rule.
	if g := th.DecideRouted(now, &fb); g.Action != Reject {
		t.Errorf("second fallback to an: %v, want reject", g.Action)
	}
}

func outcomeNamed(d *Decision, name string) *Outcome {
	outs := d.Reservation.Outcomes()
	for i := range outs {
		if outs[i].Rule() == name {
			return &outs[i]
		}
	}
	return &Outcome{}
}
