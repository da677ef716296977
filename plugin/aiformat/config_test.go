package aiformat

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestParseConfigErrors(t *testing.T) {
	const okProviders = `"providers": {"oa": {"type": "openai", "cluster": "c", "api_key": "k"}}`
	cases := []struct {
		name, doc, want string
	}{
		{"no providers", `{"models": {"default": "oa"}}`, "providers: required"},
		{"unknown type", `{"providers": {"x": {"type": "foo", "cluster": "c"}}, "models": {"default": "x"}}`, `providers.x.type: unknown provider type "foo"`},
		{"no cluster", `{"providers": {"x": {"type": "openai", "api_key": "k"}}, "models": {"default": "x"}}`, "providers.x.cluster: required"},
		{"unknown field", `{"providers": {"x": {"type": "openai", "cluster": "c", "api_key": "k", "colour": 1}}, "models": {"default": "x"}}`, "providers.x.colour: unknown field"},
		{"keys required", `{"providers": {"x": {"type": "anthropic", "cluster": "c"}}, "models": {"default": "x"}}`, "providers.x.api_keys: required for type anthropic"},
		{"host required", `{"providers": {"x": {"type": "azure", "cluster": "c", "api_key": "k"}}, "models": {"default": "x"}}`, "providers.x.host: required for type azure"},
		{"key type", `{"providers": {"x": {"type": "openai", "cluster": "c", "api_keys": ["a", 3]}}, "models": {"default": "x"}}`, "providers.x.api_keys[1]: must be a non-empty string"},
		{"field of other type", `{"providers": {"x": {"type": "openai", "cluster": "c", "api_key": "k", "anthropic_version": "v"}}, "models": {"default": "x"}}`, "providers.x.anthropic_version: not used by type openai"},
		{"bad preset", `{"providers": {"x": {"type": "openai_compatible", "cluster": "c", "host": "h", "compat": "nope"}}, "models": {"default": "x"}}`, `providers.x.compat: unknown preset "nope"`},
		{"bad base path", `{"providers": {"x": {"type": "openai", "cluster": "c", "api_key": "k", "base_path": "v1/"}}, "models": {"default": "x"}}`, "providers.x.base_path: must start with '/'"},
		{"bad max tokens", `{"providers": {"x": {"type": "anthropic", "cluster": "c", "api_key": "k", "default_max_tokens": -1}}, "models": {"default": "x"}}`, "providers.x.default_max_tokens: must be a non-negative integer"},
		{"no models", `{` + okProviders + `}`, "models: required"},
		{"empty models", `{` + okProviders + `, "models": {}}`, "models.routes: required: at least one route or a default"},
		{"unknown provider", `{` + okProviders + `, "models": {"routes": {"gpt-4o": [{"provider": "oa"}, {"provider": "nope"}]}}}`, `models.routes.gpt-4o[1].provider: unknown provider "nope"`},
		{"bad weight", `{` + okProviders + `, "models": {"routes": {"m": {"provider": "oa", "weight": "x"}}}}`, "models.routes.m.weight: must be a non-negative integer"},
		{"zero weights", `{` + okProviders + `, "models": {"routes": {"m": {"provider": "oa", "weight": 0}}}}`, "models.routes.m: every backend has weight 0"},
		{"unknown backend field", `{` + okProviders + `, "models": {"routes": {"m": {"provider": "oa", "modle": "x"}}}}`, "models.routes.m.modle: unknown field"},
		{"unknown models field", `{` + okProviders + `, "models": {"default": "oa", "cooldown": 5}}`, "models.cooldown: unknown field"},
		{"bad trip", `{` + okProviders + `, "models": {"default": "oa", "failures_to_trip": 0}}`, "models.failures_to_trip: must be between 1 and 1000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig(gjson.Parse(c.doc), "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestParseConfigPrefixAndDefaults(t *testing.T) {
	doc := `{"ai": {"providers": {"x": {"type": "openai", "cluster": "c", "api_key": "k", "colour": 1}}, "models": {"default": "x"}}}`
	if _, err := ParseConfig(gjson.Parse(doc).Get("ai"), "ai"); err == nil || !strings.HasPrefix(err.Error(), "ai.providers.x.colour") {
		t.Fatalf("prefix not applied: %v", err)
	}
	cfg, err := ParseConfig(gjson.Parse(testConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Provider{}
	for _, p := range cfg.Providers {
		byName[p.Name] = p
	}
	if p := byName["anthropic"]; p.Host != "api.anthropic.com" || p.BasePath != "/v1" || p.AnthropicVersion != "2023-06-01" || p.DefaultMaxTokens != 1024 {
		t.Errorf("anthropic defaults: %+v", p)
	}
	if p := byName["gemini"]; p.Host != "generativelanguage.googleapis.com" || p.BasePath != "/v1beta" {
		t.Errorf("gemini defaults: %+v", p)
	}
	if p := byName["mistral"]; p.Policy.MaxTokensField != "max_tokens" || len(p.Policy.Rename) != 1 {
		t.Errorf("mistral preset: %+v", p.Policy)
	}
	if cfg.MaxBodyBytes != DefaultMaxBodyBytes || cfg.Cooldown != 30e9 || cfg.FailuresToTrip != 1 {
		t.Errorf("models defaults: %d %d %d", cfg.MaxBodyBytes, cfg.Cooldown, cfg.FailuresToTrip)
	}
}

func TestRouteLookup(t *testing.T) {
	doc := `{"providers": {"a": {"type": "openai", "cluster": "a", "api_key": "k"}, "b": {"type": "ollama", "cluster": "b", "host": "h"}},
	  "models": {"routes": {"gpt-4o": "a", "gpt-*": "a/gpt-4o-mini", "gpt-4o-*": "b/special", "*-local": "b"}, "default": "b/llama3.2"}}`
	cfg, err := ParseConfig(gjson.Parse(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"gpt-4o":                    "gpt-4o",   // exact beats patterns
		"gpt-4o-audio":              "gpt-4o-*", // most specific pattern
		"gpt-3.5-turbo":             "gpt-*",
		"qwen-local":                "*-local",
		"claude":                    "*", // default
		strings.Repeat("gpt-", 100): "*", // over-long names skip the patterns
	}
	for model, want := range cases {
		if got := cfg.lookup(model); got == nil || got.Pattern != want {
			t.Errorf("lookup(%q) = %v, want %q", model, got, want)
		}
	}
	if got := cfg.Models(nil); strings.Join(got, ",") != "gpt-4o" {
		t.Errorf("Models = %v", got)
	}
	if got := cfg.Models([]string{"claude-*"}); len(got) != 0 {
		t.Errorf("Models(claude-*) = %v", got)
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		ok   bool
	}{
		{"*", "", true}, {"a*", "abc", true}, {"*c", "abc", true}, {"a*c", "abbbc", true},
		{"a*c", "abcd", false}, {"a*b*c", "axbyc", true}, {"a*b*c", "axbycz", false}, {"abc", "abc", true},
	}
	for _, c := range cases {
		if glob(c.p, c.s) != c.ok {
			t.Errorf("glob(%q, %q) != %v", c.p, c.s, c.ok)
		}
	}
}

func TestModelsResponse(t *testing.T) {
	cfg, _ := ParseConfig(gjson.Parse(testConfig), "")
	out := gjson.ParseBytes(cfg.ModelsResponse(DialectOpenAI, []string{"to-a*", "to-gemini"}))
	if ids := out.Get("data.#.id").String(); ids != `["to-azure","to-anthropic","to-gemini"]` {
		t.Errorf("openai listing: %s", out.Raw)
	}
	if out.Get("data.1.owned_by").Str != "anthropic" || out.Get("object").Str != "list" {
		t.Errorf("openai listing: %s", out.Raw)
	}
	g := gjson.ParseBytes(cfg.ModelsResponse(DialectGemini, []string{"to-gemini"}))
	if g.Get("models.0.name").Str != "models/to-gemini" {
		t.Errorf("gemini listing: %s", g.Raw)
	}
	a := gjson.ParseBytes(cfg.ModelsResponse(DialectAnthropic, nil))
	if a.Get("data.#").Int() != 7 || a.Get("first_id").Str != "to-openai" || a.Get("last_id").Str != "to-bedrock" {
		t.Errorf("anthropic listing: %s", a.Raw)
	}
	if e := gjson.ParseBytes(cfg.ModelsResponse(DialectAnthropic, []string{})); e.Get("first_id").Type != gjson.Null {
		t.Errorf("empty anthropic listing: %s", e.Raw)
	}
}
