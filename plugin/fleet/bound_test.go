package fleet

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// TestFleetAdmitsAtMostTheLimitPlusOneBlockPerInstancePerWindow: several Envoys (a store each)
// with several workers each, ticking and deciding in random order against one service. In every
// window the fleet admits no more than the limit plus one block per instance (the leftover of the
// block each held when the window began), and, while demand lasts, no less than the limit minus
// one block per instance (tokens leased but refused).
func TestFleetAdmitsAtMostTheLimitPlusOneBlockPerInstancePerWindow(t *testing.T) {
	const (
		instances, workers = 3, 4
		limit, maxBlock    = 300, 8
	)
	doc := `{"throttle":{"rules":[{"name":"r","key":"tenant","rate":"300/s","scope":"fleet","fleet":{"max_block":8,"lease_period":"20ms"}}]}}`
	s := newService(limit, time.Second)
	var vms []*Fleet
	for i := 0; i < instances; i++ {
		store := shareddata.NewMemory()
		for w := 0; w < workers; w++ {
			vms = append(vms, newFleet(t, doc, store))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	admitted := map[int64]int64{}
	q := &throttle.Request{Tenant: "acme"}
	start := (t0/int64(time.Second) + 1) * int64(time.Second)
	for step := int64(0); step < 5000; step++ { // 5 s, 1 ms apart, about 3 requests per ms offered
		now := start + step*int64(time.Millisecond)
		for _, f := range vms {
			f.Tick(now)
			s.serve(f, now)
		}
		for n := rng.IntN(6); n > 0; n-- {
			f := vms[rng.IntN(len(vms))]
			if d := decide(f, s, now, q); d.Action == throttle.Allow && len(d.Fallen) == 0 {
				admitted[now/int64(time.Second)]++
			}
		}
	}
	for w, n := range admitted {
		if n > limit+instances*maxBlock {
			t.Errorf("window %d: admitted %d, over %d + %d×%d", w, n, limit, instances, maxBlock)
		}
		if n < limit-instances*maxBlock {
			t.Errorf("window %d: admitted %d, under %d − %d×%d", w, n, limit, instances, maxBlock)
		}
	}
	if len(admitted) != 5 {
		t.Errorf("windows %v", admitted)
	}
}
