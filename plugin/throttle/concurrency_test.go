package throttle

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
)

// workers stand in for Envoy's worker VMs: each has its own Throttler, all share one store.
const workers = 4

// hammer runs every worker at each virtual tick from 0 to end (inclusive) at once, each sending
// requests until one is rejected, and returns every decision that was not a rejection. Held
// requests leave (Resume) at the first tick at or after their release time, as the glue's do.
func hammer(t *testing.T, section string, tick, end int64) []Decision {
	t.Helper()
	// Every read yields to the other workers, so nearly every update races; real workers lose a
	// race far less often, and the default cas_retries is ample for them.
	section = strings.Replace(section, `{"rules"`, `{"cas_retries":1000,"rules"`, 1)
	store := &countingStore{Store: shareddata.NewMemory()}
	defer func() {
		t.Logf("%d cas mismatches", store.mismatches.Load())
		if store.mismatches.Load() == 0 {
			t.Error("the workers never raced: the test proves nothing")
		}
	}()
	ths := make([]*Throttler, workers)
	for i := range ths {
		ths[i] = newThrottler(t, section, store)
	}
	var (
		mu   sync.Mutex
		kept []Decision
	)
	resumed := 0 // kept[:resumed] are settled: allowed, or held and resumed
	for now := int64(0); now <= end; now += tick {
		for i := resumed; i < len(kept); i++ {
			if o := outcome(t, &kept[i]); o.releaseAt != 0 && o.releaseAt <= now {
				c := kept[i] // a copy: the test reads the release times afterwards
				ths[0].Resume(now, &c.Reservation)
			}
		}
		for resumed < len(kept) && outcome(t, &kept[resumed]).releaseAt <= now {
			resumed++
		}
		var wg sync.WaitGroup
		for _, th := range ths {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := &Request{Tenant: "acme"}
				for {
					d := th.Decide(now, req)
					if o := d.Reservation.Outcomes(); len(o) != 1 || o[0].Failure != NoFailure {
						t.Errorf("at %v: outcome %+v", time.Duration(now), o)
						return
					}
					if d.Action == Reject {
						return
					}
					mu.Lock()
					kept = append(kept, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	return kept
}

func TestConcurrentWorkersAdmitExactly(t *testing.T) {
	// 3000/s with a burst of 500, over 1 s: 500 + 3000.
	kept := hammer(t, oneRule(`{"name":"r","key":"tenant","rate":"3000/s","burst":500}`), 10*ms, sec)
	if want := 500 + 3000; len(kept) != want {
		t.Fatalf("admitted %d, want %d", len(kept), want)
	}
	// Ticks that do not fall on whole tokens: 994 ms at 30/s refills 29.82 tokens.
	kept = hammer(t, oneRule(`{"name":"r","key":"tenant","rate":"30/s","burst":200}`), 7*ms, 994*ms)
	if want := 200 + 29; len(kept) != want {
		t.Fatalf("admitted %d, want %d", len(kept), want)
	}
}

// With shaping the workers also reserve into the future: every held request gets its own slot,
// one token apart, in the order the store saw them, and the total is burst + rate × (t + max_delay).
func TestConcurrentWorkersShapeExactly(t *testing.T) {
	kept := hammer(t, oneRule(`{"name":"r","key":"tenant","rate":"100/s","burst":200,"steps":[
		{"below":0,"action":"shape","max_delay":"2s","max_queue":256}]}`), 10*ms, sec)
	if want := 200 + 100 + 200; len(kept) != want {
		t.Fatalf("admitted or held %d, want %d", len(kept), want)
	}
	var releases []int64
	for i := range kept {
		if d := &kept[i]; d.Action == Shape {
			releases = append(releases, outcome(t, d).releaseAt)
		}
	}
	slices.Sort(releases)
	for i := 1; i < len(releases); i++ {
		if releases[i]-releases[i-1] != 10*ms {
			t.Fatalf("held requests released %v and %v: not one token apart", time.Duration(releases[i-1]), time.Duration(releases[i]))
		}
	}
}

// LLM-token buckets under concurrency: every worker reserves, then settles to a different real
// usage; what was admitted never exceeds burst + rate × t in real usage plus the last reservations.
func TestConcurrentSettleLosesNothing(t *testing.T) {
	store := &countingStore{Store: shareddata.NewMemory()}
	section := `{"cas_retries":1000,"rules":[{"name":"tpm","unit":"llm_tokens","rate":"6000/min","burst":100000}]}`
	var wg sync.WaitGroup
	used := make([]int64, workers)
	for w := 0; w < workers; w++ {
		th := newThrottler(t, section, store)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				d := th.Decide(0, &Request{PromptChars: 400, MaxTokens: 100})
				if o := outcome(t, &d); d.Action != Allow || o.Failure != NoFailure {
					t.Errorf("worker %d request %d: %v %v", w, i, d.Action, o.Failure)
					return
				}
				real := int64(50 + (i*7+w)%90)
				if err := th.Settle(0, &d.Reservation, real); err != nil {
					t.Errorf("worker %d request %d: settle: %v", w, i, err)
				}
				used[w] += real
			}
		}()
	}
	wg.Wait()
	var total int64
	for _, u := range used {
		total += u
	}
	th := newThrottler(t, section, store)
	d := th.Decide(0, &Request{MaxTokens: 1})
	if o := outcome(t, &d); o.Remaining != 100000-total-1 {
		t.Fatalf("remaining %d, want %d: an update was lost", o.Remaining, 100000-total-1)
	}
	if store.mismatches.Load() == 0 {
		t.Error("the workers never raced")
	}
}

// countingStore counts lost compare-and-swaps, to show the test really races, and often yields
// between the read and the write of an update so that the workers interleave even on few cores.
type countingStore struct {
	shareddata.Store
	mismatches atomic.Int64
}

func (c *countingStore) Get(key string) ([]byte, uint32, error) {
	v, cas, err := c.Store.Get(key)
	// Yielding every time would make two workers alternate in lock step, one always losing.
	if rand.IntN(2) == 0 {
		runtime.Gosched()
	}
	return v, cas, err
}

func (c *countingStore) Set(key string, value []byte, cas uint32) error {
	err := c.Store.Set(key, value, cas)
	if errors.Is(err, shareddata.ErrCASMismatch) {
		c.mismatches.Add(1)
	}
	return err
}

// casLoser is a store where every write loses the race.
type casLoser struct{ shareddata.Store }

func (casLoser) Set(string, []byte, uint32) error { return shareddata.ErrCASMismatch }

func TestContentionExhaustsRetriesIntoFailMode(t *testing.T) {
	m := shareddata.NewMemory()
	newThrottler(t, oneRule(`{"name":"r","rate":"1/s","burst":5}`), m) // creates the set
	cfg := mustParse(t, `{"cas_retries":3,"rules":[{"name":"r","rate":"1/s","burst":5,"fail":"closed"}]}`)
	th, err := New(cfg, casLoser{m})
	if err != nil {
		t.Fatal(err)
	}
	d := th.Decide(0, &Request{})
	if o := outcome(t, &d); d.Action != Reject || d.Status != 503 || o.Failure != Contention {
		t.Fatalf("%v %d %v, want reject 503 contention", d.Action, d.Status, o.Failure)
	}
}
