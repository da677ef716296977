package aiformat

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

const fallbackProviders = `"providers": {"oa": {"type": "openai", "cluster": "c1", "api_key": "k"},
	"an": {"type": "anthropic", "cluster": "c2", "api_key": "k"}, "ge": {"type": "gemini", "cluster": "c3", "api_key": "k"}}`

func fallbackConfig(t *testing.T, models string) *Config {
	t.Helper()
	cfg, err := ParseConfig(gjson.Parse(`{`+fallbackProviders+`, "models": `+models+`}`), "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestFallbackConfigErrors(t *testing.T) {
	const routes = `"routes": {"a": "oa/gpt-4o", "b": "an/claude", "c": "ge/gemini", "g-*": "oa"}`
	cases := []struct{ name, models, want string }{
		{"not an object", `{` + routes + `, "fallbacks": ["b"]}`, "models.fallbacks: must be an object"},
		{"unknown key", `{` + routes + `, "fallbacks": {"z": ["b"]}}`, `models.fallbacks.z: no route "z"`},
		{"not a list", `{` + routes + `, "fallbacks": {"a": "b"}}`, "models.fallbacks.a: must be a non-empty array"},
		{"empty list", `{` + routes + `, "fallbacks": {"a": []}}`, "models.fallbacks.a: must be a non-empty array"},
		{"not a name", `{` + routes + `, "fallbacks": {"a": [1]}}`, "models.fallbacks.a[0]: must be a route name"},
		{"unknown route", `{` + routes + `, "fallbacks": {"a": ["b", "nope"]}}`, `models.fallbacks.a[1]: unknown route "nope"`},
		{"pattern as fallback", `{` + routes + `, "fallbacks": {"a": ["g-*"]}}`, `models.fallbacks.a[0]: unknown route "g-*"`},
		{"self", `{` + routes + `, "fallbacks": {"a": ["b", "a"]}}`, `models.fallbacks.a[1]: "a" falls back to itself`},
		{"twice", `{` + routes + `, "fallbacks": {"a": ["b", "b"]}}`, `models.fallbacks.a[1]: "b" is listed twice`},
		{"cycle", `{` + routes + `, "fallbacks": {"a": ["b"], "b": ["c"], "c": ["a"]}}`, "fallbacks make a cycle: "},
		{"attempts", `{` + routes + `, "fallback_attempts": 0}`, "models.fallback_attempts: must be between 1 and 10"},
		{"deadline", `{` + routes + `, "fallback_deadline_ms": "1s"}`, "models.fallback_deadline_ms: must be a non-negative integer"},
		{"deadline zero", `{` + routes + `, "fallback_deadline_ms": 0}`, "models.fallback_deadline_ms: must be between 1 and 600000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig(gjson.Parse(`{`+fallbackProviders+`, "models": `+c.models+`}`), "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestFallbackChainsFollowEachFallbacksOwn(t *testing.T) {
	cfg := fallbackConfig(t, `{"routes": {"a": "oa/gpt-4o", "b": "an/claude", "c": "ge/gemini", "d": "oa/gpt-4o-mini", "g-*": "oa"},
		"fallbacks": {"a": ["b", "d"], "b": ["c", "d"], "g-*": ["a"]}}`)
	names := func(rs []*Route) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Pattern)
		}
		return strings.Join(s, ",")
	}
	if got := names(cfg.lookup("a").Fallbacks); got != "b,c,d" {
		t.Errorf("a falls back to %s, want b,c,d", got)
	}
	if got := names(cfg.lookup("g-1").Fallbacks); got != "a,b,c,d" {
		t.Errorf("g-* falls back to %s, want a,b,c,d", got)
	}
	if got := names(cfg.lookup("c").Fallbacks); got != "" {
		t.Errorf("c falls back to %s, want nothing", got)
	}
	if cfg.FallbackAttempts != DefaultFallbackAttempts || cfg.FallbackDeadline != DefaultFallbackDeadlineMs*1e6 {
		t.Errorf("defaults: %d attempts, %d ns", cfg.FallbackAttempts, cfg.FallbackDeadline)
	}
}

func TestFailoverIsBoundedByAttemptsAndDeadline(t *testing.T) {
	cfg := fallbackConfig(t, `{"routes": {"a": "oa/gpt-4o", "b": "an/claude", "c": "ge/gemini", "d": "oa/gpt-4o-mini"},
		"fallbacks": {"a": ["b", "c", "d"]}, "fallback_attempts": 2, "fallback_deadline_ms": 1000}`)
	r := NewRouter(cfg, nil)
	req, perr := cfg.ParseRequest("POST", "/v1/chat/completions", "", []byte(`{"model":"a","messages":[{"role":"user","content":"hi"}]}`))
	if perr != nil {
		t.Fatal(perr.Message)
	}
	up, _ := r.Route(req, 0, 0)
	const ms = int64(1e6)
	f, ok := cfg.Failover(up, 100*ms)
	if !ok {
		t.Fatal("no failover for a route with fallbacks")
	}
	fb, left := f.Next(300 * ms)
	if fb == nil || fb.Pattern != "b" || left != 800*ms {
		t.Fatalf("first fallback %v with %d ns left, want b with 800 ms", fb, left)
	}
	fbUp, perr := r.RouteFallback(req, fb, 300*ms, 0)
	if perr != nil || fbUp.Provider.Name != "an" || fbUp.Model != "claude" || fbUp.Path != "/v1/messages" ||
		!strings.Contains(string(fbUp.Body), `"model":"claude"`) {
		t.Fatalf("fallback upstream %+v %s (%v)", fbUp, fbUp.Body, perr)
	}
	f.Attempted()
	fb, _ = f.Next(400 * ms) // c: skipped (throttled, say): not an attempt
	if fb == nil || fb.Pattern != "c" {
		t.Fatalf("second fallback %v, want c", fb)
	}
	fb, _ = f.Next(500 * ms)
	if fb == nil || fb.Pattern != "d" {
		t.Fatalf("third fallback %v, want d", fb)
	}
	f.Attempted()
	if fb, _ := f.Next(600 * ms); fb != nil {
		t.Fatalf("a third attempt (%s) beyond fallback_attempts 2", fb.Pattern)
	}

	f, _ = cfg.Failover(up, 100*ms)
	if fb, _ := f.Next(1100 * ms); fb != nil || !f.Expired(1100*ms) {
		t.Fatalf("an attempt (%v) at the deadline", fb)
	}
	if _, ok := cfg.Failover(fbUp, 0); ok {
		t.Fatal("a route without fallbacks has a failover")
	}
}

// Many routes sharing fallbacks: the start stays linear, not one walk per path.
func TestFallbackChecksAreLinear(t *testing.T) {
	var routes, fbs []string
	const n = 200
	for i := 0; i < n; i++ {
		routes = append(routes, `"r`+itoa(i)+`": "oa"`)
		if i+2 < n {
			fbs = append(fbs, `"r`+itoa(i)+`": ["r`+itoa(i+1)+`", "r`+itoa(i+2)+`"]`)
		}
	}
	cfg := fallbackConfig(t, `{"routes": {`+strings.Join(routes, ",")+`}, "fallbacks": {`+strings.Join(fbs, ",")+`}}`)
	if got := len(cfg.lookup("r0").Fallbacks); got != n-1 {
		t.Errorf("r0 has %d fallbacks, want %d", got, n-1)
	}
}
