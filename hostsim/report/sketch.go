package report

import (
	"math"
)

// Sketch estimates quantiles of non-negative values (milliseconds) in bounded memory: values are
// counted in logarithmic bins of ratio gamma, so any quantile it answers is within 1% of a value
// of the input of that rank. When more than maxBins bins are in use, the lowest ones are folded
// together: the upper quantiles, the ones that matter for latency, keep their accuracy.
// Sketches merge exactly, which is how a period's percentiles come from its buckets'.
type Sketch struct {
	n    uint64
	zero uint64 // values below 1
	bins []bin  // sorted by index
}

type bin struct {
	idx int32
	n   uint32
}

const (
	gamma   = 1.02
	maxBins = 512 // 1.02^512 ≈ 25 000: 1 ms … 25 s, or 10 ms … 4 min, at full accuracy
)

var logGamma = math.Log(gamma)

func binIndex(v float64) int32 { return int32(math.Ceil(math.Log(v) / logGamma)) }

// binValue is the bin's representative value: its relative distance to any value of the bin is
// at most (gamma-1)/(gamma+1) < 1%.
func binValue(idx int32) float64 { return 2 * math.Pow(gamma, float64(idx)) / (gamma + 1) }

// Add counts one value.
func (s *Sketch) Add(v int64) {
	s.n++
	if v < 1 {
		s.zero++
		return
	}
	s.addBin(binIndex(float64(min(v, 1<<40))), 1)
}

func (s *Sketch) addBin(idx int32, n uint32) {
	// The first bin at or above idx, by binary search (sort.Search's closure costs more here).
	i, j := 0, len(s.bins)
	for i < j {
		h := int(uint(i+j) >> 1)
		if s.bins[h].idx < idx {
			i = h + 1
		} else {
			j = h
		}
	}
	if i < len(s.bins) && s.bins[i].idx == idx {
		s.bins[i].n += n
		return
	}
	s.bins = append(s.bins, bin{})
	copy(s.bins[i+1:], s.bins[i:])
	s.bins[i] = bin{idx, n}
	if len(s.bins) > maxBins {
		s.bins[1].n += s.bins[0].n
		s.bins = append(s.bins[:0], s.bins[1:]...)
	}
}

// Merge adds o's values to s.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil {
		return
	}
	s.n += o.n
	s.zero += o.zero
	for _, b := range o.bins {
		s.addBin(b.idx, b.n)
	}
}

// Count is the number of values added.
func (s *Sketch) Count() uint64 { return s.n }

// Quantile returns the value of rank ceil(q·n) (nearest rank), 0 for an empty sketch.
func (s *Sketch) Quantile(q float64) float64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	rank = max(rank, 1)
	seen := s.zero
	if rank <= seen {
		return 0
	}
	for _, b := range s.bins {
		seen += uint64(b.n)
		if rank <= seen {
			return binValue(b.idx)
		}
	}
	return binValue(s.bins[len(s.bins)-1].idx)
}

// obsIndex is the bin of v, or -1 for a value below 1 (the zero count).
func obsIndex(v int64) int32 {
	if v < 1 {
		return -1
	}
	return binIndex(float64(min(v, 1<<40)))
}

// addObs counts a value whose bin obsIndex computed.
func (s *Sketch) addObs(idx int32) {
	s.n++
	if idx < 0 {
		s.zero++
		return
	}
	s.addBin(idx, 1)
}
