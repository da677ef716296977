package throttle

import (
	"errors"
	"testing"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/tidwall/gjson"
)

const (
	ms  = int64(time.Millisecond)
	sec = int64(time.Second)
)

// newThrottler parses a "throttle" section and builds a Throttler over store (a fresh Memory when
// nil).
func newThrottler(t testing.TB, section string, store shareddata.Store) *Throttler {
	t.Helper()
	cfg, err := ParseConfig(gjson.Parse(section), "throttle")
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if store == nil {
		store = shareddata.NewMemory()
	}
	th, err := New(cfg, store)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return th
}

func mustParse(t testing.TB, section string) Config {
	t.Helper()
	cfg, err := ParseConfig(gjson.Parse(section), "throttle")
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return cfg
}

// oneRule wraps a rule object in a section.
func oneRule(rule string) string { return `{"rules":[` + rule + `]}` }

// outcome returns the only outcome of d.
func outcome(t testing.TB, d *Decision) *Outcome {
	t.Helper()
	outs := d.Reservation.Outcomes()
	if len(outs) != 1 {
		t.Fatalf("got %d outcomes, want 1", len(outs))
	}
	return &outs[0]
}

// headerMap flattens headers for comparisons.
func headerMap(hs []Header) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h.Name] = h.Value
	}
	return m
}

// brokenStore fails every call.
type brokenStore struct{}

func (brokenStore) Get(string) ([]byte, uint32, error) { return nil, 0, errors.New("broken") }
func (brokenStore) Set(string, []byte, uint32) error   { return errors.New("broken") }

// allAt runs n identical requests at now and returns their actions.
func allAt(th *Throttler, now int64, req *Request, n int) []Action {
	out := make([]Action, n)
	for i := range out {
		d := th.Decide(now, req)
		out[i] = d.Action
	}
	return out
}

func countAction(as []Action, a Action) int {
	n := 0
	for _, x := range as {
		if x == a {
			n++
		}
	}
	return n
}
