package hostsim_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

func mustTags(t *testing.T, src string) *hostsim.StatsTags {
	t.Helper()
	s, err := hostsim.ParseStatsTags([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fmtTags(name string, tags []hostsim.Tag) string {
	var b strings.Builder
	b.WriteString(name)
	for _, t := range tags {
		fmt.Fprintf(&b, " %s=%q", t.Name, t.Value)
	}
	return b.String()
}

func TestStatsTags(t *testing.T) {
	// proxy-wasm-go-sdk's metrics example: its envoy.yaml's stats_config turns
	// custom_header_value_counts_value=foo_reporter=wasmgosdk into
	// custom_header_value_counts{value="foo",reporter="wasmgosdk"} on /stats/prometheus.
	sdk := mustTags(t, `
stats_config:
  stats_tags:
  - tag_name: value
    regex: '(_value=([a-zA-Z]+))'
  - tag_name: reporter
    regex: '(_reporter=([a-zA-Z]+))'
`)
	// Envoy's documentation of tag_name/regex: the first group is removed, the second is
	// the value; with one group it is both.
	envoyDoc := mustTags(t, `[{"tag_name": "envoy.cluster_name", "regex": "^cluster\\.((.+?)\\.)"},
		{"tag_name": "version", "regex": "(\\.v[0-9]+)"}, {"tag_name": "region", "fixed_value": "eu"}]`)
	stepgate, err := hostsim.NewStatsTags(hostsim.StepgateStatsTags)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tags       *hostsim.StatsTags
		prometheus bool
		in, want   string
	}{
		{sdk, true, "custom_header_value_counts_value=foo_reporter=wasmgosdk", `custom_header_value_counts value="foo" reporter="wasmgosdk"`},
		{sdk, true, "custom_header_value_counts_reporter=wasmgosdk_value=foo", `custom_header_value_counts value="foo" reporter="wasmgosdk"`},
		{sdk, true, "plain.metric", `plain_metric`},
		{envoyDoc, false, "cluster.foo.upstream_rq.v2", `cluster.upstream_rq envoy.cluster_name="foo" version=".v2" region="eu"`},
		{envoyDoc, true, "1st", `_1st region="eu"`},
		{stepgate, true, "stepgate_requests_total.tenant.acme.status.200", `stepgate_requests_total tenant="acme" status="200"`},
		{stepgate, true, "stepgate_requests_total.status.200.tenant.acme", `stepgate_requests_total tenant="acme" status="200"`},
		{stepgate, true, "other.tenant.acme", `other_tenant_acme`},
	} {
		var got string
		if c.prometheus {
			got = fmtTags(c.tags.Prometheus(c.in))
		} else {
			got = fmtTags(c.tags.Extract(c.in))
		}
		wantEqual(t, c.in, got, c.want)
	}
}

// StepgateStatsTags are envoy/envoy.yaml's, entry for entry.
func TestStepgateStatsTagsMatchEnvoyYAML(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(hostsimtest.RepoRoot(t), "envoy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fromYAML := mustTags(t, string(b))
	defaults, _ := hostsim.NewStatsTags(hostsim.StepgateStatsTags)
	name := "stepgate_tokens_total.tenant.t.key.k.route.r.model.m.provider.p.rule.x.step.s.mode.o.status.200.direction.in.tool.tl.mcp_method.m"
	wantEqual(t, "extraction", fmtTags(fromYAML.Prometheus(name)), fmtTags(defaults.Prometheus(name)))
	if _, tags := defaults.Prometheus(name); len(tags) != 12 {
		t.Fatalf("tags = %v, want 12", tags)
	}
}

func TestStatsTagsErrors(t *testing.T) {
	for src, want := range map[string]string{
		`[{"tag_name": "a", "regex": "no group"}]`:                "stats_tags[0].regex: no capture group",
		`[{"tag_name": "a", "regex": "(x"}]`:                      "stats_tags[0].regex: error parsing regexp",
		`[{"tag_name": "a", "regex": "(?=x)(y)"}]`:                "stats_tags[0].regex",
		`[{"regex": "(x)"}]`:                                      "stats_tags[0].tag_name: empty",
		`[{"tag_name": "a"}, {"tag_name": "b"}]`:                  "stats_tags[0] (a): a regex or a fixed_value is needed",
		`{"other": 1}`:                                            "no stats_config.stats_tags",
		`[{"tag_name": "a", "regex": "(x)", "fixed_value": "v"}]`: "exclusive",
	} {
		_, err := hostsim.ParseStatsTags([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", src, err, want)
		}
	}
}
