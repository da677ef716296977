package report

import (
	"sort"
	"strconv"
	"time"
)

// Summary is the report's content, as `stepgate-report -json` prints it.
type Summary struct {
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	BucketWidth string           `json:"bucket_width"` // 1m, 5m, 15m, 1h, 6h, 1d or 7d
	BucketMs    int64            `json:"bucket_ms"`
	Input       Input            `json:"input"`
	Requests    int64            `json:"requests"`
	Steps       map[string]int64 `json:"steps"`
	Errors      map[string]int64 `json:"errors"`
	ErrorRate   float64          `json:"error_rate"`
	TokensIn    int64            `json:"tokens_in"`
	TokensOut   int64            `json:"tokens_out"`
	LatencyMs   Percentiles      `json:"latency_ms"`
	TTFBMs      Percentiles      `json:"ttfb_ms"`
	Findings    []Finding        `json:"findings"`
	Top         map[string][]Row `json:"top"` // by dimension: tenant, model, provider, key
	NoisyMinute []MinuteCount    `json:"noisiest_minutes"`
	Series      []Point          `json:"series"`
	dims        [seriesDims][]dimSeries
}

// Percentiles of a latency, in ms (nearest rank, within 1%).
type Percentiles struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
}

func percentiles(s *Sketch) Percentiles {
	return Percentiles{Count: s.Count(), P50: round1(s.Quantile(0.5)), P95: round1(s.Quantile(0.95)), P99: round1(s.Quantile(0.99))}
}

// Row is one value of a dimension in a top table.
type Row struct {
	Name        string   `json:"name"`
	Requests    int64    `json:"requests"`
	TokensIn    int64    `json:"tokens_in"`
	TokensOut   int64    `json:"tokens_out"`
	ErrorRate   float64  `json:"error_rate"`
	RejectShare float64  `json:"reject_share"`
	P95Ms       *float64 `json:"p95_latency_ms,omitempty"`
}

// Point is one time bucket of the whole traffic.
type Point struct {
	Start     time.Time        `json:"start"`
	Requests  int64            `json:"requests"`
	Steps     map[string]int64 `json:"steps"`
	Errors    map[string]int64 `json:"errors"`
	TokensIn  int64            `json:"tokens_in"`
	TokensOut int64            `json:"tokens_out"`
	LatencyMs Percentiles      `json:"latency_ms"`
	TTFBMs    Percentiles      `json:"ttfb_ms"`
}

// dimSeries is one value of a dimension over the buckets (for the charts).
type dimSeries struct {
	name  string
	cells []*cell // per bucket of Summary.Series; nil where the value had no calls
	total int64
}

const topRows = 10

// Summary reads the aggregate out.
func (a *Aggregator) Summary() *Summary {
	s := &Summary{Input: a.Input, Requests: a.all.N, TokensIn: a.all.TokensIn, TokensOut: a.all.TokensOut,
		Steps: stepMap(&a.all.counts), Errors: errorMap(&a.all.counts), ErrorRate: round4(a.all.share(a.all.errorsTotal())),
		LatencyMs: percentiles(a.all.lat), TTFBMs: percentiles(a.all.ttfb), Top: map[string][]Row{},
		BucketWidth: widthName(a.width()), BucketMs: a.width()}
	if a.all.N == 0 {
		s.Findings = []Finding{}
		s.Series = []Point{}
		s.NoisyMinute = []MinuteCount{}
		return s
	}
	s.From, s.To = msTime(a.minTs), msTime(a.maxTs)
	// Few records far apart leave few buckets but a long span: the gaps are filled with empty
	// buckets, so the width must fit the span too.
	for (a.maxTs-a.minTs)/a.width()+1 > maxBuckets && a.widthIdx < len(bucketWidths)-1 {
		a.coarsen()
	}
	s.BucketWidth, s.BucketMs = widthName(a.width()), a.width()
	buckets := a.sortedBuckets()
	for _, b := range buckets {
		s.Series = append(s.Series, point(b))
	}
	for d := range seriesDims {
		s.dims[d] = a.dimSeries(d, buckets)
	}
	for d := range numDims {
		s.Top[dimNames[d]] = topTable(a.tables[d], sketched[d])
	}
	s.NoisyMinute = a.minutes.result()
	s.Findings = findings(a, buckets)
	return s
}

// sortedBuckets lists the buckets from the first to the last, with empty ones filling the gaps
// so that the series have a point per bucket width.
func (a *Aggregator) sortedBuckets() []*bucket {
	starts := make([]int64, 0, len(a.buckets))
	for s := range a.buckets {
		starts = append(starts, s)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	w := a.width()
	var out []*bucket
	for _, s := range starts {
		for len(out) > 0 && out[len(out)-1].start+w < s {
			out = append(out, newBucket(out[len(out)-1].start+w))
		}
		out = append(out, a.buckets[s])
	}
	return out
}

func point(b *bucket) Point {
	c := b.total
	return Point{Start: msTime(b.start), Requests: c.N, Steps: stepMap(&c.counts), Errors: errorMap(&c.counts),
		TokensIn: c.TokensIn, TokensOut: c.TokensOut, LatencyMs: percentiles(c.lat), TTFBMs: percentiles(c.ttfb)}
}

func (a *Aggregator) dimSeries(d int, buckets []*bucket) []dimSeries {
	byName := map[string]*dimSeries{}
	for i, b := range buckets {
		for name, c := range b.dims[d] {
			ds, ok := byName[name]
			if !ok {
				ds = &dimSeries{name: name, cells: make([]*cell, len(buckets))}
				byName[name] = ds
			}
			ds.cells[i] = c
			ds.total += c.N
		}
	}
	out := make([]dimSeries, 0, len(byName))
	for _, ds := range byName {
		out = append(out, *ds)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].total != out[j].total {
			return out[i].total > out[j].total
		}
		return out[i].name < out[j].name
	})
	return out
}

func topTable(m map[string]*entry, withLatency bool) []Row {
	rows := make([]Row, 0, len(m))
	for name, e := range m {
		c := e.cell
		r := Row{Name: name, Requests: c.N, TokensIn: c.TokensIn, TokensOut: c.TokensOut,
			ErrorRate: round4(c.share(c.errorsTotal())), RejectShare: round4(c.share(c.Steps[reject]))}
		if withLatency && c.lat != nil {
			p := round1(c.lat.Quantile(0.95))
			r.P95Ms = &p
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Requests != rows[j].Requests {
			return rows[i].Requests > rows[j].Requests
		}
		return rows[i].Name < rows[j].Name
	})
	if len(rows) > topRows {
		rows = rows[:topRows]
	}
	return rows
}

func stepMap(c *counts) map[string]int64 {
	m := make(map[string]int64, len(stepNames))
	for i, n := range stepNames {
		m[n] = c.Steps[i]
	}
	return m
}

func errorMap(c *counts) map[string]int64 {
	m := make(map[string]int64, len(errorNames))
	for i, n := range errorNames {
		m[n] = c.Errors[i]
	}
	return m
}

// widthName writes a bucket width of the ladder: 1m, 5m, 15m, 1h, 6h, 1d, 7d.
func widthName(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func round4(v float64) float64 { return float64(int64(v*1e4+0.5)) / 1e4 }
