package fleet

import (
	"bytes"
	"time"

	"github.com/stepgate/stepgate/plugin/throttle"
)

// Call is one lease call for the glue to send: POST Path on the configured cluster with Body,
// within Timeout. Hand the answer (or the failure) back with Complete, exactly once.
type Call struct {
	Body    []byte
	Timeout time.Duration
	Rule    string
	Hits    int64
	rule    int
	key     []byte
}

// Cluster and Authority are where Calls go.
func (f *Fleet) Cluster() string   { return f.cfg.Cluster }
func (f *Fleet) Authority() string { return f.cfg.Authority }

// Calls returns the lease calls claimed since the last call to Calls, and forgets them.
func (f *Fleet) Calls() []Call {
	c := f.calls
	f.calls = nil
	return c
}

func (f *Fleet) claim(r *rule, key []byte, q *throttle.Request, hits int64) {
	f.vals = keyValues(f.vals, r.Rule, q)
	f.addCall(r, key, f.vals, hits)
}

func (f *Fleet) addCall(r *rule, key []byte, values []string, hits int64) {
	hits = min(hits, maxHits)
	f.calls = append(f.calls, Call{Body: requestBody(nil, f.cfg.Domain, r.Rule, values, hits),
		Timeout: r.Timeout, Rule: r.Name, Hits: hits, rule: r.index, key: append([]byte(nil), key...)})
}

// remember puts key on the tick's list.
func (f *Fleet) remember(i int, key []byte, q *throttle.Request, now int64) {
	r := &f.rules[i]
	if k := r.last; k != nil && bytes.Equal(k.key, key) { // steady traffic: no map lookup (string hashing is dear in the VM)
		k.lastUse = now
		return
	}
	m := r.known
	k, ok := m[string(key)] // no allocation: the conversion is only looked up
	if !ok {
		if len(m) >= maxKnown {
			f.forget(now)
		}
		k = &known{rule: i, key: append([]byte(nil), key...), values: keyValues(nil, r.Rule, q)}
		m[string(k.key)] = k
	}
	k.lastUse = now
	r.last = k
}

// maxKnown bounds the keys one VM keeps on the tick's list.
const maxKnown = 4096

func (f *Fleet) forget(now int64) {
	for i := range f.rules {
		m := f.rules[i].known
		for id, k := range m {
			if now-k.lastUse > int64(knownFor) || len(m) >= maxKnown {
				delete(m, id)
				if f.rules[i].last == k {
					f.rules[i].last = nil
				}
			}
		}
	}
}

// Tick claims the lease calls due for the keys this VM served lately: a refill when a lease is at
// or below half its block (the service still has tokens in this window), and a probe once the
// retry interval of a failed call has passed. Call it from on_tick, then send Calls.
func (f *Fleet) Tick(now int64) {
	f.forget(now)
	for i := range f.rules {
		for _, k := range f.rules[i].known {
			f.tickKey(now, k)
		}
	}
}

func (f *Fleet) tickKey(now int64, k *known) {
	{
		r := &f.rules[k.rule]
		var hits int64
		_ = f.update(r, k.key, func(e *entry) bool {
			e.roll(now, r.limitOf(e))
			hits = 0
			if e.pending != 0 || e.overUntil != 0 {
				return false
			}
			switch {
			case e.down && now >= e.downUntil: // probe
				hits = max(e.block-e.avail, 1)
			case !e.down && e.avail*2 <= e.block && e.remaining > 0:
				hits = min(e.block-e.avail, e.remaining)
			}
			if hits <= 0 {
				return false
			}
			e.pending = now + 2*int64(r.Timeout)
			return true
		})
		if hits > 0 {
			f.addCall(r, k.key, k.values, hits)
		}
	}
}

// Event is what a call's answer changed, for the glue's metric and log line.
type Event uint8

const (
	Leased      Event = iota // the service granted the block
	OverLimit                // the service refused: the fleet limit is reached for this window
	Unavailable              // the call failed and the rule entered its fail mode
	StillDown                // the call failed again (a probe)
	Recovered                // the call succeeded after failures: enforcement resumes
)

// Complete hands back the answer to c: the HTTP status and body (status 0 for a failed call).
func (f *Fleet) Complete(now int64, c *Call, status int, body []byte) Event {
	if c.rule < 0 || c.rule >= len(f.rules) {
		return StillDown
	}
	r := &f.rules[c.rule]
	a := parseAnswer(status, body)
	ev := Leased
	err := f.update(r, c.key, func(e *entry) bool {
		e.pending = 0
		wasDown := e.down
		switch {
		case !a.ok:
			e.down, e.downUntil = true, now+int64(r.Retry)
			ev = StillDown
			if !wasDown {
				ev = Unavailable
			}
			return true
		case a.over:
			e.remaining, e.overUntil, e.resetAt = 0, now+max(a.reset, 1), now+max(a.reset, 1)
			ev = OverLimit
		default:
			e.avail += c.Hits
			e.remaining, e.limit, e.resetAt = a.remaining, a.limit, now+max(a.reset, 1)
			if a.limit == 0 { // a descriptor the service does not limit: it grants every lease
				e.remaining = r.Limit
			}
			r.adapt(e, now)
		}
		if wasDown {
			ev = Recovered
		}
		e.down, e.downUntil = false, 0
		return true
	})
	if err != nil {
		return StillDown
	}
	return ev
}

// adapt sizes the next block from how long the last one lasted: doubled while a block lasts less
// than half the lease period, halved once it lasts more than twice that.
func (r *rule) adapt(e *entry, now int64) {
	if e.refilled != 0 {
		switch lasted := now - e.refilled; {
		case lasted < int64(r.LeasePeriod)/2:
			e.block = min(2*e.block, r.MaxBlock)
		case lasted > 2*int64(r.LeasePeriod):
			e.block = max(e.block/2, r.MinBlock)
		}
	}
	e.refilled = now
}
