// Package estimate learns how many completion tokens a model's answers use, for reservations of
// requests that name no max_tokens: a running mean per model kept in shared data, so that every
// worker VM reserves from what all of them have seen. It is not a rate limiter and knows nothing
// of buckets; the throttle takes its figure as a request's expected completion.
package estimate

import (
	"encoding/binary"
	"errors"

	"github.com/stepgate/stepgate/plugin/shareddata"
)

// KeyPrefix starts every shared-data key the package writes. Keys are named by configured model
// names only, so that their number stays bounded (shared data has no delete).
const KeyPrefix = "stepgate.estimate.v1/"

// Window is how many observations the mean spans: the first Window answers are averaged
// equally, later ones move it by 1/Window of their difference (an exponential moving average),
// so that it follows a model whose answers change.
const Window = 32

// fracBits is the fixed-point precision of the stored mean.
const fracBits = 8

// maxTries bounds the compare-and-swap attempts of one observation: losing one to contention
// only delays learning, it is never worth a long loop on the request path.
const maxTries = 4

// maxTokens caps an observation, so that the fixed-point mean stays far inside 64 bits.
const maxTokens = 1 << 40

// Learner reads and updates the learned means over a shared-data store. One belongs to one VM.
type Learner struct {
	store shareddata.Store
	key   []byte
	val   [16]byte
}

// New returns a Learner over store.
func New(store shareddata.Store) *Learner { return &Learner{store: store} }

// Expected returns the learned completion tokens of model's answers, 0 before any was seen.
func (l *Learner) Expected(model string) int64 {
	v, _, err := l.store.Get(l.keyOf(model))
	mean, _, ok := decode(v)
	if err != nil || !ok {
		return 0
	}
	return int64((mean + 1<<fracBits - 1) >> fracBits) // rounded up: reserve on the safe side
}

// Observe adds one answer of model that used tokens completion tokens.
func (l *Learner) Observe(model string, tokens int64) error {
	x := uint64(min(max(tokens, 0), maxTokens)) << fracBits
	key := l.keyOf(model)
	for try := 0; try < maxTries; try++ {
		v, cas, err := l.store.Get(key)
		if err != nil && !errors.Is(err, shareddata.ErrNotFound) {
			return err
		}
		mean, n, _ := decode(v)
		n = min(n+1, Window)
		if x >= mean {
			mean += (x - mean) / n
		} else {
			mean -= (mean - x) / n
		}
		binary.LittleEndian.PutUint64(l.val[:8], mean)
		binary.LittleEndian.PutUint64(l.val[8:], n)
		// A key seen for the first time is created with cas 0: two workers creating it at once
		// keep one of the two first observations, which only delays learning.
		err = l.store.Set(key, l.val[:], cas)
		if !errors.Is(err, shareddata.ErrCASMismatch) {
			return err
		}
	}
	return nil
}

func (l *Learner) keyOf(model string) string {
	l.key = append(append(l.key[:0], KeyPrefix...), model...)
	return string(l.key)
}

func decode(v []byte) (mean, n uint64, ok bool) {
	if len(v) != 16 {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(v[:8]), binary.LittleEndian.Uint64(v[8:]), true
}
