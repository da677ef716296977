package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// documented reads the metrics table of docs/METRICS.md: metric → type and tags in order.
func documented(t *testing.T) map[string][]string {
	t.Helper()
	doc, err := os.ReadFile("../docs/METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(stepgate_[a-z0-9_]+)` \\| (counter|gauge|histogram) \\| ([^|]*)\\|")
	out := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		spec := []string{m[2]}
		for _, tag := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(m[3], -1) {
			spec = append(spec, tag[1])
		}
		out[m[1]] = spec
	}
	if len(out) == 0 {
		t.Fatal("no metrics table in docs/METRICS.md")
	}
	return out
}

// Every metric the filter emits is documented, with its type and tags in the documented order,
// and the ones this traffic must produce are there with the right values.
func TestMetricsFollowTheDocumentedConvention(t *testing.T) {
	h, vc := aiFilter(t, `{"rules":[{"name":"paced","key":"model","rate":"10/s","burst":1,
		"steps":[{"below":0,"action":"shape","max_delay":"150ms"}]}]}`, 1)
	body := `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`
	answer := []byte(`{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":7,"output_tokens":2}}`)
	respond := func(s *hostsim.Stream) {
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}, false)
		s.SendResponseBody(answer, true)
	}
	respond(chat(h, body))    // allowed
	held := chat(h, body)     // shaped 100 ms
	rejected := chat(h, body) // would need 200 ms > max_delay
	if lr := rejected.LocalReply(); lr == nil || lr.Status != 429 {
		t.Fatalf("third request: %+v, want 429", lr)
	}
	if m, _ := h.Metric("stepgate_shaped_requests.rule.paced"); m.Value != 1 {
		t.Errorf("shaped_requests while held = %d, want 1", m.Value)
	}
	vc.Advance(100 * time.Millisecond)
	respond(held)

	docs := documented(t)
	seen := map[string]hostsim.Metric{}
	for _, m := range h.Metrics() {
		parts := strings.Split(m.Name, ".")
		spec, ok := docs[parts[0]]
		if !ok {
			t.Errorf("undocumented metric %s", m.Name)
			continue
		}
		var tags []string
		for i := 1; i+1 < len(parts); i += 2 {
			tags = append(tags, parts[i])
		}
		if got := append([]string{m.Type}, tags...); strings.Join(got, ",") != strings.Join(spec, ",") || len(parts)%2 == 0 {
			t.Errorf("%s: type and tags %v, documented %v", m.Name, got, spec)
		}
		seen[m.Name] = m
	}
	want := map[string]uint64{
		"stepgate_requests_total.tenant.anonymous.route.none.model.claude.provider.claude.step.allow.status.200":  1,
		"stepgate_requests_total.tenant.anonymous.route.none.model.claude.provider.claude.step.shape.status.200":  1,
		"stepgate_requests_total.tenant.anonymous.route.none.model.claude.provider.claude.step.reject.status.429": 1,
		"stepgate_throttle_decisions_total.rule.paced.step.shape.mode.enforce":                                    1,
		"stepgate_tokens_total.tenant.anonymous.model.claude.provider.claude.direction.prompt":                    14,
		"stepgate_tokens_total.tenant.anonymous.model.claude.provider.claude.direction.completion":                4,
		"stepgate_shaped_requests.rule.paced":                                                                     0,
	}
	for name, v := range want {
		if m, ok := seen[name]; !ok || m.Value != v {
			t.Errorf("%s = %d (present %v), want %d", name, m.Value, ok, v)
		}
	}
	for name := range seen {
		if strings.HasPrefix(name, "stepgate_upstream_errors_total") {
			t.Errorf("the filter's own 429 counted as a provider error: %s", name)
		}
	}
	for _, name := range []string{
		"stepgate_shape_delay_ms.rule.paced.step.shape",
		"stepgate_upstream_first_byte_ms.provider.claude.model.claude",
		"stepgate_token_estimate_error_tokens.model.claude.provider.claude",
		"stepgate_request_duration_ms.provider.claude.model.claude.status.200",
	} {
		if m, ok := seen[name]; !ok || len(m.Samples) == 0 {
			t.Errorf("histogram %s has no samples (present %v)", name, ok)
		}
	}
	if m := seen["stepgate_shape_delay_ms.rule.paced.step.shape"]; len(m.Samples) == 1 && m.Samples[0] != 100 {
		t.Errorf("shape delay sample = %d ms, want 100", m.Samples[0])
	}
}
