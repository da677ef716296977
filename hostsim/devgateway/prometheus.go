package devgateway

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/hostsim"
)

// customPrefix is the prefix Envoy gives proxy-wasm metrics in its stats store. Envoy registers
// it as a custom stat namespace: its Prometheus output drops it instead of adding "envoy_".
const customPrefix = "wasmcustom."

// statsTag is one entry of envoy/envoy.yaml's stats_config.stats_tags.
type statsTag struct {
	name string
	re   *regexp.Regexp
}

// statsTags are envoy/envoy.yaml's stats_tags, hostsim.StepgateStatsTags, in its order (a test
// checks that they stay equal). Each regex walks a metric name pair by pair and captures
// ".TAG.value": the first group is removed from the name, the second is the label's value
// (Envoy's regex tag extractor).
var statsTags = func() []statsTag {
	tags := make([]statsTag, len(hostsim.StepgateStatsTags))
	for i, t := range hostsim.StepgateStatsTags {
		tags[i] = statsTag{t.TagName, regexp.MustCompile(t.Regex)}
	}
	return tags
}()

// Label is one Prometheus label.
type Label struct{ Name, Value string }

// PrometheusName is what Envoy's /stats/prometheus makes of a proxy-wasm metric name: the
// stats_tags of envoy/envoy.yaml turn ".tag.value" pairs into labels (in the order they appear in
// the name), and the rest, without Envoy's "wasmcustom." prefix, is sanitized into the metric
// name. stepgate_requests_total.tenant.acme.status.200 is stepgate_requests_total{tenant="acme",
// status="200"}; names outside docs/METRICS.md's convention keep their dots as underscores.
func PrometheusName(name string) (string, []Label) {
	full := customPrefix + name
	type hit struct {
		start, end int // the removed ".tag.value"
		label      Label
	}
	var hits []hit
	for _, t := range statsTags {
		m := t.re.FindStringSubmatchIndex(full)
		if m == nil {
			continue
		}
		hits = append(hits, hit{m[2], m[3], Label{t.name, full[m[4]:m[5]]}})
	}
	slices.SortFunc(hits, func(a, b hit) int { return a.start - b.start })
	var b strings.Builder
	pos := len(customPrefix)
	labels := make([]Label, 0, len(hits))
	for _, h := range hits {
		if h.start < pos { // overlapping captures cannot happen with these regexes; be safe
			continue
		}
		b.WriteString(full[pos:h.start])
		pos = h.end
		labels = append(labels, h.label)
	}
	b.WriteString(full[pos:])
	return sanitizeName(b.String()), labels
}

// sanitizeName applies Prometheus' metric name rules as Envoy does: every character outside
// [a-zA-Z0-9_] becomes '_', and a leading digit gets a '_' in front.
func sanitizeName(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			out[i] = '_'
		}
	}
	if len(out) == 0 || out[0] >= '0' && out[0] <= '9' {
		return "_" + string(out)
	}
	return string(out)
}

type promSeries struct {
	labels []Label
	m      hostsim.Metric
}

type promFamily struct {
	name   string
	typ    string
	series []promSeries
}

// WritePrometheus writes metrics in the Prometheus text exposition format (version 0.0.4) as
// Envoy's /stats/prometheus shows proxy-wasm metrics: labels from the stats_tags (see
// PrometheusName), one # TYPE line per family, counters then gauges then histograms, each sorted
// by name and labels. Histograms use Envoy's default buckets and report the exact count and sum
// of the recorded samples.
func WritePrometheus(w io.Writer, metrics []hostsim.Metric) error {
	return writePrometheus(w, metrics, PrometheusName)
}

// WritePrometheusTags is WritePrometheus with the stats_tags tags instead of envoy.yaml's
// (labels in tags' order).
func WritePrometheusTags(w io.Writer, metrics []hostsim.Metric, tags *hostsim.StatsTags) error {
	return writePrometheus(w, metrics, func(name string) (string, []Label) {
		n, ts := tags.Prometheus(name)
		labels := make([]Label, len(ts))
		for i, t := range ts {
			labels[i] = Label(t)
		}
		return sanitizeName(n), labels
	})
}

func writePrometheus(w io.Writer, metrics []hostsim.Metric, name func(string) (string, []Label)) error {
	var b []byte
	for _, typ := range []string{"counter", "gauge", "histogram"} {
		for _, f := range families(metrics, typ, name) {
			b = fmt.Appendf(b, "# TYPE %s %s\n", f.name, f.typ)
			for _, s := range f.series {
				if typ == "histogram" {
					b = appendHistogram(b, f.name, s)
				} else {
					b = appendSample(b, f.name, s.labels, strconv.FormatUint(s.m.Value, 10))
				}
			}
		}
		if len(b) > 32<<10 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	_, err := w.Write(b)
	return err
}

// families groups the metrics of one type by Prometheus name, sorted.
func families(metrics []hostsim.Metric, typ string, promName func(string) (string, []Label)) []*promFamily {
	byName := map[string]*promFamily{}
	var out []*promFamily
	for _, m := range metrics {
		if m.Type != typ {
			continue
		}
		name, labels := promName(m.Name)
		f := byName[name]
		if f == nil {
			f = &promFamily{name: name, typ: typ}
			byName[name] = f
			out = append(out, f)
		}
		f.series = append(f.series, promSeries{labels, m})
	}
	slices.SortFunc(out, func(a, b *promFamily) int { return strings.Compare(a.name, b.name) })
	for _, f := range out {
		slices.SortFunc(f.series, func(a, b promSeries) int { return compareLabels(a.labels, b.labels) })
	}
	return out
}

func compareLabels(a, b []Label) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i].Name, b[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func appendHistogram(b []byte, name string, s promSeries) []byte {
	le := make([]Label, len(s.labels), len(s.labels)+1)
	copy(le, s.labels)
	le = append(le, Label{"le", ""})
	for i, bound := range hostsim.HistogramBounds {
		var n uint64
		if i < len(s.m.Buckets) {
			n = s.m.Buckets[i]
		}
		le[len(le)-1].Value = strconv.FormatFloat(bound, 'f', -1, 64)
		b = appendSample(b, name+"_bucket", le, strconv.FormatUint(n, 10))
	}
	le[len(le)-1].Value = "+Inf"
	n := strconv.FormatUint(s.m.Count, 10)
	b = appendSample(b, name+"_bucket", le, n)
	b = appendSample(b, name+"_sum", s.labels, strconv.FormatUint(s.m.Sum, 10))
	return appendSample(b, name+"_count", s.labels, n)
}

func appendSample(b []byte, name string, labels []Label, value string) []byte {
	b = append(b, name...)
	if len(labels) > 0 {
		b = append(b, '{')
		for i, l := range labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, sanitizeName(l.Name)...)
			b = append(b, `="`...)
			b = appendLabelValue(b, l.Value)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = append(b, value...)
	return append(b, '\n')
}

// appendLabelValue escapes a label value as the text format requires: backslash, double quote
// and line feed; bytes that are not UTF-8 become U+FFFD (the format is UTF-8).
func appendLabelValue(b []byte, v string) []byte {
	v = strings.ToValidUTF8(v, "\uFFFD")
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// statsQuantiles are the percentiles Envoy's /stats prints for a histogram.
var statsQuantiles = []float64{0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100}

// WriteStats writes metrics as Envoy's plain-text /stats does: "name: value" with the full stat
// name (wasmcustom. prefix, tags still in the name), sorted; histograms as percentiles
// "P50(interval,cumulative)" of the most recent samples (hostsim keeps no intervals, so both
// numbers are the same), or "No recorded values".
func WriteStats(w io.Writer, metrics []hostsim.Metric) error {
	sorted := slices.Clone(metrics)
	slices.SortFunc(sorted, func(a, b hostsim.Metric) int { return strings.Compare(a.Name, b.Name) })
	var b []byte
	for _, typ := range []string{"counter", "gauge"} {
		for _, m := range sorted {
			if m.Type == typ {
				b = fmt.Appendf(b, "%s%s: %d\n", customPrefix, m.Name, m.Value)
			}
		}
	}
	for _, m := range sorted {
		if m.Type != "histogram" {
			continue
		}
		b = fmt.Appendf(b, "%s%s: ", customPrefix, m.Name)
		if len(m.Samples) == 0 {
			b = append(b, "No recorded values\n"...)
			continue
		}
		samples := slices.Clone(m.Samples)
		slices.Sort(samples)
		for i, q := range statsQuantiles {
			if i > 0 {
				b = append(b, ' ')
			}
			v := strconv.FormatUint(quantile(samples, q), 10)
			b = fmt.Appendf(b, "P%s(%s,%s)", strconv.FormatFloat(q, 'f', -1, 64), v, v)
		}
		b = append(b, '\n')
	}
	_, err := w.Write(b)
	return err
}

// quantile is the nearest-rank percentile q (0-100) of sorted samples (not empty).
func quantile(sorted []uint64, q float64) uint64 {
	i := int(q/100*float64(len(sorted))+0.999999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
