package fleet

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// Fleet applies the fleet rules of one VM. It is not safe for concurrent use; several Fleets over
// one store behave like the worker VMs of one Envoy.
type Fleet struct {
	cfg      Config
	rules    []rule
	store    shareddata.Store
	fallback *throttle.Throttler // nil without fail-open rules

	calls []Call // lease calls claimed and not yet handed to the glue
	e     entry
	enc   []byte
	vals  []string
}

type rule struct {
	*Rule
	index  int
	slots  uint32
	prefix string
	known  map[string]*known // the keys this VM served lately: the tick refills them
	last   *known            // the key remembered last
	kbuf   []byte            // the key of the request being decided
	keys   []string          // slot keys, built as they are first used
}

// known is a key this VM has served: enough to ask the service for it again.
type known struct {
	rule    int
	key     []byte
	values  []string
	lastUse int64
}

// knownFor is how long a key stays on the tick's list after its last request.
const knownFor = 10 * time.Second

// casRetries bounds the compare-and-swap attempts on one lease entry.
const casRetries = 64

// New compiles cfg and creates every slot of every rule in store (from on_configure in every
// worker: shared data has no create-if-absent, see docs/THROTTLING.md).
func New(cfg Config, store shareddata.Store) (*Fleet, error) {
	f := &Fleet{cfg: cfg, store: store}
	var fb throttle.Config
	for i := range f.cfg.Rules {
		r := &f.cfg.Rules[i]
		slots := uint32(max(r.MaxKeys, 1))
		f.rules = append(f.rules, rule{Rule: r, index: i, slots: slots, known: make(map[string]*known), keys: make([]string, slots),
			prefix: keyPrefix + r.Name + "/" + strconv.Itoa(int(slots)) + "/"})
		if r.Fail == throttle.FailOpen {
			fb.Rules = append(fb.Rules, fallbackRule(r))
		}
	}
	if len(fb.Rules) > 0 {
		t, err := throttle.New(fb, store)
		if err != nil {
			return nil, err
		}
		f.fallback = t
	}
	for i := range f.rules {
		r := &f.rules[i]
		for s := uint32(0); s < r.slots; s++ {
			k := r.slotKey(s)
			if _, _, err := store.Get(k); errors.Is(err, shareddata.ErrNotFound) {
				if err := store.Set(k, emptyEntry, 0); err != nil {
					return f, err
				}
			}
		}
	}
	return f, nil
}

// fallbackHeader marks a request for a fail-open rule's fallback bucket. A pseudo-header: no
// client can send one.
func fallbackHeader(name string) string { return ":fleet-fallback/" + name }

// fallbackRule is the local bucket a fail-open rule serves from while the service is unavailable:
// FallbackPPM of the fleet limit per window, with the rule's steps (token thresholds become
// fractions of the fleet limit).
func fallbackRule(r *Rule) throttle.Rule {
	fb := r.Rule
	fb.Name, fb.Scope, fb.FleetOptions = r.Name+".fallback", throttle.ScopeLocal, ""
	fb.Burst = max(1, r.Limit*r.FallbackPPM/1e6)
	fb.Rate = throttle.Rate{Tokens: uint64(fb.Burst), Period: r.Window}
	if g := gcd(fb.Rate.Tokens, uint64(fb.Rate.Period)); g > 1 {
		fb.Rate.Tokens, fb.Rate.Period = fb.Rate.Tokens/g, fb.Rate.Period/time.Duration(g)
	}
	fb.Match.Headers = append(append([]throttle.HeaderMatch(nil), r.Match.Headers...),
		throttle.HeaderMatch{Name: fallbackHeader(r.Name), Values: []string{"*"}})
	fb.Steps = append([]throttle.Step(nil), r.Steps...)
	for i := range fb.Steps {
		if t := &fb.Steps[i].Below; !t.Percent {
			*t = throttle.Threshold{Percent: true, PPM: min(t.Tokens*1e6/r.Limit, 1e6)}
		}
	}
	return fb
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// slotKey is slot i's shared-data key, built once: a string built per request would be an
// allocation per request inside the VM.
func (r *rule) slotKey(i uint32) string {
	if r.keys[i] == "" {
		r.keys[i] = r.prefix + strconv.Itoa(int(i))
	}
	return r.keys[i]
}

func (r *rule) slotOf(key []byte) string {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return r.slotKey(uint32(h % uint64(r.slots)))
}

// update runs fn on key's entry in its slot (a fresh entry when the slot is empty or holds another
// key) and writes it back when fn reports a change, conditional on the cas read.
func (f *Fleet) update(r *rule, key []byte, fn func(e *entry) bool) error {
	sk := r.slotOf(key)
	for attempt := 0; attempt < casRetries; attempt++ {
		v, cas, err := f.store.Get(sk)
		if err != nil && !errors.Is(err, shareddata.ErrNotFound) {
			return err
		}
		if f.e.decode(v) != nil || !bytes.Equal(f.e.key, key) {
			f.e = entry{key: key, remaining: r.Limit}
		}
		if f.e.block == 0 {
			f.e.block = r.MinBlock
		}
		if !fn(&f.e) {
			return nil
		}
		f.enc = f.e.encode(f.enc[:0])
		err = f.store.Set(sk, f.enc, cas)
		if err == nil {
			return nil
		}
		if !errors.Is(err, shareddata.ErrCASMismatch) {
			return err
		}
	}
	return errors.New("fleet: cas retries exhausted")
}

// roll forgets what a finished window said: the service's count starts over at its reset.
func (e *entry) roll(now, limit int64) {
	if e.resetAt != 0 && now >= e.resetAt {
		e.remaining, e.resetAt = limit, 0
	}
	if e.overUntil != 0 && now >= e.overUntil {
		e.overUntil = 0
	}
	if e.pending != 0 && now >= e.pending {
		e.pending = 0 // the VM that asked never reported back
	}
}

func (r *rule) limitOf(e *entry) int64 {
	if e.limit > 0 {
		return e.limit
	}
	return r.Limit
}
