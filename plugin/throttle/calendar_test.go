package throttle

import (
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func TestCalendarBounds(t *testing.T) {
	plus2 := time.FixedZone("+02:00", 2*3600)
	minus5 := time.FixedZone("-05:30", -(5*3600 + 1800))
	for _, tc := range []struct {
		kind       WindowKind
		zone       *time.Location
		at         time.Time
		start, end time.Time
	}{
		// 23:30 UTC on 30 November is already 1 December at +02:00.
		{Month, plus2, time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC),
			time.Date(2026, 12, 1, 0, 0, 0, 0, plus2), time.Date(2027, 1, 1, 0, 0, 0, 0, plus2)},
		{Month, time.UTC, time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC),
			time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC)},
		{Month, minus5, time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 1, 0, 0, 0, 0, minus5), time.Date(2027, 1, 1, 0, 0, 0, 0, minus5)},
		// Thursday 26 November 2026: the ISO week starts on Monday the 23rd.
		{Week, time.UTC, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
			time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		{Week, plus2, time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC), // Monday 00:00 at +02:00
			time.Date(2026, 11, 30, 0, 0, 0, 0, plus2), time.Date(2026, 12, 7, 0, 0, 0, 0, plus2)},
		{Week, time.UTC, time.Date(1969, 12, 28, 1, 0, 0, 0, time.UTC), // before the epoch: a Sunday
			time.Date(1969, 12, 22, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 29, 0, 0, 0, 0, time.UTC)},
		{Day, minus5, time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC),
			time.Date(2026, 11, 25, 0, 0, 0, 0, minus5), time.Date(2026, 11, 26, 0, 0, 0, 0, minus5)},
	} {
		_, off := tc.at.In(tc.zone).Zone()
		c := Calendar{Kind: tc.kind, Offset: time.Duration(off) * time.Second}
		s, e := c.bounds(tc.at.UnixNano())
		if s != tc.start.UnixNano() || e != tc.end.UnixNano() {
			t.Errorf("%v %v at %v: [%v, %v), want [%v, %v)", tc.kind, tc.zone, tc.at,
				time.Unix(0, s).In(tc.zone), time.Unix(0, e).In(tc.zone), tc.start, tc.end)
		}
	}
}

// A monthly quota drains without refilling, degrades below its threshold, rejects when spent with
// Retry-After to the next month, and is whole again when the month turns.
func TestMonthlyQuotaResetsAtTheMonth(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"monthly","key":"tenant","window":"month","utc_offset":"+02:00",
		"burst":10,"steps":[{"below":"20%","action":"degrade","model":"small"}]}`), nil)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).UnixNano()
	reset := time.Date(2026, 12, 1, 0, 0, 0, 0, time.FixedZone("", 7200)).UnixNano()
	q := Request{Tenant: "acme"}
	var got []Action
	for i := 0; i < 11; i++ {
		d := th.Decide(now+int64(i)*int64(time.Hour), &q)
		got = append(got, d.Action)
		if i == 10 {
			want := (reset - (now + 10*int64(time.Hour)) + sec - 1) / sec
			if d.RetryAfter != want {
				t.Errorf("Retry-After = %d s, want %d (the next month at +02:00)", d.RetryAfter, want)
			}
			o := outcome(t, &d)
			if o.Reset != time.Duration(reset-(now+10*int64(time.Hour))) || o.window != 30*24*3600 {
				t.Errorf("reset %v window %d", o.Reset, o.window)
			}
		}
	}
	want := []Action{Allow, Allow, Allow, Allow, Allow, Allow, Allow, Allow, Degrade, Degrade, Reject}
	if !equalActions(got, want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	if d := th.Decide(reset-1, &q); d.Action != Reject {
		t.Fatalf("1 ns before the month: %v", d.Action)
	}
	d := th.Decide(reset, &q)
	if o := outcome(t, &d); d.Action != Allow || o.Remaining != 9 {
		t.Fatalf("at the new month: %v, %d left", d.Action, o.Remaining)
	}
}

// Settled overdraft is forgiven at the reset too: a new window starts whole.
func TestCalendarSettleAndReset(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"daily","window":"day","unit":"llm_tokens","burst":1000}`), nil)
	d := th.Decide(0, &Request{MaxTokens: 100})
	if err := th.Settle(0, &d.Reservation, 1500); err != nil {
		t.Fatal(err)
	}
	if d := th.Decide(1, &Request{MaxTokens: 1}); d.Action != Reject || d.RetryAfter != 86400 {
		t.Fatalf("overdrawn: %v retry %d", d.Action, d.RetryAfter)
	}
	if d := th.Decide(nsPerDay, &Request{MaxTokens: 100}); d.Action != Allow {
		t.Fatalf("next day: %v", d.Action)
	}
}

func TestWindowParseErrorsNameTheField(t *testing.T) {
	for rule, want := range map[string]string{
		`{"name":"r","window":"year","burst":1}`:                                                `throttle.rules[0].window: unknown window "year"`,
		`{"name":"r","window":"day","rate":"1/s","burst":1}`:                                    `throttle.rules[0].rate: a rule with a window has no rate`,
		`{"name":"r","rate":"1/s","burst":1,"utc_offset":"+01:00"}`:                             `throttle.rules[0].utc_offset: only applies to a rule with a window`,
		`{"name":"r","window":"day","burst":1,"utc_offset":"+15:00"}`:                           `throttle.rules[0].utc_offset: must be`,
		`{"name":"r","window":"day","burst":1,"utc_offset":"0200"}`:                             `throttle.rules[0].utc_offset: must be`,
		`{"name":"r","window":"week","burst":1,"adaptive":{}}`:                                  `throttle.rules[0].adaptive: a rule with a window`,
		`{"name":"r","window":"week","burst":1,"key":"tenant","overflow":{"burst":1}}`:          `throttle.rules[0].overflow:`,
		`{"name":"r","window":"month","burst":1,"steps":[{"action":"shape","max_delay":"1s"}]}`: `throttle.rules[0].steps[0].action: a rule with a window cannot shape`,
	} {
		_, err := ParseConfig(gjson.Parse(oneRule(rule)), "throttle")
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", rule, err, want)
		}
	}
	cfg := mustParse(t, oneRule(`{"name":"r","window":"week","burst":5,"utc_offset":"-05:30"}`))
	if w := cfg.Rules[0].Window; w.Kind != Week || w.Offset != -(5*time.Hour+30*time.Minute) {
		t.Fatalf("window %+v", w)
	}
}

func equalActions(a, b []Action) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Every instant lies in its window, windows are at least a day long and tile time: the next
// window starts where this one ends.
func FuzzCalendarBounds(f *testing.F) {
	f.Add(int64(1796076000000000000), uint8(3), int64(7200))
	f.Add(int64(-1), uint8(2), int64(-50400))
	f.Fuzz(func(t *testing.T, at int64, kind uint8, offSec int64) {
		c := Calendar{Kind: WindowKind(kind%3 + 1), Offset: time.Duration(offSec%(14*3600+1)) * time.Second}
		at %= 1 << 61 // far inside the years time.Time converts exactly
		s, e := c.bounds(at)
		if !(s <= at && at < e) || e-s < nsPerDay || e-s > 31*nsPerDay {
			t.Fatalf("%v at %d: [%d, %d)", c, at, s, e)
		}
		if s2, _ := c.bounds(e); s2 != e {
			t.Fatalf("%v: the window after [%d, %d) starts at %d", c, s, e, s2)
		}
	})
}
