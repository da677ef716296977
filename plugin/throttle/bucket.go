package throttle

import (
	"math"
	"math/bits"
	"time"
)

// Fixed-point units. A rule's rate is Tokens per Period (reduced). Counting one token as
// Period×pctScale units and letting the bucket refill Tokens×pct units per nanosecond at pct percent
// of the rate makes every refill an exact integer: no rounding, no drift, and the adaptive
// step-down (a whole percentage) stays exact too. The parser bounds every quantity below 2^60.
const pctScale = 100

// bucket is the state of one key. The bucket holds capacity − debt units; debt is counted as of
// asOf and shrinks as time passes.
type bucket struct {
	debt  int64  // fixed units owed, ≥ 0
	asOf  int64  // ns: the time debt was last brought up to date
	tok   uint64 // the units per token debt was counted in (changes only with the configuration)
	pen   uint8  // percent of the rate in force during a cool-down; 0 means no step-down
	until int64  // ns: end of the cool-down
	// queue holds the release times of the requests this key holds (shape), ascending. An entry
	// stays until the glue reports the request gone (Resume or Release), however late that is,
	// so that it counts against max_queue for as long as the request is really held; one whose
	// release time is abandonAfter past is dropped (its worker VM failed).
	queue []int64
}

// pctAt returns the percentage of the rate in force at t and when that stretch ends (MaxInt64 for
// never). After the cool-down the rate climbs back in RecoverySteps equal steps, the first at
// until, one every RecoveryInterval.
func (r *rule) pctAt(b *bucket, t int64) (pct, end int64) {
	a := r.adapt
	if b.pen == 0 || a == nil {
		return pctScale, math.MaxInt64
	}
	pen := int64(b.pen)
	if t < b.until {
		return pen, b.until
	}
	k := satSub(t, b.until)/a.interval + 1 // t ≥ until: k ≥ 1
	if k >= a.steps {
		return pctScale, math.MaxInt64
	}
	return pen + (pctScale-pen)*k/a.steps, satAdd(b.until, k*a.interval)
}

// drain pays debt back for the time from..to at the rate schedule in force.
func (r *rule) drain(b *bucket, from, to int64) {
	for t := from; t < to && b.debt > 0; {
		pct, end := r.pctAt(b, t)
		if end > to {
			end = to
		}
		perNs := r.n * pct
		if satSub(end, t) >= ceilDiv(b.debt, perNs) {
			b.debt = 0
			return
		}
		b.debt -= (end - t) * perNs // less than the debt: no overflow
		t = end
	}
}

// advance brings b up to now: converts a debt counted under another configuration, pays back the
// time since asOf, forgets released queue entries and a finished step-down. A clock that reads
// earlier than asOf (another worker wrote later) pays back nothing, so no interval counts twice.
func (r *rule) advance(b *bucket, now int64) {
	if b.tok != uint64(r.tok) {
		if b.tok != 0 {
			b.debt = int64(mulDivCeil(uint64(b.debt), uint64(r.tok), b.tok, uint64(r.settleMax)))
		}
		b.tok = uint64(r.tok)
	}
	if b.debt > r.settleMax {
		b.debt = r.settleMax
	}
	if r.cal != nil {
		r.advanceCalendar(b, now)
	} else if now > b.asOf {
		if b.pen != 0 && r.adapt != nil {
			r.drain(b, b.asOf, now)
		} else if b.debt > 0 {
			// The full rate throughout: drain's first and only stretch, written out here because a
			// call costs more in the VM than this arithmetic.
			elapsed := uint64(now) - uint64(b.asOf) // exact: now > asOf
			if elapsed >= uint64(ceilDiv(b.debt, r.full)) {
				b.debt = 0
			} else {
				b.debt -= int64(elapsed) * r.full // less than the debt: no overflow
			}
		}
		b.asOf = now
	}
	if len(b.queue) > 0 && b.queue[0] <= now-abandonAfter {
		i := 0
		for i < len(b.queue) && b.queue[i] <= now-abandonAfter {
			i++
		}
		b.queue = b.queue[i:]
	}
	if b.pen != 0 {
		if pct, _ := r.pctAt(b, now); pct == pctScale {
			b.pen, b.until = 0, 0
		}
	}
}

// abandonAfter is how long past its release time a held request that was never reported gone
// keeps its place in the queue: far longer than any tick runs late, short enough that a failed
// worker VM does not block shaping for long.
const abandonAfter = int64(time.Minute)

// refillTime returns how long from `from` it takes to refill x units (0 when x ≤ 0), following the
// rate schedule of b.
func (r *rule) refillTime(b *bucket, from, x int64) int64 {
	if r.cal != nil {
		return r.calendarRefill(from, x)
	}
	if x <= 0 {
		return 0
	}
	t := from
	for {
		pct, end := r.pctAt(b, t)
		perNs := r.n * pct
		need := ceilDiv(x, perNs)
		if end == math.MaxInt64 || satSub(end, t) >= need {
			return satSub(satAdd(t, need), from)
		}
		x -= (end - t) * perNs // less than x: no overflow
		t = end
	}
}

// refilled is the units refilled from `from` to `to`, capped at limit.
func (r *rule) refilled(b *bucket, from, to, limit int64) int64 {
	if r.cal != nil {
		if to >= satAdd(from, r.calendarRefill(from, limit)) {
			return limit
		}
		return 0
	}
	var sum int64
	for t := from; t < to && sum < limit; {
		pct, end := r.pctAt(b, t)
		end = min(end, to)
		perNs := r.n * pct
		if satSub(end, t) >= ceilDiv(limit-sum, perNs) {
			return limit
		}
		sum += (end - t) * perNs // less than limit−sum: no overflow
		t = end
	}
	return min(sum, limit)
}

// firstWindow returns the earliest t ≥ from at which a window of length d refills x units, or
// MaxInt64 for never. The rate never decreases along b's schedule, so the refill over a window
// only grows with t: bisection over the recovery finds it.
func (r *rule) firstWindow(b *bucket, from, d, x int64) int64 {
	ok := func(t int64) bool { return r.refilled(b, t, satAdd(t, d), x) >= x }
	if ok(from) {
		return from
	}
	last := from // after the last recovery step the rate is constant
	if b.pen != 0 && r.adapt != nil {
		last = max(from, satAdd(b.until, (r.adapt.steps-1)*r.adapt.interval))
	}
	if !ok(last) {
		return math.MaxInt64
	}
	lo, hi := from, last // ok(hi), !ok(lo)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// idle reports whether b, advanced to now, is indistinguishable from a fresh bucket: full, nothing
// held, no step-down. Forgetting it loses nothing, so its slot can go to another key.
func (b *bucket) idle() bool {
	return b.debt == 0 && len(b.queue) == 0 && b.pen == 0
}

// verdict is one rule's answer for one request.
type verdict struct {
	action Action
	step   int   // the step that decided; -1 for the implicit allow or reject
	cost   int64 // tokens reserved (0 when rejected)
	delay  int64 // ns to hold the request (shape)
	retry  int64 // ns until the request would be admitted (reject)
}

// demand is what one request asks of one rule's bucket, in tokens.
type demand struct {
	cost   int64 // the request as sent
	prompt int64 // LLMTokens: the prompt estimate
	comp   int64 // LLMTokens: the completion tokens asked for (or the rule's default), per choice
	// choices is the completions asked for (≥ 1 for LLMTokens): a max_tokens cap applies to each.
	choices int64
	// inPrice and outPrice are the prices of a Cost request, micro-units per million tokens.
	inPrice, outPrice int64
	priceOf           func(model string) (input, output int64, ok bool)
}

// micros is what a Cost request costs with comp completion tokens per choice, in micro-units,
// rounded up: the prompt at the input price and the completions at the output price.
func (d demand) micros(comp int64) int64 {
	in := mulDivCeil(uint64(d.prompt), uint64(d.inPrice), 1e6, maxFixed)
	out := mulDivCeil(uint64(comp*d.choices), uint64(d.outPrice), 1e6, maxFixed)
	return int64(in + out)
}

// costAt is the request's cost once step s has degraded it: a max_tokens cap lowers the
// completion estimate of an LLMTokens request.
func (r *rule) costAt(d demand, s *step) int64 {
	if r.cfg.Unit == Cost {
		return r.costAtPrices(d, s)
	}
	if !r.cfg.Unit.counted() || s.maxTokens == 0 || s.maxTokens >= d.comp {
		return d.cost
	}
	return min(max(d.prompt+s.maxTokens*d.choices, 1), r.cfg.Burst)
}

// costAtPrices is costAt for a Cost request: a degrade step's model at its own prices (when the
// request knows them), its max_tokens cap on the completion.
func (r *rule) costAtPrices(d demand, s *step) int64 {
	changed := false
	if s.cfg != nil && s.cfg.Model != "" && d.priceOf != nil {
		if in, out, ok := d.priceOf(s.cfg.Model); ok {
			d.inPrice, d.outPrice, changed = max(in, 0), max(out, 0), true
		}
	}
	comp := d.comp
	if s.maxTokens > 0 && s.maxTokens < comp {
		comp, changed = s.maxTokens, true
	}
	if !changed {
		return d.cost
	}
	return min(max(d.micros(comp), 1), r.cfg.Burst)
}

// decide runs the ladder for request d against b, already advanced to now, and reserves the
// tokens when the request is admitted.
//
// The level after the request, lp = capacity − debt − cost, picks the starting step: the last one
// whose threshold is above lp (none: the implicit allow). From there the steps are tried in order
// until one can take the request: allow and degrade need the tokens to be there now; shape holds
// the request until lp has refilled to the step's threshold, if that is within max_delay and
// fewer than max_queue requests are held; reject, or running out of steps, rejects.
func (r *rule) decide(b *bucket, now int64, d demand) verdict {
	// The debt is counted as of asOf, which is later than now when another worker with a later
	// clock reading wrote last: waits are measured from there.
	base := max(now, b.asOf)
	avail := r.cap - b.debt
	lp := avail - d.cost*r.tok
	start := -1
	for i := range r.steps {
		if r.steps[i].level > lp {
			start = i
		}
	}
	v := verdict{action: Reject, step: -1}
ladder:
	for i := start; i < len(r.steps); i++ {
		if i < 0 {
			if lp >= 0 {
				v = verdict{action: Allow, step: -1, cost: d.cost}
				break ladder
			}
			continue
		}
		s := &r.steps[i]
		switch s.action {
		case Allow:
			if lp >= 0 {
				v = verdict{action: Allow, step: i, cost: d.cost}
				break ladder
			}
		case Degrade:
			if c := r.costAt(d, s); avail-c*r.tok >= 0 {
				v = verdict{action: Degrade, step: i, cost: c}
				break ladder
			}
		case Shape:
			delay := satAdd(r.refillTime(b, base, s.level-lp), satSub(base, now))
			if delay == 0 {
				v = verdict{action: Allow, step: i, cost: d.cost}
				break ladder
			}
			if delay <= s.maxDelay && len(b.queue) < s.maxQueue {
				v = verdict{action: Shape, step: i, cost: d.cost, delay: delay}
				break ladder
			}
		case Reject:
			v.step = i
			break ladder
		}
	}
	if v.action == Reject {
		v.retry = r.retryAfter(b, now, d)
		return v
	}
	// Admit: reserve the tokens; a held request also takes its place in the queue.
	b.debt += v.cost * r.tok
	if v.delay > 0 {
		b.queue = insertSorted(b.queue, satAdd(now, v.delay))
	}
	return v
}

// retryAfter returns the earliest time from now at which the same request would be admitted, were
// nothing else to happen: for each step that can admit, the time its conditions hold (the level
// after the request reaches the step's band and the step's own bound; for shape, also a free place
// in the queue), and the minimum of those. Admission only gets easier as the bucket refills and the
// queue drains, so that minimum is exact.
func (r *rule) retryAfter(b *bucket, now int64, d demand) int64 {
	base := max(now, b.asOf)
	w := window{r: r, b: b, now: base, lp: r.cap - b.debt - d.cost*r.tok, top: r.cap - d.cost*r.tok}
	best := int64(math.MaxInt64)
	for i := -1; i < len(r.steps); i++ {
		reach := int64(math.MinInt64) // lp must be at least the next step's threshold to get here
		if i+1 < len(r.steps) {
			reach = r.steps[i+1].level
		}
		if i < 0 {
			best = min(best, w.until(max(reach, 0)))
			continue
		}
		s := &r.steps[i]
		switch s.action {
		case Allow:
			best = min(best, w.until(max(reach, 0)))
		case Degrade:
			best = min(best, w.until(max(reach, -(d.cost-r.costAt(d, s))*r.tok)))
		case Shape:
			best = min(best, w.shaped(s, reach))
		}
	}
	if best == math.MaxInt64 { // no step can ever take it (a reject step at 100%): a full bucket
		best = r.refillTime(b, base, b.debt)
	}
	return max(satAdd(best, satSub(base, now)), 1)
}

// window answers "how long until the level after the request reaches x" for one bucket.
type window struct {
	r       *rule
	b       *bucket
	now     int64
	lp, top int64 // the level after the request now, and the highest it can reach (a full bucket)
}

func (w *window) until(level int64) int64 {
	if level <= w.lp {
		return 0
	}
	if level > w.top {
		return math.MaxInt64
	}
	return w.r.refillTime(w.b, w.now, level-w.lp)
}

// shaped is when shape step s could take the request: outright once the level reaches the step's
// threshold, or held once the wait would be within max_delay and the queue has room.
func (w *window) shaped(s *step, reach int64) int64 {
	direct := w.until(max(reach, s.level))
	// Refill is additive, so a wait within max_delay at now+t means s.level−lp refilled by
	// now+t+max_delay — as long as the bucket has not filled up before t.
	need := w.r.refillTime(w.b, w.now, s.level-w.lp)
	held := need - s.maxDelay
	if full := w.until(w.top); held > full {
		// The bucket fills up first and stops refilling; from then on the wait only shortens if
		// the rate climbs back after a step-down.
		t := w.r.firstWindow(w.b, satAdd(w.now, full), s.maxDelay, s.level-w.top)
		if t == math.MaxInt64 {
			return direct
		}
		held = satSub(t, w.now)
	}
	held = max(held, w.until(reach), 0)
	if n := len(w.b.queue); n >= s.maxQueue {
		held = max(held, satSub(w.b.queue[n-s.maxQueue], w.now))
	}
	return min(direct, held)
}

// remaining is the whole tokens left in b.
func (r *rule) remaining(b *bucket) int64 {
	if b.debt >= r.cap {
		return 0
	}
	return int64(uint64(r.cap-b.debt) / uint64(r.tok)) // unsigned: one instruction in the VM
}

func insertSorted(q []int64, t int64) []int64 {
	q = append(q, t)
	for i := len(q) - 1; i > 0 && q[i-1] > q[i]; i-- {
		q[i-1], q[i] = q[i], q[i-1]
	}
	return q
}

// removeValue drops one occurrence of t from q.
func removeValue(q []int64, t int64) []int64 {
	for i, v := range q {
		if v == t {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0. The division is unsigned: the VM divides signed 64-bit
// integers in a runtime call (for MinInt64/-1), unsigned ones in one instruction.
func ceilDiv(a, b int64) int64 {
	q := uint64(a) / uint64(b)
	return int64(q) + boolInt(uint64(a) != q*uint64(b))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// satAdd adds without wrapping around.
func satAdd(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// satSub subtracts without wrapping around.
func satSub(a, b int64) int64 {
	if b == math.MinInt64 {
		if a >= 0 {
			return math.MaxInt64
		}
		return a - b
	}
	return satAdd(a, -b)
}

// lessProduct reports whether a×b < c×d, exactly. Counts and bursts are nearly always below 2^32,
// where plain 64-bit products are exact; the VM has no 128-bit multiply.
func lessProduct(a, b, c, d uint64) bool {
	if (a|b|c|d)>>32 == 0 {
		return a*b < c*d
	}
	abHi, abLo := bits.Mul64(a, b)
	cdHi, cdLo := bits.Mul64(c, d)
	return abHi < cdHi || abHi == cdHi && abLo < cdLo
}

// mulDivCeil is ⌈a×b/c⌉ computed in 128 bits, capped at limit.
func mulDivCeil(a, b, c, limit uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if c == 0 || hi >= c {
		return limit
	}
	q, rem := bits.Div64(hi, lo, c)
	if rem != 0 {
		q++
	}
	return min(q, limit)
}

// mulDiv is ⌊a×b/c⌋ computed in 128 bits, for results known to fit.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if c == 0 || hi >= c {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}
