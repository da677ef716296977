package fleet

import (
	"time"

	"github.com/stepgate/stepgate/plugin/throttle"
)

// Decision is the fleet rules' answer for one request.
type Decision struct {
	// Action is Allow, Degrade or Reject (429 over the fleet limit, 503 for a fail-closed rule
	// whose service is unavailable).
	Action throttle.Action
	// Wait: a lease is on its way; hold the request and call Decide again (on the lease's answer or
	// the tick) until WaitUntil, then once more with the deadline passed.
	Wait      bool
	WaitUntil int64
	Status    int
	// RetryAfter is a rejection's Retry-After in whole seconds: until the service's window resets.
	RetryAfter int64
	Rule       string // the rule that rejected
	Degrade    throttle.Degradation
	// Fallback is the fallback buckets' decision when a fail-open rule's service is unavailable
	// (Fallen lists those rules); the glue merges it like a throttle decision.
	Fallback throttle.Decision
	Fallen   []string
	// Unavailable lists the fail-closed rules that rejected because the service is unavailable.
	Unavailable []string
}

// Decide evaluates every fleet rule that matches q at now. deadline is when the request, if it must
// wait for a lease, stops waiting (its arrival plus the rule's call timeout; 0 lets Decide set it
// from now): Decide never asks it to wait past that, and once it has passed the rule's fail mode
// applies. Tokens are taken from the leases for every admitting rule; on Reject or Wait they are
// given back. Lease calls Decide claims are in Calls.
func (f *Fleet) Decide(now int64, q *throttle.Request, deadline int64) (d Decision) {
	var taken [4]struct {
		r    *rule
		key  []byte
		cost int64
	}
	n := 0
	var fallen []int
	for i := range f.rules {
		r := &f.rules[i]
		if !r.Matches(q) {
			continue
		}
		r.kbuf = r.AppendKey(r.kbuf[:0], q)
		key := r.kbuf
		f.remember(i, key, q, now)
		dl := deadline
		if dl == 0 {
			dl = now + int64(r.Timeout)
		}
		o := f.decideRule(r, key, q, now, dl)
		switch {
		case o.unavailable && r.Fail == throttle.FailOpen:
			fallen = append(fallen, i)
		case o.unavailable:
			d.Unavailable = append(d.Unavailable, r.Name)
			if d.Action != throttle.Reject || d.Status != 429 {
				d.Action, d.Status, d.RetryAfter = throttle.Reject, 503, 1
			}
		case o.action == throttle.Reject:
			if d.Action != throttle.Reject || d.Status != 429 || o.retry > d.RetryAfter {
				d.Action, d.Status, d.RetryAfter, d.Rule = throttle.Reject, 429, o.retry, r.Name
			}
		case o.wait:
			if !d.Wait || o.waitUntil < d.WaitUntil {
				d.Wait, d.WaitUntil = true, o.waitUntil
			}
		default:
			d.Action = max(d.Action, o.action)
			if o.action == throttle.Degrade {
				mergeDegrade(&d.Degrade, &r.Steps[o.step])
			}
		}
		if o.cost > 0 && n < len(taken) {
			taken[n].r, taken[n].key, taken[n].cost = r, key, o.cost
			n++
		} else if o.cost > 0 {
			f.giveBack(r, key, o.cost) // more than four fleet rules: keep only what fits the array
		}
	}
	if d.Action == throttle.Reject || d.Wait {
		for _, t := range taken[:n] {
			f.giveBack(t.r, t.key, t.cost)
		}
		if d.Action == throttle.Reject {
			d.Wait = false
		}
		return d
	}
	if len(fallen) > 0 {
		f.decideFallback(&d, now, q, fallen)
	}
	return d
}

// decideFallback runs the fallen rules' fallback buckets.
func (f *Fleet) decideFallback(d *Decision, now int64, q *throttle.Request, fallen []int) {
	fq := *q
	fq.Headers = append(throttle.HeaderPairs(nil), q.Headers...)
	for _, i := range fallen {
		name := f.rules[i].Name
		d.Fallen = append(d.Fallen, name)
		fq.Headers = append(fq.Headers, [2]string{fallbackHeader(name), "1"})
	}
	d.Fallback = f.fallback.Decide(now, &fq)
}

type outcome struct {
	action      throttle.Action
	step        int
	cost        int64 // tokens taken from the lease
	retry       int64 // s, for a rejection
	wait        bool
	waitUntil   int64
	unavailable bool // the service is unavailable: the fail mode decides
}

func (f *Fleet) decideRule(r *rule, key []byte, q *throttle.Request, now, deadline int64) (o outcome) {
	full, _ := r.Cost(q, 0)
	err := f.update(r, key, func(e *entry) bool {
		o = outcome{step: -1}
		limit := r.limitOf(e)
		e.roll(now, limit)
		action, step, cost := r.ladder(e, q, full, limit)
		if action == throttle.Reject {
			o.action, o.step, o.retry = throttle.Reject, step, retryAfter(e, now, r.Window)
			return false
		}
		if e.avail >= cost { // served from the lease in hand
			e.avail -= cost
			o.action, o.step, o.cost = action, step, cost
			return true
		}
		switch {
		case e.overUntil > now:
			o.action, o.retry = throttle.Reject, ceilSeconds(e.overUntil-now)
			return false
		case e.down, now >= deadline:
			o.unavailable = true
			return false
		case e.pending > now:
			o.wait, o.waitUntil = true, min(e.pending, deadline)
			return false
		}
		// Empty: ask for the next block on the request path, enough for this request too.
		hits := max(e.block-e.avail, cost-e.avail)
		if e.remaining > 0 {
			hits = min(hits, max(e.remaining, cost-e.avail))
		}
		e.pending = now + 2*int64(r.Timeout)
		f.claim(r, key, q, hits)
		o.wait, o.waitUntil = true, deadline
		return true
	})
	if err != nil {
		return outcome{unavailable: true}
	}
	return o
}

// ladder picks the step for a request costing full tokens: the level is what the fleet has left
// as this Envoy last heard it (the service's limitRemaining) plus the lease in hand, minus the
// cost, and the steps switch at their fractions of the fleet limit.
func (r *rule) ladder(e *entry, q *throttle.Request, full, limit int64) (throttle.Action, int, int64) {
	level := e.remaining + e.avail - full
	start := -1
	for i := range r.Steps {
		if threshold(r.Steps[i].Below, limit) > level {
			start = i
		}
	}
	if start < 0 {
		if level >= 0 {
			return throttle.Allow, -1, full
		}
		return throttle.Reject, -1, 0
	}
	for i := start; i < len(r.Steps); i++ {
		s := &r.Steps[i]
		switch s.Action {
		case throttle.Allow:
			if level >= 0 {
				return throttle.Allow, i, full
			}
		case throttle.Degrade:
			_, c := r.Cost(q, s.MaxTokens)
			if e.remaining+e.avail-c >= 0 {
				return throttle.Degrade, i, c
			}
		case throttle.Reject:
			return throttle.Reject, i, 0
		}
	}
	return throttle.Reject, -1, 0
}

func threshold(t throttle.Threshold, limit int64) int64 {
	if t.Percent {
		return limit * t.PPM / 1e6
	}
	return t.Tokens
}

// retryAfter is a fleet rejection's Retry-After: until the service's window resets, as its
// durationUntilReset said; a window when that is not known yet.
func retryAfter(e *entry, now int64, window time.Duration) int64 {
	if e.overUntil > now {
		return ceilSeconds(e.overUntil - now)
	}
	if e.resetAt > now {
		return ceilSeconds(e.resetAt - now)
	}
	return ceilSeconds(int64(window))
}

func ceilSeconds(ns int64) int64 { return max(1, (ns+int64(time.Second)-1)/int64(time.Second)) }

func (f *Fleet) giveBack(r *rule, key []byte, n int64) {
	_ = f.update(r, key, func(e *entry) bool {
		e.avail += n
		return true
	})
}

func mergeDegrade(g *throttle.Degradation, s *throttle.Step) {
	if g.Model == "" {
		g.Model = s.Model
	}
	if s.MaxTokens > 0 && (g.MaxTokens == 0 || s.MaxTokens < g.MaxTokens) {
		g.MaxTokens = s.MaxTokens
	}
	g.SetHeaders = append(g.SetHeaders[:len(g.SetHeaders):len(g.SetHeaders)], s.SetHeaders...)
}
