package envoy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// TestExampleRulesCoverEveryModel: the example's per-model limits select requests by model, never by
// path (a path prefix such as /v1/ leaves out other dialects, Gemini's /v1beta/... for one), and
// list every model the example routes, so that no model escapes them.
func TestExampleRulesCoverEveryModel(t *testing.T) {
	doc := readFile(t, pluginJSONPath)
	var models []string
	gjson.GetBytes(doc, "models.routes").ForEach(func(name, _ gjson.Result) bool {
		models = append(models, name.String())
		return true
	})
	var perModel int
	gjson.GetBytes(doc, "throttle.rules").ForEach(func(_, r gjson.Result) bool {
		if !strings.Contains(r.Get("key").Raw, `"model"`) {
			return true
		}
		perModel++
		name := r.Get("name").String()
		if r.Get("match.path_prefix").Exists() {
			t.Errorf("rule %s: a path_prefix leaves out the dialects whose paths it does not name; match on models", name)
		}
		var patterns []string
		for _, m := range r.Get("match.models").Array() {
			patterns = append(patterns, m.String())
		}
		for _, m := range models {
			if !matchesAny(patterns, m) {
				t.Errorf("rule %s: model %s, routed by models.routes, is not in match.models", name, m)
			}
		}
		return true
	})
	if perModel == 0 {
		t.Fatal("no throttle rule keyed on model in the example")
	}
}

// matchesAny is the throttle rules' list match: exact, or by prefix for a value ending in "*".
func matchesAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if pre, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(v, pre) || p == v {
			return true
		}
	}
	return false
}

// TestExampleRuleThrottlesEveryDialect runs the built filter on the dev gateway with the example's
// per-model rule, its match unchanged but its rate cut to one request, and sends each client
// dialect twice: the second request of each must be refused. The filter is built from ./plugin
// by the test kit, so the module always matches the example it is given.
func TestExampleRuleThrottlesEveryDialect(t *testing.T) {
	wasm := hostsimtest.Stepgate(t)
	cfg := readFile(t, pluginJSONPath)
	idx := -1
	gjson.GetBytes(cfg, "throttle.rules").ForEach(func(i, r gjson.Result) bool {
		if r.Get("name").String() == "model-requests" {
			idx = int(i.Int())
		}
		return idx < 0
	})
	if idx < 0 {
		t.Fatal("the example has no model-requests rule")
	}
	rule := fmt.Sprintf("throttle.rules.%d.", idx)
	for field, v := range map[string]string{"rate": `"1/min"`, "burst": `1`, "steps": `[{"below":0,"action":"reject"}]`} {
		var err error
		if cfg, err = sjson.SetRawBytes(cfg, rule+field, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	g, err := devgateway.Start(context.Background(), devgateway.Config{
		Module: wasm, PluginConfig: cfg, Listen: "127.0.0.1:0", AdminListen: "-", Mock: true,
		Workers: 1, Logf: t.Logf, AllowOnHeadersStopIteration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	const demoKey = "sg-demo-key-0123456789abcdef" // the example's demo consumer (docs/GOVERNANCE.md)
	dialects := []struct {
		name, path, body string
		header           http.Header
	}{
		{"openai", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
			http.Header{"Authorization": {"Bearer " + demoKey}}},
		{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`,
			http.Header{"Anthropic-Version": {"2023-06-01"}, "X-Api-Key": {demoKey}}},
		{"gemini", "/v1beta/models/gemini-2.0-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`,
			http.Header{"X-Goog-Api-Key": {demoKey}}},
	}
	for _, d := range dialects {
		var statuses []int
		for range 2 {
			req, _ := http.NewRequest("POST", g.URL()+d.path, bytes.NewBufferString(d.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range d.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		if statuses[0] != http.StatusOK || statuses[1] != http.StatusTooManyRequests {
			t.Errorf("%s dialect (%s): statuses %v, want [200 429]: the example's per-model rule must cover it", d.name, d.path, statuses)
		}
	}
}
