package devgateway_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/sjson"

	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// reloadHeapBound is how much the live heap may grow over 100 reloads. A generation (two
// worker VMs and their linear memories) takes about 20 MB, so keeping even one old generation
// per reload would pass it many times over.
const reloadHeapBound = 48 << 20

// Old generations are released once their requests finish: 100 reloads under light load leave
// the live heap where a few reloads put it.
func TestReloadsReleaseOldGenerations(t *testing.T) {
	if testing.Short() {
		t.Skip("100 reloads")
	}
	g, _ := start(t, nil)
	base := g.PluginConfig()
	reload := func(i int) {
		next, _ := sjson.SetBytes(base, "log.level", []string{"info", "debug"}[i%2])
		if err := g.Reload(context.Background(), next); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "load")); a.status != 200 && a.status != 429 {
				t.Errorf("during reloads: %d %s", a.status, a.body)
				return
			}
		}
	})
	for i := range 5 {
		reload(i)
	}
	before := liveHeap(t, g)
	for i := range 100 {
		reload(i)
	}
	cancel()
	wg.Wait()
	after := liveHeap(t, g)
	t.Logf("live heap after 5 reloads %d MB, after 105 %d MB", before>>20, after>>20)
	if after > before+reloadHeapBound {
		t.Fatalf("live heap grew from %d MB to %d MB over 100 reloads (bound %d MB)", before>>20, after>>20, reloadHeapBound>>20)
	}
}

// liveHeap waits until only the current generation runs, then measures the heap after a GC.
func liveHeap(t *testing.T, g *devgateway.Gateway) uint64 {
	t.Helper()
	waitFor(t, "old generations to close", func() bool { return g.Generations() == 1 })
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// An emptied configuration file is refused on reload (it would drop every route), through the
// file watch, SIGHUP's Reload and Reload alike; at start an empty document is the plugin's
// pass-through default.
func TestEmptyConfigurationIsRefusedOnReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stepgate.json")
	if err := os.WriteFile(path, exampleConfig(t), 0o644); err != nil {
		t.Fatal(err)
	}
	reloads := make(chan error, 4)
	g, logs := start(t, func(c *devgateway.Config) {
		c.PluginConfig = nil
		c.ConfigPath = path
		c.ReloadInterval = 20 * time.Millisecond
		c.OnReload = func(err error) { reloads <- err }
	})
	first := g.Host()
	writeConfig(t, path, nil)
	if err := <-reloads; err == nil || !strings.Contains(err.Error(), "empty configuration refused") {
		t.Fatalf("empty file: reload error %v, want a refusal", err)
	}
	if err := g.Reload(context.Background(), []byte(" \n")); err == nil {
		t.Error("Reload accepted a blank document")
	}
	if g.Host() != first || !strings.Contains(logs.String(), "empty configuration refused") {
		t.Errorf("the empty file replaced the configuration or was not logged:\n%s", logs)
	}
	if a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "still")); a.status != 200 {
		t.Fatalf("after the refused reload: %d %s", a.status, a.body)
	}

	empty, _ := start(t, func(c *devgateway.Config) { c.PluginConfig = []byte{} })
	if a := do(t, "GET", empty.URL()+"/v1/models", ""); a.status == 0 {
		t.Fatal("a gateway started with an empty configuration does not answer")
	}
}
