package report

import (
	_ "embed"
	"html/template"
	"io"
	"time"
)

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": pct, "ms": ms, "list": func(v ...string) []string { return v }, "minute": func(ms int64) string { return msTime(ms).Format("2006-01-02 15:04 UTC") },
	"p95": func(p *float64) string {
		if p == nil {
			return ""
		}
		return ms(*p)
	},
}).Parse(pageText))

// Section is a group of charts of the HTML report.
type Section struct {
	Title  string
	Charts []Chart
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS and SVG, no script,
// nothing loaded from anywhere.
func WriteHTML(w io.Writer, s *Summary, title string) error {
	return page.Execute(w, struct {
		Title    string
		S        *Summary
		Sections []Section
	}{title, s, sections(s)})
}

// sections lays out the charts: the whole traffic first, then per tenant, model and provider.
func sections(s *Summary) []Section {
	if len(s.Series) == 0 {
		return nil
	}
	xs := make([]time.Time, len(s.Series))
	for i, p := range s.Series {
		xs[i] = p.Start
	}
	width := time.Duration(s.BucketMs) * time.Millisecond
	per := func(f func(p *Point) float64) []float64 {
		ys := make([]float64, len(s.Series))
		for i := range s.Series {
			ys[i] = f(&s.Series[i])
		}
		return ys
	}
	share := func(part func(p *Point) int64) func(p *Point) float64 {
		return func(p *Point) float64 {
			if p.Requests == 0 {
				return 0
			}
			return 100 * float64(part(p)) / float64(p.Requests)
		}
	}
	var steps, stepShares, errs []line
	for _, n := range stepNames {
		steps = append(steps, line{n, per(func(p *Point) float64 { return float64(p.Steps[n]) })})
		stepShares = append(stepShares, line{n, per(share(func(p *Point) int64 { return p.Steps[n] }))})
	}
	for _, n := range errorNames {
		errs = append(errs, line{n, per(share(func(p *Point) int64 { return p.Errors[n] }))})
	}
	quantiles := func(get func(p *Point) Percentiles) []line {
		return []line{
			{"p50", per(func(p *Point) float64 { return get(p).P50 })},
			{"p95", per(func(p *Point) float64 { return get(p).P95 })},
			{"p99", per(func(p *Point) float64 { return get(p).P99 })},
		}
	}
	out := []Section{{Title: "All calls", Charts: []Chart{
		renderChart("Calls per "+s.BucketWidth+" by throttle step", "calls", xs, width, steps),
		renderChart("Share of each throttle step", percentUnit, xs, width, stepShares),
		renderChart("Error rate by type", percentUnit, xs, width, errs),
		renderChart("Tokens per "+s.BucketWidth, "tokens", xs, width, []line{
			{"in (prompt)", per(func(p *Point) float64 { return float64(p.TokensIn) })},
			{"out (completion)", per(func(p *Point) float64 { return float64(p.TokensOut) })},
		}),
		renderChart("Latency", "ms", xs, width, quantiles(func(p *Point) Percentiles { return p.LatencyMs })),
		renderChart("Time to first byte", "ms", xs, width, quantiles(func(p *Point) Percentiles { return p.TTFBMs })),
	}}}
	for d := range seriesDims {
		out = append(out, dimSection(s, d, xs, width))
	}
	return out
}

func dimSection(s *Summary, d int, xs []time.Time, width time.Duration) Section {
	name := dimNames[d]
	series := s.dims[d]
	each := func(f func(c *cell) float64) []line {
		var ls []line
		for _, ds := range series {
			ys := make([]float64, len(ds.cells))
			for i, c := range ds.cells {
				if c != nil {
					ys[i] = f(c)
				}
			}
			ls = append(ls, line{ds.name, ys})
		}
		return ls
	}
	sec := Section{Title: "Per " + name, Charts: []Chart{
		renderChart("Calls per "+s.BucketWidth+" by "+name, "calls", xs, width, each(func(c *cell) float64 { return float64(c.N) })),
		renderChart("Tokens (in + out) per "+s.BucketWidth+" by "+name, "tokens", xs, width,
			each(func(c *cell) float64 { return float64(c.TokensIn + c.TokensOut) })),
		renderChart("Rejected calls by "+name, percentUnit, xs, width,
			each(func(c *cell) float64 { return 100 * c.share(c.Steps[reject]) })),
		renderChart("Errors by "+name, percentUnit, xs, width,
			each(func(c *cell) float64 { return 100 * c.share(c.errorsTotal()) })),
	}}
	if sketched[d] {
		sec.Charts = append(sec.Charts,
			renderChart("p95 latency by "+name, "ms", xs, width, each(func(c *cell) float64 { return c.lat.Quantile(0.95) })),
			renderChart("p95 time to first byte by "+name, "ms", xs, width, each(func(c *cell) float64 { return c.ttfb.Quantile(0.95) })))
	}
	return sec
}
