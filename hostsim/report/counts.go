package report

// The throttle steps and error types, in the order of the arrays below and of the charts.
var (
	stepNames  = [...]string{"allow", "shape", "degrade", "reject"}
	errorNames = [...]string{"client", "throttle", "provider", "gateway"}
)

const reject = 3 // index of "reject" in stepNames

func stepIndex(s string) int {
	for i, n := range stepNames {
		if n == s {
			return i
		}
	}
	return -1
}

func errorIndex(s string) int {
	for i, n := range errorNames {
		if n == s {
			return i
		}
	}
	return -1
}

// counts are the additive figures of a set of calls.
type counts struct {
	N         int64
	Steps     [len(stepNames)]int64
	Errors    [len(errorNames)]int64
	TokensIn  int64
	TokensOut int64
}

func (c *counts) add(r *Record, step, errType int) {
	c.N++
	if step >= 0 {
		c.Steps[step]++
	}
	if errType >= 0 {
		c.Errors[errType]++
	}
	c.TokensIn += r.TokensIn
	c.TokensOut += r.TokensOut
}

func (c *counts) merge(o *counts) {
	c.N += o.N
	for i := range c.Steps {
		c.Steps[i] += o.Steps[i]
	}
	for i := range c.Errors {
		c.Errors[i] += o.Errors[i]
	}
	c.TokensIn += o.TokensIn
	c.TokensOut += o.TokensOut
}

func (c *counts) errorsTotal() int64 {
	var n int64
	for _, e := range c.Errors {
		n += e
	}
	return n
}

// share is part/N, 0 for no calls.
func (c *counts) share(part int64) float64 {
	if c.N == 0 {
		return 0
	}
	return float64(part) / float64(c.N)
}

// cell is the figures of one set of calls: counts, and latency and time-to-first-byte sketches
// where they are kept.
type cell struct {
	counts
	lat, ttfb *Sketch
}

func newCell(withSketches bool) *cell {
	c := &cell{}
	if withSketches {
		c.lat, c.ttfb = &Sketch{}, &Sketch{}
	}
	return c
}

// obs is one record reduced to what cells need, computed once per record.
type obs struct {
	r             *Record
	step, errType int
	latIdx        int32 // sketch bin, or -1 for a value below 1
	ttfbIdx       int32
}

func (c *cell) add(o *obs) {
	c.counts.add(o.r, o.step, o.errType)
	if c.lat == nil {
		return
	}
	c.lat.addObs(o.latIdx)
	if o.r.HasTTFB {
		c.ttfb.addObs(o.ttfbIdx)
	}
}

func (c *cell) merge(o *cell) {
	c.counts.merge(&o.counts)
	if c.lat != nil && o.lat != nil {
		c.lat.Merge(o.lat)
		c.ttfb.Merge(o.ttfb)
	}
}
