package throttle

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// A cost rule reserves the estimate at the request's prices and settles to the reported cost.
func TestCostUnitReservesAndSettles(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"spend","unit":"cost","rate":"100000/h","burst":100000,
		"default_max_tokens":100}`), nil)
	// 4000 body bytes: 1000 prompt tokens at 2.5 µ each, 100 completion tokens at 10 µ each.
	q := Request{PromptChars: 4000, InputPrice: 2_500_000, OutputPrice: 10_000_000}
	d := th.Decide(0, &q)
	o := outcome(t, &d)
	if d.Action != Allow || o.Cost != 3500 || o.Remaining != 100000-3500 {
		t.Fatalf("action %v cost %d remaining %d, want allow 3500 96500", d.Action, o.Cost, o.Remaining)
	}
	if err := th.SettleCost(0, &d.Reservation, 5000); err != nil {
		t.Fatal(err)
	}
	if o.Cost != 5000 || o.Remaining != 95000 {
		t.Fatalf("after settling: cost %d remaining %d, want 5000 95000", o.Cost, o.Remaining)
	}
	// Settle (tokens) leaves cost rules alone.
	if err := th.Settle(0, &d.Reservation, 7); err != nil || o.Cost != 5000 {
		t.Fatalf("Settle touched a cost rule: cost %d err %v", o.Cost, err)
	}
	if got := string(d.Reservation.Outcomes()[0].rule.appendPolicy(nil, 1)); !strings.Contains(got, `stepgate-qu="cost-micros"`) {
		t.Fatalf("policy %s does not name the unit", got)
	}
}

// An unpriced request costs one micro-unit, so that a spent budget stops it too; a degrade
// step's max_tokens lowers the cost at the output price.
func TestCostUnitMinimumAndDegradeCap(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"spend","unit":"cost","rate":"1/h","burst":1000,
		"steps":[{"below":"50%","action":"degrade","max_tokens":10}]}`), nil)
	d := th.Decide(0, &Request{})
	if o := outcome(t, &d); o.Cost != 1 {
		t.Fatalf("unpriced cost %d, want 1", o.Cost)
	}
	// 256 default completion tokens at 3 µ: 768, would leave 231 < 50 %: degraded to 10 tokens.
	d = th.Decide(0, &Request{OutputPrice: 3_000_000})
	if o := outcome(t, &d); d.Action != Degrade || o.Cost != 30 {
		t.Fatalf("action %v cost %d, want degrade 30", d.Action, o.Cost)
	}
}

func TestCostUnitParse(t *testing.T) {
	cfg := mustParse(t, oneRule(`{"name":"s","unit":"cost","rate":"1/h","burst":10}`))
	if r := cfg.Rules[0]; r.Unit != Cost || r.DefaultMaxTokens != defaultMaxTokens || r.Unit.String() != "cost" {
		t.Fatalf("parsed %+v", r)
	}
	_, err := ParseConfig(gjson.Parse(oneRule(`{"name":"s","unit":"money","rate":"1/h","burst":10}`)), "throttle")
	if err == nil || !strings.Contains(err.Error(), `throttle.rules[0].unit: unknown unit "money"`) {
		t.Fatalf("err = %v", err)
	}
}

// Charge only ever raises a reservation: a stream's usage counted so far, while it flows.
func TestChargeRaisesButNeverRefunds(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"tpm","unit":"llm_tokens","rate":"1/h","burst":1000,"default_max_tokens":100}`), nil)
	d := th.Decide(0, &Request{})
	o := outcome(t, &d)
	if err := th.Charge(0, &d.Reservation, 50); err != nil || o.Cost != 100 || o.Remaining != 900 {
		t.Fatalf("charging below the reservation: cost %d remaining %d err %v", o.Cost, o.Remaining, err)
	}
	if err := th.Charge(0, &d.Reservation, 300); err != nil || o.Cost != 300 || o.Remaining != 700 {
		t.Fatalf("charging above: cost %d remaining %d err %v", o.Cost, o.Remaining, err)
	}
	if err := th.Settle(0, &d.Reservation, 250); err != nil || o.Cost != 250 || o.Remaining != 750 {
		t.Fatalf("settling: cost %d remaining %d err %v", o.Cost, o.Remaining, err)
	}
}

// A learned expectation replaces default_max_tokens, never a limit the request names.
func TestExpectedTokensReplaceTheDefault(t *testing.T) {
	for _, tc := range []struct {
		q    Request
		want int64
	}{
		{Request{ExpectedTokens: 512}, 512},
		{Request{ExpectedTokens: 512, MaxTokens: 50}, 50},
		{Request{}, 100},
	} {
		if got := tc.q.TokenEstimate(100); got != tc.want {
			t.Errorf("%+v: estimate %d, want %d", tc.q, got, tc.want)
		}
	}
	cfg := mustParse(t, `{"learn_completion":true,"stream_charge_tokens":0}`)
	if !cfg.LearnCompletion || cfg.StreamCharge != 0 {
		t.Fatalf("parsed %+v", cfg)
	}
	if _, err := ParseConfig(gjson.Parse(`{"learn_completion":1}`), "throttle"); err == nil ||
		!strings.HasPrefix(err.Error(), "throttle.learn_completion:") {
		t.Fatalf("err = %v", err)
	}
}

// A degrade step to a cheaper model is costed at that model's prices, so that a budget nearly
// spent still takes the cheaper request.
func TestCostDegradeUsesTheCheaperModelsPrices(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"spend","unit":"cost","rate":"1/h","burst":1000,"default_max_tokens":100,
		"steps":[{"below":"50%","action":"degrade","model":"small"}]}`), nil)
	prices := func(model string) (int64, int64, bool) { return 0, 1_000_000, model == "small" }
	q := Request{OutputPrice: 8_000_000}
	if d := th.Decide(0, &q); d.Action != Degrade || outcome(t, &d).Cost != 800 {
		t.Fatalf("first: %v %d, want degrade at its own price, 800", d.Action, outcome(t, &d).Cost)
	}
	// 200 left: the request at its own price (800) cannot go, the cheaper one (100 tokens at 1 µ) can.
	q.PriceOf = prices
	d := th.Decide(0, &q)
	if o := outcome(t, &d); d.Action != Degrade || o.Cost != 100 {
		t.Fatalf("second: %v %d, want degrade 100", d.Action, o.Cost)
	}
	q.PriceOf = nil // without the cheaper model's prices it would cost as much as the original
	if d := th.Decide(0, &q); d.Action != Reject {
		t.Fatalf("without PriceOf: %v, want reject", d.Action)
	}
}

func TestChargeCostRaisesCostRulesOnly(t *testing.T) {
	th := newThrottler(t, `{"rules":[{"name":"spend","unit":"cost","rate":"1/h","burst":1000,"default_max_tokens":10},
		{"name":"tpm","unit":"llm_tokens","rate":"1/h","burst":1000,"default_max_tokens":10}]}`, nil)
	d := th.Decide(0, &Request{OutputPrice: 1_000_000})
	outs := d.Reservation.Outcomes()
	if err := th.ChargeCost(0, &d.Reservation, 300); err != nil || outs[0].Cost != 300 || outs[1].Cost != 10 {
		t.Fatalf("after ChargeCost: %d %d (%v)", outs[0].Cost, outs[1].Cost, err)
	}
	if err := th.Charge(0, &d.Reservation, 50); err != nil || outs[0].Cost != 300 || outs[1].Cost != 50 {
		t.Fatalf("after Charge: %d %d (%v)", outs[0].Cost, outs[1].Cost, err)
	}
}
