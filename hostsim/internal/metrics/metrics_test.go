package metrics

import (
	"testing"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

func TestIDsAndRules(t *testing.T) {
	reg := NewRegistry()
	a, b := NewTable(reg), NewTable(reg) // two worker VMs
	c1, _ := a.Define(abi.Counter, "reqs")
	c2, _ := a.Define(abi.Counter, "reqs")
	g, _ := a.Define(abi.Gauge, "inflight")
	h, _ := a.Define(abi.Histogram, "lat")
	if c1 != 4 || c2 != 8 || g != 5 || h != 6 {
		t.Fatalf("ids = %d %d %d %d, want 4 8 5 6", c1, c2, g, h)
	}
	if _, st := a.Define(3, "x"); st != abi.BadArgument {
		t.Fatalf("Define type 3 = %v", st)
	}
	cb, _ := b.Define(abi.Counter, "reqs")
	steps := []struct {
		name string
		st   abi.Status
		want abi.Status
	}{
		{"counter +1", a.Increment(c1, 1), abi.OK},
		{"counter +2 via second id", a.Increment(c2, 2), abi.OK},
		{"counter +4 from another worker", b.Increment(cb, 4), abi.OK},
		{"counter 0", a.Increment(c1, 0), abi.BadArgument},
		{"counter negative", a.Increment(c1, -1), abi.BadArgument},
		{"counter record adds", a.Record(c1, 10), abi.OK},
		{"gauge +5", a.Increment(g, 5), abi.OK},
		{"gauge -2", a.Increment(g, -2), abi.OK},
		{"histogram increment", a.Increment(h, 1), abi.BadArgument},
		{"histogram record", a.Record(h, 7), abi.OK},
		{"unknown counter", a.Increment(400, 1), abi.NotFound},
		{"unknown gauge", a.Increment(401, 1), abi.NotFound},
		{"unknown record", a.Record(403, 1), abi.NotFound},
	}
	for _, s := range steps {
		if s.st != s.want {
			t.Errorf("%s: %v, want %v", s.name, s.st, s.want)
		}
	}
	if v, st := b.Get(cb); st != abi.OK || v != 17 {
		t.Fatalf("aggregated counter = %d %v, want 17", v, st)
	}
	if v, _ := a.Get(g); v != 3 {
		t.Fatalf("gauge = %d, want 3", v)
	}
	a.Record(g, 42)
	if v, _ := a.Get(g); v != 42 {
		t.Fatalf("gauge after record = %d", v)
	}
	if _, st := a.Get(h); st != abi.BadArgument {
		t.Fatalf("Get histogram = %v", st)
	}
	if m, ok := reg.Lookup("lat"); !ok || m.Histogram().Count != 1 || m.Histogram().Samples[0] != 7 {
		t.Fatal("histogram samples not recorded")
	}
	if len(reg.All()) != 3 {
		t.Fatalf("All = %d metrics", len(reg.All()))
	}
}

// A histogram summarises every value but keeps only the most recent MaxSamples of them.
func TestHistogramKeepsRecentSamples(t *testing.T) {
	reg := NewRegistry()
	tab := NewTable(reg)
	id, _ := tab.Define(abi.Histogram, "lat")
	const n = MaxSamples + 10
	for v := uint64(1); v <= n; v++ {
		tab.Record(id, v)
	}
	m, _ := reg.Lookup("lat")
	h := m.Histogram()
	if h.Count != n || h.Sum != n*(n+1)/2 {
		t.Errorf("count %d sum %d", h.Count, h.Sum)
	}
	if len(h.Samples) != MaxSamples || h.Samples[0] != 11 || h.Samples[MaxSamples-1] != n {
		t.Errorf("%d samples from %d to %d", len(h.Samples), h.Samples[0], h.Samples[len(h.Samples)-1])
	}
	// le=1: {1}; le=1000: 1..1000; le=5000 and above: all of them.
	if h.Buckets[1] != 1 || h.Buckets[9] != 1000 || h.Buckets[11] != n || h.Buckets[len(Bounds)-1] != n {
		t.Errorf("buckets %v", h.Buckets)
	}
}
