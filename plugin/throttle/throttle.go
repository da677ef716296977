package throttle

import (
	"cmp"
	"errors"
	"math"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
)

// Throttler applies a Config to requests, keeping its buckets in a shareddata.Store. One
// Throttler belongs to one VM (it keeps scratch buffers and is not safe for concurrent use);
// several Throttlers over the same store behave like the worker VMs of one Envoy.
type Throttler struct {
	cfg     Config
	rules   []rule
	store   shareddata.Store
	retries int

	// scratch, reused by every call
	sv   setView
	sv2  setView // a key's second set
	nb   bucket  // a new key's bucket
	q    []int64
	enc  []byte
	kbuf []byte
	// keyText is the arena the reservations' keys live in (see key).
	keyText []byte
	fail    error // the last store failure, for Err
}

// rule is a Rule compiled into fixed-point units (see bucket.go).
type rule struct {
	cfg       *Rule
	n         int64 // units refilled per ns at 1% of the rate: Rate.Tokens
	full      int64 // units refilled per ns at the full rate: n × pctScale
	window    int64 // seconds to refill a full bucket at the full rate
	tok       int64 // units per token: Rate.Period × 100
	cap       int64 // Burst × tok
	settleMax int64 // the most debt a bucket may carry: a full bucket, shaping's debt and one more bucket of settled usage
	steps     []step
	adapt     *adapt
	nsets     uint32
	prefix    string   // shared-data key prefix of the rule's sets
	setKeys   []string // shared-data keys, built once
	hasDeg    bool
	matchAll  bool        // Match selects every request
	burstText string      // Burst in decimal, for X-RateLimit-Limit
	text      *headerText // the Throttler's, shared by its rules
	ovf       *rule       // the overflow bucket of a keyed rule
	cal       *calendar   // a quota over calendar windows; nil for a refilling bucket
	viaRoute  bool        // depends on where the request is routed (see routed.go)
}

type step struct {
	cfg       *Step
	action    Action
	level     int64 // threshold in units
	maxDelay  int64 // ns
	maxQueue  int
	maxTokens int64
}

type adapt struct {
	statuses        []int
	factor, min     int64
	cooldown        int64
	interval, steps int64
}

// KeyPrefix starts every shared-data key the package writes.
const KeyPrefix = "stepgate.throttle.v1/"

// New compiles cfg and makes sure every set of every rule exists in store. Call it from
// on_configure in every worker: creating the sets before any request arrives is what makes the
// first updates of a key race-free, because shared data has no create-if-absent (see
// docs/THROTTLING.md). A store error is returned; the Throttler is usable anyway and creates
// missing sets as it meets them.
func New(cfg Config, store shareddata.Store) (*Throttler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Throttler{cfg: cfg, store: store, retries: cfg.CASRetries}
	if t.retries <= 0 {
		t.retries = DefaultCASRetries
	}
	t.rules = make([]rule, len(cfg.Rules))
	text := new(headerText)
	for i := range t.cfg.Rules {
		c := &t.cfg.Rules[i]
		t.rules[i] = compile(c, cfg.ReleaseSlack)
		t.rules[i].text = text
		t.rules[i].viaRoute = dependsOnRoute(c)
		if len(c.Key) > 0 {
			ovf := compile(overflowRule(c), cfg.ReleaseSlack)
			ovf.text = text
			ovf.viaRoute = t.rules[i].viaRoute
			ovf.prefix = KeyPrefix + c.Name + "/overflow/"
			t.rules[i].ovf = &ovf
		}
	}
	var firstErr error
	for i := range t.rules {
		for _, r := range []*rule{&t.rules[i], t.rules[i].ovf} {
			for s := uint32(0); r != nil && s < r.nsets; s++ {
				if err := t.ensureSet(r.setKey(s)); err != nil && firstErr == nil {
					firstErr = err
				}
			}
		}
	}
	return t, firstErr
}

// compile turns c into fixed-point units. A hold is planned within max_delay − slack, the
// lateness the glue's release adds on time.
func compile(c *Rule, slack time.Duration) rule {
	r := rule{cfg: c, n: int64(c.Rate.Tokens), tok: int64(c.Rate.Period) * pctScale, burstText: itoa(c.Burst)}
	r.cap = c.Burst * r.tok
	shapeMax := int64(0)
	for i := range c.Steps {
		s := &c.Steps[i]
		st := step{cfg: s, action: s.Action, level: thresholdFixed(s.Below, *c), maxDelay: int64(s.MaxDelay),
			maxQueue: s.MaxQueue, maxTokens: s.MaxTokens}
		if s.Action == Shape {
			st.maxDelay = max(st.maxDelay-int64(slack), 0)
		}
		if s.Action == Shape {
			shapeMax = st.maxDelay * r.n * pctScale
		}
		r.hasDeg = r.hasDeg || s.Action == Degrade
		r.steps = append(r.steps, st)
	}
	r.settleMax = 2*r.cap + shapeMax
	r.full = r.n * pctScale
	r.window = refillWindow(r.cap, r.full)
	m := &c.Match
	r.matchAll = len(m.PathPrefixes)+len(m.Methods)+len(m.Models)+len(m.Providers)+len(m.Tenants)+len(m.APIKeys)+
		len(m.MCPTools)+len(m.MCPMethods)+len(m.Headers)+len(m.Tiers) == 0
	if a := c.Adaptive; a != nil {
		r.adapt = &adapt{statuses: a.OnStatus, factor: int64(a.Factor), min: int64(a.Min),
			cooldown: int64(a.Cooldown), interval: int64(a.RecoveryInterval), steps: int64(a.RecoverySteps)}
	}
	r.nsets = 1
	if len(c.Key) > 0 {
		maxKeys := c.MaxKeys
		if maxKeys <= 0 {
			maxKeys = DefaultMaxKeys
		}
		r.nsets = tableSets(maxKeys)
	}
	if c.Window.Kind != NoWindow {
		r.cal = &calendar{cfg: c.Window}
	}
	r.prefix = KeyPrefix + c.Name + "/" + itoa(int64(r.nsets)) + "/"
	r.setKeys = make([]string, r.nsets)
	return r
}

// overflowRule is the rule of c's overflow bucket: c's ladder over one bucket at the overflow's
// rate and burst (the rule's when it names none). A threshold in tokens above that burst is
// capped at it.
func overflowRule(c *Rule) *Rule {
	o := *c
	o.Key, o.MaxKeys, o.Overflow = nil, 1, nil
	if c.Overflow != nil {
		o.Rate, o.Burst = c.Overflow.Rate, c.Overflow.Burst
	}
	o.Steps = append([]Step(nil), c.Steps...)
	for i := range o.Steps {
		if b := &o.Steps[i].Below; !b.Percent {
			b.Tokens = min(b.Tokens, o.Burst)
		}
	}
	return &o
}

// thresholdFixed converts a threshold to units of r's bucket.
func thresholdFixed(t Threshold, r Rule) int64 {
	tok := uint64(r.Rate.Period) * pctScale
	if t.Percent {
		return int64(mulDiv(uint64(r.Burst)*tok, uint64(t.PPM), 1e6))
	}
	return t.Tokens * int64(tok)
}

func (r *rule) setKey(i uint32) string {
	if k := r.setKeys[i]; k != "" {
		return k
	}
	return r.newSetKey(i)
}

func (r *rule) newSetKey(i uint32) string {
	r.setKeys[i] = r.prefix + itoa(int64(i))
	return r.setKeys[i]
}

// setsOf picks key's two sets: FNV-1a, mixed so that both halves depend on every byte, each half
// modulo the number of sets. The two may be the same set.
func (r *rule) setsOf(key []byte) (a, b uint32) {
	if r.nsets == 1 {
		return 0, 0
	}
	h := uint64(14695981039346656037)
	for _, c := range key {
		h = (h ^ uint64(c)) * 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	n := uint64(r.nsets)
	return uint32((h & 0xffffffff) % n), uint32((h >> 32) % n)
}

// tableSets is the number of sets that holds maxKeys keys in use: all of them in one set up to
// `ways`, else room for twice as many entries and eight sets more. With each new key placed in
// the emptier of its two sets, that has always held max_keys random keys (docs/THROTTLING.md).
func tableSets(maxKeys int) uint32 {
	if maxKeys <= ways {
		return 1
	}
	return uint32((2*maxKeys+ways-1)/ways + spareSets)
}

// spareSets are the sets beyond twice max_keys' entries: small tables need the most headroom.
const spareSets = 8

// ensureSet creates a set that does not exist yet.
func (t *Throttler) ensureSet(key string) error {
	_, _, err := t.store.Get(key)
	if errors.Is(err, shareddata.ErrNotFound) {
		err = t.store.Set(key, emptySet, 0)
	}
	return err
}

// Failure says why a rule could not use its bucket.
type Failure uint8

const (
	NoFailure    Failure = iota
	StoreFailure         // the store answered an error other than a CAS mismatch
	Contention           // every compare-and-swap attempt lost to another worker
)

var failureNames = [...]string{"", "store error", "cas retries exhausted"}

func (f Failure) String() string {
	if int(f) < len(failureNames) {
		return failureNames[f]
	}
	return "failure"
}

var (
	errContention = errors.New("throttle: cas retries exhausted")
	errOverflow   = errors.New("throttle: key table full") // never a Failure: see decideRule
)

func failureOf(err error) Failure {
	if err == errContention {
		return Contention
	}
	return StoreFailure
}

// Err returns the last store error a call met (nil when none), for the glue to log.
func (t *Throttler) Err() error { return t.fail }

// NeedsBody reports whether some rule needs facts that come from the request body (the model, or
// the token estimate), so that the glue knows to buffer the body before calling Decide.
func (t *Throttler) NeedsBody() bool {
	for i := range t.rules {
		c := t.rules[i].cfg
		if c.Unit.counted() || len(c.Match.Models) > 0 {
			return true
		}
		for _, s := range c.Key {
			if s.Kind == SelModel {
				return true
			}
		}
	}
	return false
}

// Decide evaluates every rule that matches req at time now (wall-clock nanoseconds since the
// Unix epoch, the same clock in every worker; see plugin/clock) and returns
// the combined decision. Tokens are reserved for every admitting rule; when the decision is
// Reject, they are given back before Decide returns. Otherwise keep the Decision's Reservation
// for Settle, Release and ObserveUpstream.
func (t *Throttler) Decide(now int64, req *Request) (d Decision) {
	for i := range t.rules {
		r := &t.rules[i]
		if r.matchAll || r.matches(req) {
			t.decideRule(d.Reservation.next(), r, now, req)
		}
	}
	t.conclude(&d, now)
	return d
}

func (t *Throttler) decideRule(out *Outcome, r *rule, now int64, req *Request) {
	var key []byte
	if len(r.cfg.Key) > 0 {
		key = t.key(r, req)
	}
	o := op{kind: opDecide, d: demand{cost: 1}}
	if r.cfg.Unit.counted() {
		o.d = r.demandOf(req)
	}
	out.rule, out.key, out.Shadow, out.Step = r, key, r.cfg.Shadow, -1 // the rest is zero: see next
	err := t.run(r, key, now, &o)
	if err == errOverflow {
		// The key has no bucket of its own: all such keys together draw from the overflow
		// bucket, so rotating key values never escapes the limit.
		out.rule, out.Overflow = r.ovf, true
		if r.cfg.Unit.counted() {
			o.d = r.ovf.demandOf(req)
		}
		err = t.run(r.ovf, nil, now, &o)
	}
	if err != nil {
		out.Failure = failureOf(err)
		if r.cfg.Fail == FailClosed {
			out.Action, out.RetryAfter = Reject, time.Second
		}
		return
	}
	v := &o.v
	out.Action, out.Step, out.Cost = v.action, v.step, v.cost
	out.Delay, out.RetryAfter = time.Duration(v.delay), time.Duration(v.retry)
	out.reserved = v.action != Reject
	if v.delay > 0 {
		out.releaseAt = satAdd(now, v.delay)
	}
	out.setState(&o)
}

// key returns req's key under r. Keys outlive the call (Settle, Release and ObserveUpstream use
// them), so they are copied into an append-only arena rather than allocated one by one: bytes
// handed out are never written again, and a chunk with little room left is abandoned to the
// reservations that point into it.
func (t *Throttler) key(r *rule, req *Request) []byte {
	t.kbuf = r.appendKey(t.kbuf[:0], req)
	if cap(t.keyText)-len(t.keyText) < len(t.kbuf) {
		t.keyText = make([]byte, 0, max(keyChunk, len(t.kbuf)))
	}
	start := len(t.keyText)
	t.keyText = append(t.keyText, t.kbuf...)
	return t.keyText[start:len(t.keyText):len(t.keyText)]
}

// keyChunk is the key arena's chunk size: a few dozen requests' keys.
const keyChunk = 2048

// conclude combines the rules' outcomes: the most severe enforced action wins; a rejection gives
// back what the other rules reserved.
func (t *Throttler) conclude(d *Decision, now int64) {
	outs := d.Reservation.Outcomes()
	for i := range outs {
		if !outs[i].Shadow {
			d.Action = max(d.Action, outs[i].Action)
		}
	}
	if d.Action == Reject {
		d.Status = 503
		var retry time.Duration
		for i := range outs {
			o := &outs[i]
			if !o.Shadow && o.Action == Reject {
				retry = max(retry, o.RetryAfter)
				if o.Failure == NoFailure {
					d.Status = 429
				}
			}
		}
		d.RetryAfter = int64(ceilDiv(int64(retry), int64(time.Second)))
		t.Release(now, &d.Reservation)
		return
	}
	for i := range outs {
		o := &outs[i]
		if o.Shadow {
			continue
		}
		d.Delay = max(d.Delay, o.Delay)
		if o.Action == Degrade && o.Step >= 0 {
			d.Degrade.merge(o.rule.steps[o.Step].cfg)
		}
	}
}

// Release gives back the tokens of every rule in res, for a request that never reached the
// upstream (the client went away while it was held, or the glue gave up on it). Releasing twice
// is harmless. An error (the first one) means some tokens stay taken until they refill.
func (t *Throttler) Release(now int64, res *Reservation) error {
	var first error
	outs := res.Outcomes()
	for i := range outs {
		o := &outs[i]
		if !o.reserved {
			continue
		}
		op := op{kind: opRelease, tokens: o.Cost, at: o.releaseAt}
		if err := t.run(o.rule, o.bucketKey(), now, &op); err != nil {
			first = cmp.Or(first, err)
		} else {
			o.setState(&op)
		}
		o.reserved, o.Cost, o.releaseAt = false, 0, 0
	}
	return first
}

// Resume reports that the requests of res that shaping held have left for the upstream: each
// frees its place in its bucket's queue. Until then a held request counts against max_queue
// however late it is released, so the bound holds when the release tick runs late. Calling it
// again, or for a request that was not held, does nothing.
func (t *Throttler) Resume(now int64, res *Reservation) error {
	var first error
	outs := res.Outcomes()
	for i := range outs {
		o := &outs[i]
		if o.releaseAt == 0 {
			continue
		}
		op := op{kind: opLeave, at: o.releaseAt}
		if err := t.run(o.rule, o.bucketKey(), now, &op); err != nil {
			first = cmp.Or(first, err)
		}
		o.releaseAt = 0
	}
	return first
}

// Settle corrects the reservation of every llm_tokens rule in res to the usage the response
// reported: the difference between actual and what is reserved is refunded or charged to the same
// buckets. It may be called again with a larger cumulative usage (a stream reporting usage as it
// goes); each call charges only the change. An error (the first one) means some bucket keeps the
// reservation as it was; a later call may still correct it.
func (t *Throttler) Settle(now int64, res *Reservation, actual int64) error {
	return t.settleUnit(now, res, LLMTokens, min(max(actual, 0), maxTokensLimit))
}

// SettleCost is Settle for the rules of unit cost: micros is the call's cost so far in
// micro-units, from the reported usage at the upstream model's prices.
func (t *Throttler) SettleCost(now int64, res *Reservation, micros int64) error {
	return t.settleUnit(now, res, Cost, min(max(micros, 0), maxCostMicros))
}

// Charge raises the reservation of every llm_tokens rule in res to tokens: for a stream still
// flowing, what it has carried so far (counted approximately) and a little ahead. It never
// refunds, so a stream cannot give back its reservation before its usage is known; Settle
// corrects it exactly at the end. Charging as the stream flows lets concurrent requests see the
// budget drain while it is still open.
func (t *Throttler) Charge(now int64, res *Reservation, tokens int64) error {
	return t.chargeUnit(now, res, LLMTokens, min(max(tokens, 0), maxTokensLimit))
}

// ChargeCost is Charge for the rules of unit cost: micros is what the stream has cost so far (and
// a little ahead), in micro-units.
func (t *Throttler) ChargeCost(now int64, res *Reservation, micros int64) error {
	return t.chargeUnit(now, res, Cost, min(max(micros, 0), maxCostMicros))
}

func (t *Throttler) chargeUnit(now int64, res *Reservation, unit Unit, tokens int64) error {
	var first error
	outs := res.Outcomes()
	for i := range outs {
		o := &outs[i]
		if !o.reserved || o.rule.cfg.Unit != unit || tokens <= o.Cost {
			continue
		}
		if err := t.settleOne(now, o, tokens); err != nil {
			first = cmp.Or(first, err)
		}
	}
	return first
}

func (t *Throttler) settleOne(now int64, o *Outcome, actual int64) error {
	op := op{kind: opSettle, tokens: actual - o.Cost}
	if err := t.run(o.rule, o.bucketKey(), now, &op); err != nil {
		return err
	}
	o.setState(&op)
	o.Cost = actual
	return nil
}

func (t *Throttler) settleUnit(now int64, res *Reservation, unit Unit, actual int64) error {
	var first error
	outs := res.Outcomes()
	for i := range outs {
		o := &outs[i]
		if !o.reserved || o.rule.cfg.Unit != unit || actual == o.Cost {
			continue
		}
		if err := t.settleOne(now, o, actual); err != nil {
			first = cmp.Or(first, err)
		}
	}
	return first
}

// ObserveUpstream reports the upstream's answer to a request decided with res. A status the
// rule's adaptive section lists, or any positive retryAfter, steps the rate of that rule's bucket
// down (see Adaptive).
func (t *Throttler) ObserveUpstream(now int64, res *Reservation, status int, retryAfter time.Duration) error {
	var first error
	outs := res.Outcomes()
	for i := range outs {
		o := &outs[i]
		a := o.rule.adapt
		if a == nil || o.Failure != NoFailure || !(retryAfter > 0 || containsInt(a.statuses, status)) {
			continue
		}
		op := op{kind: opSignal, retry: int64(max(retryAfter, 0))}
		if err := t.run(o.rule, o.bucketKey(), now, &op); err != nil {
			first = cmp.Or(first, err)
			continue
		}
		o.setState(&op)
	}
	return first
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// --- the compare-and-swap loop ------------------------------------------------------------------

type opKind uint8

const (
	opDecide  opKind = iota // run the ladder, reserve
	opRelease               // give tokens back, leave the queue
	opSettle                // charge (or refund, when negative) tokens
	opSignal                // step the rate down
	opLeave                 // a held request has left: free its place in the queue
)

type op struct {
	kind   opKind
	d      demand // opDecide
	tokens int64  // opRelease: tokens to give back; opSettle: tokens to charge
	at     int64  // opRelease: the held request's release time, 0 if it was not held
	retry  int64  // opSignal: the upstream's retry-after, ns

	// results, from the attempt that won
	v                        verdict
	remaining, reset, window int64
}

// run applies o to key's bucket: find the key in its two sets (or give it a place), compute, write
// the set back if it changed, conditional on the cas read; a lost race starts over, up to the retry
// bound. A key that finds no place gets errOverflow.
func (t *Throttler) run(r *rule, key []byte, now int64, o *op) error {
	sa, sb := r.setsOf(key)
	for attempt := 0; attempt < t.retries; attempt++ {
		sk := r.setKey(sa)
		val, cas, again, err := t.load(sk, &t.sv)
		if err != nil {
			return t.failed(err)
		}
		if again {
			continue
		}
		sv := &t.sv
		idx, found := sv.find(key)
		if !found && sb != sa {
			// The key may live in its second set; a new key goes to whichever has more room.
			sk2 := r.setKey(sb)
			val2, cas2, again, err := t.load(sk2, &t.sv2)
			if err != nil {
				return t.failed(err)
			}
			if again {
				continue
			}
			i2, found2 := t.sv2.find(key)
			if !found2 && !(o.kind == opRelease || o.kind == opLeave || o.kind == opSettle && o.tokens < 0) {
				ia, liveA := claim(r, sv, now)
				ib, liveB := claim(r, &t.sv2, now)
				if ib >= 0 && (ia < 0 || liveB < liveA) {
					i2 = ib
				} else {
					i2 = -1
					idx = ia
				}
			}
			if found2 || i2 >= 0 {
				sk, val, cas, sv, idx, found = sk2, val2, cas2, &t.sv2, i2, found2
			}
		}
		var b *bucket // the decoded entry's own, worked on in place
		switch {
		case found:
			e := &sv.ent[idx]
			b = &e.b
			if len(e.queue) > 0 {
				t.q = e.queueInto(t.q)
				b.queue = t.q
			}
		case o.kind == opRelease || o.kind == opLeave || o.kind == opSettle && o.tokens < 0:
			return nil // the bucket was idle and forgotten: nothing to give back
		default:
			if sb == sa {
				idx, _ = claim(r, sv, now)
			}
			if idx < 0 {
				return errOverflow
			}
			t.nb = bucket{asOf: now, tok: uint64(r.tok), queue: t.q[:0]}
			b = &t.nb
		}
		r.advance(b, now)
		if !r.apply(b, now, o) {
			return nil
		}
		patched := false
		if found {
			t.enc, patched = patchSet(t.enc[:0], val, sv, idx, b)
		}
		if !patched {
			t.enc = encodeSet(t.enc[:0], sv, idx, key, b)
		}
		err = t.store.Set(sk, t.enc, cas)
		if err == nil {
			return nil
		}
		if !errors.Is(err, shareddata.ErrCASMismatch) {
			return t.failed(err)
		}
	}
	return errContention
}

// load reads and decodes set sk into sv. again reports a missing set, created afresh: read it
// again. An unreadable set is started afresh rather than failing forever.
func (t *Throttler) load(sk string, sv *setView) (val []byte, cas uint32, again bool, err error) {
	val, cas, err = t.store.Get(sk)
	if err != nil && errors.Is(err, shareddata.ErrNotFound) {
		// Normally New created it; the store may have been reset since.
		if err := t.store.Set(sk, emptySet, 0); err != nil && !errors.Is(err, shareddata.ErrCASMismatch) {
			return nil, 0, false, err
		}
		return nil, 0, true, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	if decodeSet(val, sv) != nil {
		sv.n = 0
	}
	return val, cas, false, nil
}

func (t *Throttler) failed(err error) error {
	t.fail = err
	return err
}

// claim picks the entry of sv a new key takes: a free one, else the idle entry used longest ago;
// -1 when every entry is in use. live is how many entries are in use (not free, not idle).
func claim(r *rule, sv *setView, now int64) (idx, live int) {
	best, bestAsOf := -1, int64(math.MaxInt64)
	for i := 0; i < sv.n; i++ {
		e := &sv.ent[i]
		if e.lastRelease() <= now {
			b := e.b
			r.advance(&b, now)
			if b.idle() {
				if e.b.asOf < bestAsOf {
					best, bestAsOf = i, e.b.asOf
				}
				continue
			}
		}
		live++
	}
	if sv.n < ways {
		return sv.n, live
	}
	return best, live
}

// apply performs o on b (advanced to now) and reports whether b changed.
func (r *rule) apply(b *bucket, now int64, o *op) bool {
	changed := true
	switch o.kind {
	case opDecide:
		o.v = r.decide(b, now, o.d)
		changed = o.v.action != Reject
	case opRelease:
		b.debt = max(0, b.debt-mulSat(o.tokens, r.tok, r.settleMax))
		if o.at != 0 {
			b.queue = removeValue(b.queue, o.at)
		}
	case opLeave:
		n := len(b.queue)
		b.queue = removeValue(b.queue, o.at)
		changed = len(b.queue) != n
	case opSettle:
		b.debt = min(max(0, b.debt+mulSat(o.tokens, r.tok, r.settleMax)), r.settleMax)
	case opSignal:
		r.stepDown(b, now, o.retry)
	}
	o.remaining = r.remaining(b)
	if r.cal != nil {
		o.reset, o.window = r.calendarReset(b, now)
		return changed
	}
	if b.pen == 0 || r.adapt == nil { // the full rate: refillTime and pctAt, without their loops
		o.reset, o.window = 0, r.window
		if b.debt > 0 {
			o.reset = satSub(satAdd(now, ceilDiv(b.debt, r.full)), now)
		}
		return changed
	}
	o.reset = r.refillTime(b, now, b.debt)
	pct, _ := r.pctAt(b, now)
	o.window = refillWindow(r.cap, r.n*pct)
	return changed
}

// refillWindow is the whole seconds it takes to refill capacity at perNs units per nanosecond.
func refillWindow(capacity, perNs int64) int64 {
	return ceilDiv(ceilDiv(capacity, perNs), int64(time.Second))
}

// stepDown lowers b's rate after an overload signal. During a cool-down further signals only
// extend it: a burst of 429s from requests already in flight is one signal, not many. After the
// cool-down (while recovering, or recovered) a signal steps down again from the current rate.
func (r *rule) stepDown(b *bucket, now, retry int64) {
	a := r.adapt
	hold := satAdd(now, max(a.cooldown, retry))
	if b.pen != 0 && now < b.until {
		b.until = max(b.until, hold)
		return
	}
	pct, _ := r.pctAt(b, now)
	pen := max(a.min, pct*a.factor/pctScale)
	if pen >= pctScale {
		return
	}
	b.pen, b.until = uint8(pen), hold
}

// mulSat is a×b, saturated to ±limit.
func mulSat(a, b, limit int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > 0 && a > limit/b || a < 0 && -a > limit/b {
		if a < 0 {
			return -limit
		}
		return limit
	}
	return a * b
}
