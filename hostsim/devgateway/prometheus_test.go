package devgateway

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestPrometheusName(t *testing.T) {
	tests := []struct {
		in     string
		name   string
		labels []Label
	}{
		{ // docs/METRICS.md's example
			"stepgate_requests_total.tenant.acme.route.chat.model.gpt-4o.provider.openai.step.allow.status.200",
			"stepgate_requests_total",
			[]Label{{"tenant", "acme"}, {"route", "chat"}, {"model", "gpt-4o"}, {"provider", "openai"}, {"step", "allow"}, {"status", "200"}},
		},
		{"stepgate_shaped_requests.rule.per-key", "stepgate_shaped_requests", []Label{{"rule", "per-key"}}},
		{"stepgate_plain_total", "stepgate_plain_total", nil},
		// A tag value that is also a tag name stays a value: the regexes walk pair by pair.
		{"stepgate_x_total.model.tenant.tenant.acme", "stepgate_x_total", []Label{{"model", "tenant"}, {"tenant", "acme"}}},
		// Pairs that are not stats_tags stay in the name, their dots sanitized.
		{"stepgate_x_total.color.red.model.m", "stepgate_x_total_color_red", []Label{{"model", "m"}}},
		// Names outside the convention are sanitized whole, as Envoy does.
		{"other.plugin.metric", "other_plugin_metric", nil},
		{"stepgate_x_total.model", "stepgate_x_total_model", nil},
		{"9lives", "_9lives", nil},
		{"", "_", nil},
	}
	for _, tt := range tests {
		name, labels := PrometheusName(tt.in)
		if name != tt.name || !slices.Equal(labels, tt.labels) {
			t.Errorf("PrometheusName(%q) = %q %v, want %q %v", tt.in, name, labels, tt.name, tt.labels)
		}
	}
}

// TestStatsTagsAreEnvoyYAMLs keeps statsTags equal to envoy/envoy.yaml's stats_config.stats_tags.
func TestStatsTagsAreEnvoyYAMLs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		StatsConfig struct {
			StatsTags []struct {
				TagName string `json:"tag_name"`
				Regex   string `json:"regex"`
			} `json:"stats_tags"`
		} `json:"stats_config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, tag := range doc.StatsConfig.StatsTags {
		want = append(want, tag.TagName+" "+tag.Regex)
	}
	for _, tag := range statsTags {
		got = append(got, tag.name+" "+tag.re.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("statsTags differ from envoy.yaml:\n got %q\nwant %q", got, want)
	}
}

// TestDocumentedMetricsGetTheirLabels reads docs/METRICS.md's metric table and checks that each
// metric, written with its tags as the convention says, comes out with exactly those labels.
func TestDocumentedMetricsGetTheirLabels(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "METRICS.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(stepgate_[a-z0-9_]+)` \\| (counter|gauge|histogram) \\| ([^|]*)\\|")
	rows := row.FindAllStringSubmatch(string(raw), -1)
	if len(rows) < 5 {
		t.Fatalf("found %d metric rows in docs/METRICS.md", len(rows))
	}
	for _, r := range rows {
		metric := r[1]
		var want []Label
		name := metric
		for _, tag := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(r[3], -1) {
			want = append(want, Label{tag[1], "v-" + tag[1]})
			name += "." + tag[1] + ".v-" + tag[1]
		}
		got, labels := PrometheusName(name)
		if got != metric || !slices.Equal(labels, want) {
			t.Errorf("%s: got %s %v, want %s %v", name, got, labels, metric, want)
		}
	}
}

func sampleMetrics() []hostsim.Metric {
	return []hostsim.Metric{
		{Name: "stepgate_requests_total.tenant.acme.route.none.model.gpt-4o.provider.openai.step.allow.status.200", Type: "counter", Value: 7},
		{Name: "stepgate_requests_total.tenant.acme.route.none.model.gpt-4o.provider.openai.step.reject.status.429", Type: "counter", Value: 2},
		{Name: "stepgate_shaped_requests.rule.model-requests", Type: "gauge", Value: 3},
		histogram("stepgate_request_duration_ms.provider.openai.model.gpt-4o.status.200", 0, 1, 4, 30, 700, 4000000),
		{Name: "stepgate_upstream_first_byte_ms.provider.openai.model.gpt-4o", Type: "histogram"},
		{Name: `odd.metric"name`, Type: "counter", Value: 1},
	}
}

// histogram is a histogram metric as hostsim reports it after recording values.
func histogram(name string, values ...uint64) hostsim.Metric {
	m := hostsim.Metric{Name: name, Type: "histogram", Count: uint64(len(values)), Samples: values,
		Buckets: make([]uint64, len(hostsim.HistogramBounds))}
	for _, v := range values {
		m.Sum += v
		for i, le := range hostsim.HistogramBounds {
			if float64(v) <= le {
				m.Buckets[i]++
			}
		}
	}
	return m
}

func TestWritePrometheusGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WritePrometheus(&b, sampleMetrics()); err != nil {
		t.Fatal(err)
	}
	golden(t, "prometheus.txt", b.Bytes())
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	h := fams["stepgate_request_duration_ms"].Metric[0].GetHistogram()
	if h.GetSampleCount() != 6 || h.GetSampleSum() != 4000735 {
		t.Errorf("histogram count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, bk := range h.Bucket {
		if bk.GetUpperBound() == 5 && bk.GetCumulativeCount() != 3 {
			t.Errorf("bucket le=5 holds %d, want 3 (0, 1, 4)", bk.GetCumulativeCount())
		}
	}
}

func TestWriteStatsGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteStats(&b, sampleMetrics()); err != nil {
		t.Fatal(err)
	}
	golden(t, "stats.txt", b.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	hostsimtest.Golden(t, filepath.Join("testdata", name), got, *update)
}

func TestQuantile(t *testing.T) {
	s := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct {
		q    float64
		want uint64
	}{{0, 1}, {25, 3}, {50, 5}, {90, 9}, {99.9, 10}, {100, 10}} {
		if got := quantile(s, tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %d, want %d", tt.q, got, tt.want)
		}
	}
}

var promName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func FuzzPrometheusName(f *testing.F) {
	for _, s := range []string{
		"stepgate_requests_total.tenant.acme.route.chat.model.gpt-4o.provider.openai.step.allow.status.200",
		"stepgate_x.model.tenant.tenant.acme", "stepgate_x..model.", "a.b.c", "", "stepgate_\xff.model.\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, labels := PrometheusName(in)
		if !promName.MatchString(name) {
			t.Fatalf("PrometheusName(%q) = invalid metric name %q", in, name)
		}
		for _, l := range labels {
			if !slices.ContainsFunc(statsTags, func(s statsTag) bool { return s.name == l.Name }) || l.Value == "" || strings.Contains(l.Value, ".") {
				t.Fatalf("PrometheusName(%q): bad label %v", in, l)
			}
		}
		var b bytes.Buffer
		WritePrometheus(&b, []hostsim.Metric{{Name: in, Type: "counter", Value: 1}, histogram(in+".h", 1)})
		p := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := p.TextToMetricFamilies(&b); err != nil {
			t.Fatalf("exposition of %q does not parse: %v", in, err)
		}
	})
}
