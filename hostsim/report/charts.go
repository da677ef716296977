package report

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"time"

	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"
)

// line is one named series of a chart, a value per bucket.
type line struct {
	name string
	ys   []float64
}

// palette is a set of colours that stay apart for the usual colour blindnesses (Okabe–Ito).
var palette = []drawing.Color{
	{R: 0, G: 114, B: 178, A: 255}, {R: 230, G: 159, B: 0, A: 255}, {R: 0, G: 158, B: 115, A: 255},
	{R: 213, G: 94, B: 0, A: 255}, {R: 204, G: 121, B: 167, A: 255}, {R: 86, G: 180, B: 233, A: 255},
	{R: 120, G: 94, B: 60, A: 255}, {R: 90, G: 90, B: 90, A: 255},
}

// percentUnit is the unit of share charts, whose axis stops at 100.
const percentUnit = "% of calls"

// maxLines bounds the lines of one chart; the busiest values come first.
const maxLines = 8

// Chart is one rendered chart of the HTML report.
type Chart struct {
	Title string
	SVG   template.HTML
}

// renderChart draws lines over the bucket starts as inline SVG with go-chart. A chart it cannot
// draw becomes a note, never a failed report.
func renderChart(title, unit string, xs []time.Time, width time.Duration, lines []line) (c Chart) {
	c.Title = title
	defer func() {
		if r := recover(); r != nil {
			c.SVG = template.HTML(`<p class="nochart">chart not drawn: ` + html.EscapeString(fmt.Sprint(r)) + `</p>`)
		}
	}()
	if len(xs) == 0 || len(lines) == 0 {
		c.SVG = `<p class="nochart">no data</p>`
		return c
	}
	if len(xs) == 1 { // a line needs two points: hold the value over the bucket
		xs = []time.Time{xs[0], xs[0].Add(width)}
		for i := range lines {
			lines[i].ys = []float64{lines[i].ys[0], lines[i].ys[0]}
		}
	}
	top := 0.0
	var series []chart.Series
	for i, l := range lines {
		if i == maxLines {
			break
		}
		for _, y := range l.ys {
			top = math.Max(top, y)
		}
		series = append(series, chart.TimeSeries{
			Name:    html.EscapeString(l.name), // go-chart writes names into the SVG as they are
			XValues: xs, YValues: l.ys,
			Style: chart.Style{StrokeColor: palette[i%len(palette)], StrokeWidth: 2},
		})
	}
	axisTop := niceMax(top)
	if unit == percentUnit && top <= 100 {
		axisTop = min(axisTop, 100)
	}
	layout := "01-02 15:04"
	if width >= 24*time.Hour {
		layout = "2006-01-02"
	}
	graph := chart.Chart{
		Width: 860, Height: 280,
		Background: chart.Style{Padding: chart.Box{Top: 20, Left: 10, Right: 10, Bottom: 10}},
		XAxis:      chart.XAxis{ValueFormatter: chart.TimeValueFormatterWithFormat(layout)},
		YAxis: chart.YAxis{Name: unit, Range: &chart.ContinuousRange{Min: 0, Max: axisTop},
			ValueFormatter: func(v any) string { return shortNumber(v.(float64)) }},
		Series: series,
	}
	graph.Elements = []chart.Renderable{chart.LegendLeft(&graph)}
	var buf bytes.Buffer
	if err := graph.Render(chart.SVG, &buf); err != nil {
		c.SVG = template.HTML(`<p class="nochart">chart not drawn: ` + html.EscapeString(err.Error()) + `</p>`)
		return c
	}
	c.SVG = template.HTML(buf.String()) // go-chart's own SVG; every name in it was escaped above
	return c
}

// niceMax is a round axis top a little above v (never 0, which go-chart cannot draw).
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*1.05 {
			return m * p
		}
	}
	return 10 * p
}

func shortNumber(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 1, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case a >= 10 || a == 0:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
