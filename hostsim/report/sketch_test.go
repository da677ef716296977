package report

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSketchQuantilesAreWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s Sketch
	var all []int64
	for range 20000 {
		v := int64(math.Exp(rng.NormFloat64()*1.2 + 6)) // log-normal around 400 ms
		s.Add(v)
		all = append(all, v)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 1} {
		want := float64(all[int(math.Ceil(q*float64(len(all))))-1])
		if got := s.Quantile(q); math.Abs(got-want) > 0.01*want+0.5 {
			t.Errorf("q%.2f = %.1f, want %.1f ±1%%", q, got, want)
		}
	}
}

func TestSketchMergeEqualsOneSketch(t *testing.T) {
	var a, b, all Sketch
	for i := range int64(1000) {
		all.Add(i * 7)
		if i%2 == 0 {
			a.Add(i * 7)
		} else {
			b.Add(i * 7)
		}
	}
	a.Merge(&b)
	for _, q := range []float64{0.01, 0.5, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v: merged %v, single %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != 1000 {
		t.Errorf("count %d", a.Count())
	}
}

func TestSketchStaysBounded(t *testing.T) {
	var s Sketch
	for v := int64(1); v < 1<<40; v = v*11/10 + 1 {
		s.Add(v)
	}
	if len(s.bins) > maxBins {
		t.Errorf("%d bins, want at most %d", len(s.bins), maxBins)
	}
	if s.Quantile(0) != 0 && s.Quantile(1) < 1e11 {
		t.Errorf("max %v", s.Quantile(1))
	}
	var empty Sketch
	if empty.Quantile(0.5) != 0 {
		t.Error("empty sketch")
	}
}
