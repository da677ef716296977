package envoy_test

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
)

// documentedMetric is one row of the metrics table in docs/METRICS.md.
type documentedMetric struct {
	name, typ string
	tags      []string
}

var backticked = regexp.MustCompile("`([^`]+)`")

// readMetricsDoc returns the tag names and the metrics that docs/METRICS.md documents.
func readMetricsDoc(t testing.TB) (tags []string, metrics []documentedMetric) {
	t.Helper()
	for _, line := range strings.Split(string(readFile(t, metricsDocPath)), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		first := backticked.FindStringSubmatch(cells[0])[1]
		if !strings.HasPrefix(first, "stepgate_") {
			tags = append(tags, first)
			continue
		}
		if len(cells) != 4 {
			t.Fatalf("%s: metric row %q: want 4 cells", metricsDocPath, line)
		}
		m := documentedMetric{name: first, typ: cells[1]}
		for _, g := range backticked.FindAllStringSubmatch(cells[2], -1) {
			m.tags = append(m.tags, g[1])
		}
		metrics = append(metrics, m)
	}
	if len(tags) == 0 || len(metrics) == 0 {
		t.Fatalf("%s: found no tag or metric table", metricsDocPath)
	}
	return tags, metrics
}

// extractTags does what Envoy's regex tag extractors do to a stat name: each regex is matched
// against the full name, its first group is removed from the name and its second group is the tag's
// value. It returns the name without the tag parts and the tags found.
func extractTags(specs []*metricsv3.TagSpecifier, name string) (string, map[string]string) {
	tags := map[string]string{}
	remove := make([]bool, len(name))
	for _, s := range specs {
		re := regexp.MustCompile(s.GetRegex())
		m := re.FindStringSubmatchIndex(name)
		if m == nil || len(m) < 6 {
			continue
		}
		tags[s.GetTagName()] = name[m[4]:m[5]]
		for i := m[2]; i < m[3]; i++ {
			remove[i] = true
		}
	}
	var b strings.Builder
	for i := range name {
		if !remove[i] {
			b.WriteByte(name[i])
		}
	}
	return b.String(), tags
}

// TestStatsTagsMatchDocs: envoy.yaml extracts exactly the documented tags, with regexes of the form
// docs/METRICS.md describes and that both RE2 and ECMAScript read the same way.
func TestStatsTagsMatchDocs(t *testing.T) {
	docTags, _ := readMetricsDoc(t)
	sc := loadBootstrap(t).GetStatsConfig()
	if !sc.GetUseAllDefaultTags().GetValue() && sc.GetUseAllDefaultTags() != nil {
		t.Error("use_all_default_tags is off: Envoy's own stats would lose their labels")
	}
	var got []string
	for _, s := range sc.GetStatsTags() {
		got = append(got, s.GetTagName())
		want := `^wasmcustom\.stepgate_[a-z0-9_]+(?:\.[a-z_]+\.[^.]+)*?(\.` + s.GetTagName() + `\.([^.]+))`
		if s.GetRegex() != want {
			t.Errorf("stats tag %s: regex %q, want %q", s.GetTagName(), s.GetRegex(), want)
		}
	}
	if !slices.Equal(sorted(got), sorted(docTags)) {
		t.Errorf("envoy.yaml extracts tags %v, docs/METRICS.md documents %v", sorted(got), sorted(docTags))
	}
}

// TestStatsTagsExtractDocumentedMetrics: for every documented metric, a name built by the convention
// comes out of Envoy's tag extraction as the bare metric with exactly its tags, even when a value
// looks like a tag name.
func TestStatsTagsExtractDocumentedMetrics(t *testing.T) {
	specs := loadBootstrap(t).GetStatsConfig().GetStatsTags()
	_, metrics := readMetricsDoc(t)
	values := [][]string{
		{"acme", "gpt-4o", "200", "openai", "allow", "chat", "prompt"},
		// Values equal to tag names, digits, dashes, underscores: still paired correctly.
		{"model", "tenant", "step", "status", "claude-3_5-sonnet", "none", "x_y-z"},
	}
	for _, m := range metrics {
		if !strings.HasPrefix(m.name, "stepgate_") || !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(m.name) {
			t.Errorf("metric %s: name does not follow stepgate_[a-z0-9_]+", m.name)
		}
		for _, vs := range values {
			name := "wasmcustom." + m.name
			want := map[string]string{}
			for i, tag := range m.tags {
				v := vs[i%len(vs)]
				name += "." + tag + "." + v
				want[tag] = v
			}
			rest, got := extractTags(specs, name)
			if rest != "wasmcustom."+m.name {
				t.Errorf("%s: left %q after tag extraction, want %q", name, rest, "wasmcustom."+m.name)
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: tags %v, want %v", name, got, want)
			}
		}
	}
	// Envoy's own stats are left alone.
	for _, name := range []string{"cluster.provider_openai.upstream_rq_200", "http.stepgate.downstream_rq_total", "wasmcustom.other_plugin.tenant.x"} {
		if rest, got := extractTags(specs, name); rest != name || len(got) != 0 {
			t.Errorf("%s: extracted %v (left %q), want nothing", name, got, rest)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
