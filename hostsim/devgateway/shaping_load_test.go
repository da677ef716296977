package devgateway_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// shapingConfig paces one bucket at 100/s with a burst of 10, holding at most 20 requests for at
// most 1 s.
const shapingConfig = `{"log":{"access_log":false},"throttle":{"rules":[{"name":"paced","rate":"100/s","burst":10,
	"steps":[{"below":0,"action":"shape","max_delay":"1s","max_queue":20}]}]}}`

// Under 200 concurrent clients on the real clock, shaping's bounds hold: the requests held at
// once (stepgate_shaped_requests, sampled all along) never exceed max_queue, and no request is
// held longer than max_delay (stepgate_shape_delay_ms has nothing above its 1000 ms bucket).
func TestShapingBoundsUnderConcurrentLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-clock load check")
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer backend.Close()
	g, _ := start(t, func(c *devgateway.Config) {
		c.PluginConfig = []byte(shapingConfig)
		c.Clusters = map[string]string{"backend": backend.URL}
		c.DefaultCluster = "backend"
	})
	h := g.Host()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if m, ok := h.Metric("stepgate_shaped_requests.rule.paced"); ok && m.Value > peak.Load() {
				peak.Store(m.Value)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	var mu sync.Mutex
	statuses := map[int]int{}
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				a := do(t, "GET", g.URL()+"/v1/items", "")
				mu.Lock()
				statuses[a.status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled

	held, _ := h.Metric("stepgate_shape_delay_ms.rule.paced.step.shape")
	t.Logf("statuses %v; %d held, at most %d at once; hold sum %d ms", statuses, held.Count, peak.Load(), held.Sum)
	if held.Count == 0 || statuses[429] == 0 {
		t.Fatalf("the load neither shaped nor rejected: statuses %v", statuses)
	}
	if p := peak.Load(); p > 20 {
		t.Errorf("stepgate_shaped_requests reached %d, over max_queue 20", p)
	}
	i := slices.Index(hostsim.HistogramBounds, 1000)
	if i < 0 {
		t.Fatal("no 1000 ms histogram bucket")
	}
	if over := held.Count - held.Buckets[i]; over > 0 {
		t.Errorf("%d of %d holds longer than max_delay 1 s (recent: %v)", over, held.Count, held.Samples)
	}
}
