package devgateway_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// shapingConfig paces two buckets: "paced" (/q/) at 100/s, where max_queue (20, 200 ms of
// tokens) binds first, and "slow" (/d/) at 20/s, where max_delay (500 ms, 10 tokens) binds first.
const shapingConfig = `{"log":{"access_log":false},"throttle":{"rules":[
	{"name":"paced","match":{"path_prefix":"/q/"},"rate":"100/s","burst":10,
	 "steps":[{"below":0,"action":"shape","max_delay":"1s","max_queue":20}]},
	{"name":"slow","match":{"path_prefix":"/d/"},"rate":"20/s","burst":5,
	 "steps":[{"below":0,"action":"shape","max_delay":"500ms","max_queue":40}]}]}}`

// Under 200 concurrent clients on the real clock, the requests held at once
// (stepgate_shaped_requests, sampled all along) never exceed max_queue. The holds' wall-clock
// lengths (stepgate_shape_delay_ms) are logged.
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
	var peak, peakSlow atomic.Uint64
	var late time.Duration // the longest the process kept the sampler from running on time
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
			before := time.Now()
			time.Sleep(200 * time.Microsecond)
			late = max(late, time.Since(before)-200*time.Microsecond)
			if m, ok := h.Metric("stepgate_shaped_requests.rule.paced"); ok && m.Value > peak.Load() {
				peak.Store(m.Value)
			}
			if m, ok := h.Metric("stepgate_shaped_requests.rule.slow"); ok && m.Value > peakSlow.Load() {
				peakSlow.Store(m.Value)
			}
		}
	}()
	var mu sync.Mutex
	statuses := map[int]int{}
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for i := range 200 {
		path := []string{"/q/items", "/d/items"}[i%2]
		wg.Go(func() {
			for time.Now().Before(deadline) {
				a := do(t, "GET", g.URL()+path, "")
				mu.Lock()
				statuses[a.status]++
				mu.Unlock()
				if a.status == http.StatusTooManyRequests {
					time.Sleep(5 * time.Millisecond) // a client backs off a little, as real ones do
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled

	for _, c := range []struct {
		rule     string
		peak     uint64
		maxQueue uint64
		maxDelay uint64
	}{{"paced", peak.Load(), 20, 1000}, {"slow", peakSlow.Load(), 40, 500}} {
		held, _ := h.Metric("stepgate_shape_delay_ms.rule." + c.rule + ".step.shape")
		t.Logf("%s: statuses %v; %d held, at most %d at once; holds sum %d ms, recent %v; sampler late by up to %v",
			c.rule, statuses, held.Count, c.peak, held.Sum, held.Samples, late)
		if held.Count == 0 || statuses[429] == 0 {
			t.Fatalf("%s: the load neither shaped nor rejected: statuses %v", c.rule, statuses)
		}
		if c.peak > c.maxQueue {
			t.Errorf("%s: stepgate_shaped_requests reached %d, over max_queue %d", c.rule, c.peak, c.maxQueue)
		}
		// How long holds really lasted is a wall-clock figure, logged above: on a loaded machine
		// the process itself stalls. That no hold is planned past max_delay, and that a late
		// tick releases everything due at once, is asserted exactly on the virtual clock
		// (plugin/shaping_test.go).
		if longest := slices.Max(held.Samples); longest > c.maxDelay {
			t.Logf("%s: the longest hold took %d ms of wall time against max_delay %d ms", c.rule, longest, c.maxDelay)
		}
	}
}
