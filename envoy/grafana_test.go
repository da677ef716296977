package envoy_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

const (
	dashboardPath  = "grafana/dashboards/stepgate.json"
	datasourcePath = "grafana/provisioning/datasources/prometheus.yml"
	providerPath   = "grafana/provisioning/dashboards/stepgate.yml"
)

// dashboard is the part of a Grafana dashboard this test reads.
type dashboard struct {
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Query struct {
				Query string `json:"query"`
			} `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title      string  `json:"title"`
	Type       string  `json:"type"`
	Panels     []panel `json:"panels"` // collapsed rows hold theirs
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, dashboardPath), &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return d
}

// grafanaVars are the interval variables Grafana replaces in an expression before Prometheus
// sees it; the test puts a duration in their place so that the parser reads the expression.
// Template variables ($tenant, $model) only appear inside label values, which are strings.
var grafanaVars = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`)

// documentedSeries maps every series name a documented metric exports through Envoy's
// Prometheus output to the labels it carries: histograms become _bucket (with le), _sum and
// _count.
func documentedSeries(t *testing.T) map[string][]string {
	_, metrics := readMetricsDoc(t)
	out := map[string][]string{}
	for _, m := range metrics {
		if m.typ == "histogram" {
			out[m.name+"_bucket"] = append(slices.Clone(m.tags), "le")
			out[m.name+"_sum"] = m.tags
			out[m.name+"_count"] = m.tags
			continue
		}
		out[m.name] = m.tags
	}
	return out
}

// checkExpr parses a dashboard expression with Prometheus's own parser and checks that every
// metric it selects is documented in docs/METRICS.md, and that every label it names (in
// matchers, by/without, on/ignoring, group_left/right) is a documented label of a metric of the
// expression.
func checkExpr(expr string, series map[string][]string) (problems []string) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.ReplaceAllString(expr, "5m"))
	if err != nil {
		return []string{fmt.Sprintf("%q does not parse: %v", expr, err)}
	}
	var names, labels []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			names = append(names, n.Name)
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" {
					labels = append(labels, m.Name)
				}
			}
		case *parser.AggregateExpr:
			labels = append(labels, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				labels = append(labels, n.VectorMatching.MatchingLabels...)
				labels = append(labels, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	if len(names) == 0 {
		problems = append(problems, fmt.Sprintf("%q selects no metric", expr))
	}
	allowed := map[string]bool{}
	for _, name := range names {
		tags, ok := series[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%q uses %s, which docs/METRICS.md does not document", expr, name))
		}
		for _, tag := range tags {
			allowed[tag] = true
		}
	}
	for _, l := range labels {
		if !allowed[l] {
			problems = append(problems, fmt.Sprintf("%q uses the label %q, which no metric of the expression has (docs/METRICS.md)", expr, l))
		}
	}
	return problems
}

func TestDashboardUsesOnlyDocumentedMetricsAndLabels(t *testing.T) {
	d := loadDashboard(t)
	series := documentedSeries(t)
	n := 0
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				n++
				for _, problem := range checkExpr(tg.Expr, series) {
					t.Errorf("panel %q: %s", p.Title, problem)
				}
			}
		}
	}
	walk(d.Panels)
	if n < 10 {
		t.Errorf("%d expressions in the dashboard, want its panels' queries", n)
	}
	// label_values(metric, label) is Grafana's, not PromQL: its metric must be documented and
	// have the label.
	labelValues := regexp.MustCompile(`^label_values\((\w+),\s*(\w+)\)$`)
	for _, v := range d.Templating.List {
		m := labelValues.FindStringSubmatch(v.Query.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, v.Query.Query)
			continue
		}
		if !slices.Contains(series[m[1]], m[2]) {
			t.Errorf("variable %s: %s has no documented label %s", v.Name, m[1], m[2])
		}
	}
}

// The check itself catches what it must: an undocumented metric, an unknown label, a typo.
func TestDashboardCheckRejectsUndocumentedNames(t *testing.T) {
	series := documentedSeries(t)
	for _, expr := range []string{
		`rate(stepgate_requests_totl[5m])`,
		`sum by (customer) (rate(stepgate_requests_total[5m]))`,
		`rate(stepgate_requests_total{rule="x"}[5m])`,
		`histogram_quantile(0.9, sum by (le) (rate(stepgate_requests_total_bucket[5m])))`,
		`sum(rate(stepgate_requests_total[5m]) / on(le) rate(stepgate_tokens_total[5m]))`,
		`sum(rate(stepgate_requests_total[5m]`,
	} {
		if len(checkExpr(expr, series)) == 0 {
			t.Errorf("%q passes the check", expr)
		}
	}
}

// Grafana's provisioning finds the datasource the panels name and the dashboard folder that
// docker-compose.yml mounts.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			UID, Type, URL string
		} `json:"datasources"`
	}
	if err := yaml.Unmarshal(readFile(t, datasourcePath), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("%s: %+v", datasourcePath, ds)
	}
	uid := ds.Datasources[0].UID
	d := loadDashboard(t)
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && (p.Datasource == nil || p.Datasource.UID != uid) {
				t.Errorf("panel %q: datasource %+v, want uid %s", p.Title, p.Datasource, uid)
			}
		}
	}
	walk(d.Panels)

	var prov struct {
		Providers []struct {
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	if err := yaml.Unmarshal(readFile(t, providerPath), &prov); err != nil {
		t.Fatal(err)
	}
	g, ok := loadCompose(t).Services["grafana"]
	if !ok {
		t.Fatal("docker-compose.yml has no grafana service")
	}
	for source, target := range map[string]string{
		"./envoy/grafana/provisioning": "/etc/grafana/provisioning",
		"./envoy/grafana/dashboards":   prov.Providers[0].Options.Path,
	} {
		if m, ok := mountAt(g, target); !ok || m.source != source {
			t.Errorf("grafana mounts %+v at %s, want %s", m, target, source)
		}
	}
	if _, ok := g.DependsOn["prometheus"]; !ok || !strings.HasPrefix(g.Ports[0], "127.0.0.1:3000:") {
		t.Errorf("grafana service %+v", g)
	}
}
