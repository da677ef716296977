package estimate

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stepgate/stepgate/plugin/shareddata"
)

// On a workload whose completions have a known mean, the learned figure converges to it, across
// workers sharing the store.
func TestConvergesOnAKnownMean(t *testing.T) {
	store := shareddata.NewMemory()
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		l := New(store)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				mu.Lock()
				x := 312 + rng.Int64N(401) // uniform on 312..712: mean 512
				mu.Unlock()
				if err := l.Observe("gpt-4o", x); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := New(store).Expected("gpt-4o"); got < 512-40 || got > 512+40 {
		t.Fatalf("learned %d, want 512 ± 40", got)
	}
	if got := New(store).Expected("other"); got != 0 {
		t.Fatalf("an unseen model: %d, want 0", got)
	}
}

func TestFirstObservationsAreAveragedThenItFollows(t *testing.T) {
	l := New(shareddata.NewMemory())
	for _, x := range []int64{100, 300} {
		if err := l.Observe("m", x); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Expected("m"); got != 200 {
		t.Fatalf("mean of 100 and 300 = %d", got)
	}
	for i := 0; i < 10*Window; i++ {
		_ = l.Observe("m", 1000)
	}
	if got := l.Expected("m"); got < 990 || got > 1000 {
		t.Fatalf("after a change to 1000: %d", got)
	}
	_ = l.Observe("m", -5) // clamped to 0, never negative
	if got := l.Expected("m"); got < 900 {
		t.Fatalf("one zero moved it to %d", got)
	}
}

func FuzzObserve(f *testing.F) {
	f.Add(int64(5), int64(1<<62))
	f.Fuzz(func(t *testing.T, a, b int64) {
		l := New(shareddata.NewMemory())
		_ = l.Observe("m", a)
		_ = l.Observe("m", b)
		if got := l.Expected("m"); got < 0 || got > maxTokens {
			t.Fatalf("expected %d out of range", got)
		}
	})
}
