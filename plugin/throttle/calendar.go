package throttle

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
)

// WindowKind is the calendar period of a quota that resets instead of refilling.
type WindowKind uint8

const (
	NoWindow WindowKind = iota // a refilling bucket (rate and burst)
	Day                        // from midnight to midnight
	Week                       // from Monday midnight to Monday midnight (ISO 8601 weeks)
	Month                      // from the first of the month at midnight
)

var windowNames = [...]string{"", "day", "week", "month"}

func (k WindowKind) String() string {
	if int(k) < len(windowNames) {
		return windowNames[k]
	}
	return "window(" + itoa(int64(k)) + ")"
}

// Calendar is a rule's fixed window: the quota (the rule's burst) is whole at the start of every
// window and nothing comes back before the next one. Offset is the time zone's offset from UTC
// in which midnights are counted.
type Calendar struct {
	Kind   WindowKind
	Offset time.Duration
}

// maxOffset is the largest time zone offset in use (UTC+14).
const maxOffset = 14 * time.Hour

// calendarRate is the Rate of a calendar rule: one token per nanosecond makes a token one
// pctScale units, so that quotas up to maxBurst count exactly. Nothing refills at this rate: a
// calendar rule's refills all go through the calendar (advance, refillTime, refilled).
var calendarRate = Rate{Tokens: 1, Period: 1}

// calendar is a rule's window with the last one computed: a month's bounds cost a date
// conversion, and almost every request falls in the same window as the previous one.
type calendar struct {
	cfg        Calendar
	start, end int64 // ns since the Unix epoch: the window last asked for, [start, end)
}

// window returns the bounds of the window holding t.
func (c *calendar) window(t int64) (start, end int64) {
	if c.end != 0 && t >= c.start && t < c.end {
		return c.start, c.end
	}
	c.start, c.end = c.cfg.bounds(t)
	return c.start, c.end
}

const nsPerDay = int64(24 * time.Hour)

// bounds computes the window holding t: midnights are at offset from UTC.
func (c Calendar) bounds(t int64) (start, end int64) {
	off := int64(c.Offset)
	local := t + off
	day := floorDiv(local, nsPerDay)
	switch c.Kind {
	case Week:
		// 1970-01-01 was a Thursday: day 0 is the fourth of its ISO week.
		monday := day - (day+3)%7
		if (day+3)%7 < 0 {
			monday -= 7
		}
		return monday*nsPerDay - off, (monday+7)*nsPerDay - off
	case Month:
		d := time.Unix(0, day*nsPerDay).UTC()
		first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		return first.UnixNano() - off, first.AddDate(0, 1, 0).UnixNano() - off
	}
	return day*nsPerDay - off, (day+1)*nsPerDay - off
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// advanceCalendar brings b up to now under a calendar rule: a new window forgives the whole
// debt, settled overdraft included. A clock reading earlier than asOf changes nothing.
func (r *rule) advanceCalendar(b *bucket, now int64) {
	if now <= b.asOf {
		return
	}
	if start, _ := r.cal.window(now); b.asOf < start {
		b.debt = 0
	}
	b.asOf = now
}

// calendarRefill is refillTime under a calendar rule: nothing comes back before the next window,
// and then everything does.
func (r *rule) calendarRefill(from, x int64) int64 {
	if x <= 0 {
		return 0
	}
	_, end := r.cal.window(from)
	return satSub(end, from)
}

// calendarReset is what a calendar rule's headers say: the time until the bucket is whole again
// (the next window, when anything is spent) and the window's length in seconds.
func (r *rule) calendarReset(b *bucket, now int64) (reset, window int64) {
	start, end := r.cal.window(now)
	if b.debt > 0 {
		reset = satSub(end, now)
	}
	return reset, ceilDiv(end-start, int64(time.Second))
}

// parseWindow reads a rule's "window" and "utc_offset". A rule with a window has no rate.
func parseWindow(v gjson.Result, p string) (Calendar, error) {
	var c Calendar
	w, off := v.Get("window"), v.Get("utc_offset")
	if !w.Exists() {
		if off.Exists() {
			return c, cfgjson.Errorf(cfgjson.Join(p, "utc_offset"), "only applies to a rule with a window")
		}
		return c, nil
	}
	for k := Day; k <= Month; k++ {
		if w.Type == gjson.String && w.Str == k.String() {
			c.Kind = k
		}
	}
	if c.Kind == NoWindow {
		return c, cfgjson.Errorf(cfgjson.Join(p, "window"), "unknown window %s (want \"day\", \"week\" or \"month\")", cfgjson.Short(w.Raw))
	}
	if v.Get("rate").Exists() {
		return c, cfgjson.Errorf(cfgjson.Join(p, "rate"), "a rule with a window has no rate: its burst is whole again at the start of each %s", c.Kind)
	}
	if off.Exists() {
		d, ok := parseOffset(off)
		if !ok {
			return c, cfgjson.Errorf(cfgjson.Join(p, "utc_offset"), "must be \"+hh:mm\" or \"-hh:mm\" within ±14:00, got %s", cfgjson.Short(off.Raw))
		}
		c.Offset = d
	}
	return c, nil
}

// parseOffset reads "+hh:mm", "-hh:mm" or "Z".
func parseOffset(v gjson.Result) (time.Duration, bool) {
	s := v.Str
	if v.Type != gjson.String {
		return 0, false
	}
	if s == "Z" {
		return 0, true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[4:6])
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	if err1 != nil || err2 != nil || m >= 60 || d > maxOffset {
		return 0, false
	}
	if s[0] == '-' {
		d = -d
	}
	return d, true
}

// checkWindowRule refuses what a calendar quota cannot do: holding a request until tokens are
// due (none are due before the next window), stepping a rate down (there is none), an overflow
// bucket with a rate of its own.
func checkWindowRule(r *Rule, p string) error {
	if r.Window.Kind == NoWindow {
		return nil
	}
	for i := range r.Steps {
		if r.Steps[i].Action == Shape {
			return cfgjson.Errorf(fmt.Sprintf("%s.steps[%d].action", p, i), "a rule with a window cannot shape: nothing is due before the next %s", r.Window.Kind)
		}
	}
	if r.Adaptive != nil {
		return cfgjson.Errorf(cfgjson.Join(p, "adaptive"), "a rule with a window has no rate to step down")
	}
	if r.Overflow != nil {
		return cfgjson.Errorf(cfgjson.Join(p, "overflow"), "a rule with a window shares its own quota among the keys without a place")
	}
	return nil
}
