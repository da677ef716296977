package report

import (
	"io"
	"strings"
)

// The dimensions calls are broken down by.
const (
	dimTenant = iota
	dimModel
	dimProvider
	dimKey
	numDims
)

var dimNames = [numDims]string{"tenant", "model", "provider", "key"}

// seriesDims are the dimensions that get time series (keys only get a table).
const seriesDims = dimProvider + 1

// sketched says which dimensions keep latency sketches: latency is a property of the model and
// the provider, not of who calls them.
var sketched = [numDims]bool{dimModel: true, dimProvider: true}

const (
	// maxBuckets bounds the time buckets: past it the width steps up the ladder.
	maxBuckets = 240
	// maxSeriesValues is how many values of a dimension get their own time series; later ones
	// are added up as otherName.
	maxSeriesValues = 16
	// maxTableValues is how many values of a dimension are counted one by one for the tables.
	maxTableValues = 5000
	otherName      = "(other)"
	noneName       = "(none)"
)

// bucketWidths is the ladder of time bucket widths, in ms: each divides the next, so buckets
// merge exactly when the width steps up.
var bucketWidths = [...]int64{
	60e3, 5 * 60e3, 15 * 60e3, 3600e3, 6 * 3600e3, 24 * 3600e3, 7 * 24 * 3600e3,
}

type bucket struct {
	start int64 // ms
	total *cell
	dims  [seriesDims]map[string]*cell
}

// Aggregator folds records into bounded state; Summary reads it out.
type Aggregator struct {
	Input Input

	widthIdx int
	buckets  map[int64]*bucket
	series   [seriesDims]map[string]struct{} // the values with their own series
	tables   [numDims]map[string]*entry
	last     *bucket // the bucket of the previous record: records come in time order
	all      *cell
	minTs    int64
	maxTs    int64
	minutes  minuteTop
}

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator {
	a := &Aggregator{buckets: map[int64]*bucket{}, all: newCell(true)}
	for d := range a.series {
		a.series[d] = map[string]struct{}{}
	}
	for d := range a.tables {
		a.tables[d] = map[string]*entry{}
	}
	a.minutes.init()
	return a
}

func (a *Aggregator) width() int64 { return bucketWidths[a.widthIdx] }

// Add counts one record. It copies the strings it keeps.
func (a *Aggregator) Add(r *Record) {
	o := obs{r: r, step: stepIndex(r.Step), errType: errorIndex(r.ErrorType),
		latIdx: obsIndex(r.LatencyMs), ttfbIdx: obsIndex(r.TTFBMs)}
	if a.all.N == 0 || r.TsMs < a.minTs {
		a.minTs = r.TsMs
	}
	a.maxTs = max(a.maxTs, r.TsMs)
	a.all.add(&o)
	b := a.bucket(r.TsMs)
	b.total.add(&o)
	values := [numDims]string{r.Tenant, r.Model, r.Provider, r.KeyID}
	for d, v := range values {
		if v == "" {
			v = noneName
		}
		e := a.entry(d, v)
		e.cell.add(&o)
		if d < seriesDims {
			cellFor(b.dims[d], e.series, sketched[d]).add(&o)
		}
	}
	a.minutes.add(r.TsMs)
}

// entry is one value of a dimension: its totals for the tables, and the name of the time series
// it is counted in (itself, or otherName once maxSeriesValues values have their own).
type entry struct {
	cell   *cell
	series string
}

// entry finds or makes the entry of value v of dimension d; past maxTableValues values, new ones
// share the entry of otherName.
func (a *Aggregator) entry(d int, v string) *entry {
	if e, ok := a.tables[d][v]; ok {
		return e
	}
	if len(a.tables[d]) >= maxTableValues {
		v = otherName
		if e, ok := a.tables[d][v]; ok {
			return e
		}
	}
	v = strings.Clone(v)
	e := &entry{cell: newCell(sketched[d]), series: v}
	if d < seriesDims {
		e.series = a.seriesName(d, v)
	}
	a.tables[d][v] = e
	return e
}

// cellFor finds or makes the cell of name in m; a new name is copied, since record strings
// point into the reader's buffer.
func cellFor(m map[string]*cell, name string, withSketches bool) *cell {
	if c, ok := m[name]; ok {
		return c
	}
	c := newCell(withSketches)
	m[strings.Clone(name)] = c
	return c
}

// seriesName is v if it has (or can still get) its own series, else otherName.
func (a *Aggregator) seriesName(d int, v string) string {
	if _, ok := a.series[d][v]; ok {
		return v
	}
	if len(a.series[d]) < maxSeriesValues {
		a.series[d][strings.Clone(v)] = struct{}{}
		return v
	}
	return otherName
}

// bucket returns the bucket holding ts, stepping the width up when there would be too many.
func (a *Aggregator) bucket(ts int64) *bucket {
	start := ts - ts%a.width()
	if a.last != nil && a.last.start == start {
		return a.last
	}
	if b, ok := a.buckets[start]; ok {
		a.last = b
		return b
	}
	a.last = nil // set again below, once the width is settled
	for len(a.buckets) >= maxBuckets && a.widthIdx < len(bucketWidths)-1 {
		a.coarsen()
		start = ts - ts%a.width()
		if b, ok := a.buckets[start]; ok {
			return b
		}
	}
	b := newBucket(start)
	a.buckets[start] = b
	a.last = b
	return b
}

func newBucket(start int64) *bucket {
	b := &bucket{start: start, total: newCell(true)}
	for d := range b.dims {
		b.dims[d] = map[string]*cell{}
	}
	return b
}

// coarsen steps the bucket width up once, merging buckets.
func (a *Aggregator) coarsen() {
	a.widthIdx++
	w := a.width()
	merged := make(map[int64]*bucket, len(a.buckets)/2+1)
	for _, b := range a.buckets {
		start := b.start - b.start%w
		m, ok := merged[start]
		if !ok {
			merged[start] = b
			b.start = start
			continue
		}
		m.total.merge(b.total)
		for d := range b.dims {
			for name, c := range b.dims[d] {
				cellFor(m.dims[d], name, sketched[d]).merge(c)
			}
		}
	}
	a.buckets = merged
	a.last = nil
}

// Read scans r (plain or gzip call records, see Scan) into the aggregate.
func (a *Aggregator) Read(r io.Reader) error { return Scan(r, &a.Input, a.Add) }
