package throttle

import (
	"testing"

	"github.com/tidwall/gjson"
)

// A rule naming tiers applies only to callers of those tiers, each tenant in its own bucket.
func TestTierSelectsRules(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"free","match":{"tiers":["free"]},"key":"tenant","rate":"1/min","burst":1,
		"steps":[{"below":0,"action":"reject"}]}`), nil)
	free := Request{Tenant: "a", Tier: "free"}
	gold := Request{Tenant: "b", Tier: "gold"}
	other := Request{Tenant: "c", Tier: "free"}
	for i, want := range []struct {
		q      *Request
		action Action
		rules  int
	}{{&free, Allow, 1}, {&free, Reject, 1}, {&gold, Allow, 0}, {&gold, Allow, 0}, {&other, Allow, 1}} {
		d := th.Decide(sec, want.q)
		if d.Action != want.action || len(d.Reservation.Outcomes()) != want.rules {
			t.Fatalf("request %d: %v with %d rules, want %v with %d", i, d.Action, len(d.Reservation.Outcomes()), want.action, want.rules)
		}
	}
	if _, err := ParseConfig(gjson.Parse(`{"rules":[{"name":"x","match":{"tiers":[1]},"rate":"1/s","burst":1}]}`), "throttle"); err == nil {
		t.Error("a non-string tier was accepted")
	}
}
