package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// Finding is a change between the first and the last third of the period, in words.
type Finding struct {
	Subject string  `json:"subject"` // "all calls", "model claude-sonnet-4", "tenant acme"
	Metric  string  `json:"metric"`  // p95_latency_ms, p95_ttfb_ms, reject_share, error_rate_<type>, requests_per_hour
	Before  float64 `json:"before"`
	After   float64 `json:"after"`
	Text    string  `json:"text"`
	score   float64
	dim     int     // the subject's dimension, numDims for all calls
	change  float64 // how big the change is, comparable within a metric
}

const (
	minTrendBuckets = 6  // fewer buckets: too short a period to speak of trends
	minCalls        = 20 // fewer calls in a part: not enough to compare
	maxFindings     = 12
	latencyRatio    = 1.5 // p95 up 50% (or down a third) is worth a word
	volumeRatio     = 2.0
	minShare        = 0.01 // a share must reach 1% and at least double
)

// part is the merged figures of one subject over a run of buckets.
type part struct {
	cell
	hours float64
}

// trendWindow says which buckets make the first and the last part.
type trendWindow struct {
	first, last []*bucket
	since       string // "since Tue 14:00 UTC"
	span        string // "8h": how long each part is
}

func newTrendWindow(buckets []*bucket, width int64) (trendWindow, bool) {
	n := len(buckets)
	if n < minTrendBuckets {
		return trendWindow{}, false
	}
	k := n / 3
	w := trendWindow{first: buckets[:k], last: buckets[n-k:]}
	start := msTime(w.last[0].start)
	layout := "15:04 UTC"
	if time.Duration(int64(n)*width)*time.Millisecond >= 48*time.Hour {
		layout = "Mon 15:04 UTC"
	}
	w.since = "since " + start.Format(layout)
	w.span = human(time.Duration(int64(k)*width) * time.Millisecond)
	return w, true
}

func merged(buckets []*bucket, width int64, pick func(*bucket) *cell, withSketches bool) part {
	p := part{cell: *newCell(withSketches), hours: float64(int64(len(buckets))*width) / 3600e3}
	for _, b := range buckets {
		if c := pick(b); c != nil {
			p.merge(c)
		}
	}
	return p
}

func findings(a *Aggregator, buckets []*bucket) []Finding {
	w, ok := newTrendWindow(buckets, a.width())
	if !ok {
		return []Finding{}
	}
	var out []Finding
	compare := func(subject string, dim int, withSketches bool, pick func(*bucket) *cell) {
		before := merged(w.first, a.width(), pick, withSketches)
		after := merged(w.last, a.width(), pick, withSketches)
		fs := compareParts(subject, &before, &after, &w)
		for i := range fs {
			fs[i].dim = dim
		}
		out = append(out, fs...)
	}
	compare("all calls", numDims, true, func(b *bucket) *cell { return b.total })
	for d := range seriesDims {
		for name := range a.series[d] {
			if name != otherName {
				compare(dimNames[d]+" "+name, d, sketched[d], func(b *bucket) *cell { return b.dims[d][name] })
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		if specificity[out[i].dim] != specificity[out[j].dim] {
			return specificity[out[i].dim] < specificity[out[j].dim]
		}
		return out[i].Text < out[j].Text
	})
	out = explained(out)
	if len(out) > maxFindings {
		out = out[:maxFindings]
	}
	if out == nil {
		out = []Finding{}
	}
	return out
}

// specificity orders subjects for equal changes: a model says more than the provider serving it,
// and anything says more than all calls.
var specificity = [numDims + 1]int{dimModel: 0, dimTenant: 1, dimProvider: 2, dimKey: 3, numDims: 4}

// explained drops a finding when one of the same metric about another dimension (or all calls)
// shows at least as big a change: one tenant's rejections also raise the reject share of the
// models it calls, and one model's latency that of its provider. Findings about values of the
// same dimension all stay (two tenants can both be rejected more).
func explained(sorted []Finding) []Finding {
	var out []Finding
next:
	for _, f := range sorted {
		for _, k := range out {
			if k.Metric == f.Metric && k.dim != f.dim && k.change >= f.change {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

func compareParts(subject string, before, after *part, w *trendWindow) []Finding {
	var out []Finding
	if max(before.N, after.N) >= 50 {
		b, a := float64(before.N)/before.hours, float64(after.N)/after.hours
		if r := ratio(a, b); r >= volumeRatio || r <= 1/volumeRatio {
			out = append(out, Finding{Subject: subject, Metric: "requests_per_hour", Before: round1(b), After: round1(a),
				score: math.Abs(math.Log(r)), change: math.Abs(math.Log(r)),
				Text: volumeText(subject, r, a, b, w.span)})
		}
	}
	if before.N < minCalls || after.N < minCalls {
		return out
	}
	if before.lat != nil {
		out = appendLatency(out, subject, "latency", "p95_latency_ms", before.lat, after.lat, w)
		out = appendLatency(out, subject, "time to first byte", "p95_ttfb_ms", before.ttfb, after.ttfb, w)
	}
	out = appendShare(out, subject, "hit reject on", "reject_share", before.share(before.Steps[reject]), after.share(after.Steps[reject]), w)
	for i, name := range errorNames {
		if name == "throttle" { // the reject share says it
			continue
		}
		out = appendShare(out, subject, "had "+name+" errors on", "error_rate_"+name,
			before.share(before.Errors[i]), after.share(after.Errors[i]), w)
	}
	return out
}

func appendLatency(out []Finding, subject, what, metric string, before, after *Sketch, w *trendWindow) []Finding {
	if before.Count() < minCalls || after.Count() < minCalls {
		return out
	}
	b, a := before.Quantile(0.95), after.Quantile(0.95)
	r := ratio(a, b)
	if r < latencyRatio && r > 1/latencyRatio {
		return out
	}
	return append(out, Finding{Subject: subject, Metric: metric, Before: round1(b), After: round1(a),
		score: 1 + math.Abs(math.Log(r)), change: math.Abs(math.Log(r)),
		Text: fmt.Sprintf("%s p95 %s %s %s (%s → %s)", subject, what, percent(r), w.since, ms(b), ms(a))})
}

func appendShare(out []Finding, subject, verb, metric string, before, after float64, w *trendWindow) []Finding {
	if after < minShare || after < 2*before || after-before < minShare {
		return out
	}
	return append(out, Finding{Subject: subject, Metric: metric, Before: round4(before), After: round4(after),
		score: 2 + 10*(after-before), change: after,
		Text: fmt.Sprintf("%s %s %s of calls in the last %s, up from %s", subject, verb, pct(after), w.span, pct(before))})
}

// ratio is a/b, with a finite stand-in when b is 0.
func ratio(a, b float64) float64 {
	if b <= 0 {
		if a <= 0 {
			return 1
		}
		return 1e3
	}
	return a / b
}

func percent(r float64) string {
	d := (r - 1) * 100
	if d >= 0 {
		return "+" + strconv.FormatFloat(math.Round(d), 'f', 0, 64) + "%"
	}
	return "−" + strconv.FormatFloat(math.Round(-d), 'f', 0, 64) + "%"
}

func volumeText(subject string, r, after, before float64, span string) string {
	if r >= 1 {
		return fmt.Sprintf("%s: %s calls per hour in the last %s, %s× the %s/h of the first %s",
			subject, num(after), span, strconv.FormatFloat(r, 'f', 1, 64), num(before), span)
	}
	return fmt.Sprintf("%s: %s calls per hour in the last %s, down from %s/h in the first %s",
		subject, num(after), span, num(before), span)
}

func pct(v float64) string {
	if v < 0.01 && v > 0 {
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
}

func ms(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
}

func num(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// human writes a duration the way people say it: 45m, 8h, 2d.
func human(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d >= time.Hour:
		return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}
