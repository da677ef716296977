package spend

import (
	"math"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/aiformat/anthropic"
	"github.com/stepgate/stepgate/plugin/aiformat/gemini"
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/ollama"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
)

const pricing = `{"currency":"USD","response_header":true,"models":{
  "gpt-4o":{"input":2.5,"cached_input":1.25,"output":10},
  "claude-sonnet-4-5":{"input":3,"cached_input":0.3,"cache_write_input":3.75,"output":15},
  "gemini-2.5-flash":{"input":0.3,"cached_input":0.075,"output":2.5},
  "llama3":{"input":0,"output":0.000001}}}`

func table(t *testing.T) *Table {
	t.Helper()
	tb, err := ParseConfig(gjson.Parse(pricing), "pricing")
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// Each provider reports usage in its own shape; the price list must land on the same token
// classes whatever the shape. Expected costs are worked by hand in micro-dollars.
func TestCostAsEachProviderReportsUsage(t *testing.T) {
	tb := table(t)
	cases := []struct {
		name, model string
		usage       hub.Usage
		want        int64
	}{
		{
			// prompt_tokens includes cached_tokens; reasoning is part of completion_tokens.
			name: "openai", model: "gpt-4o",
			usage: openai.UsageFrom(gjson.Parse(`{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,
				"prompt_tokens_details":{"cached_tokens":400},"completion_tokens_details":{"reasoning_tokens":50}}`)),
			// 600 × 2.5 + 400 × 1.25 + 200 × 10 = 1500 + 500 + 2000
			want: 4000,
		},
		{
			// input_tokens excludes the cache reads and writes, which come separately.
			name: "anthropic", model: "claude-sonnet-4-5",
			usage: anthropic.UsageFrom(gjson.Parse(`{"input_tokens":100,"cache_read_input_tokens":1000,
				"cache_creation_input_tokens":200,"output_tokens":300}`)),
			// 100 × 3 + 1000 × 0.3 + 200 × 3.75 + 300 × 15 = 300 + 300 + 750 + 4500
			want: 5850,
		},
		{
			// promptTokenCount includes cachedContentTokenCount; thoughts are billed as output.
			name: "gemini", model: "gemini-2.5-flash",
			usage: gemini.UsageFrom(gjson.Parse(`{"promptTokenCount":2000,"cachedContentTokenCount":1000,
				"candidatesTokenCount":100,"thoughtsTokenCount":300,"totalTokenCount":2400}`)),
			// 1000 × 0.3 + 1000 × 0.075 + 400 × 2.5 = 300 + 75 + 1000
			want: 1375,
		},
		{
			// a fraction of a micro-unit is charged as a whole one
			name: "ollama", model: "llama3",
			usage: ollama.UsageFrom(gjson.Parse(`{"prompt_eval_count":10,"eval_count":3}`)),
			want:  1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.usage.Known {
				t.Fatalf("usage not parsed: %+v", c.usage)
			}
			p, ok := tb.Lookup(c.model)
			if !ok {
				t.Fatalf("no price for %s", c.model)
			}
			if got := p.Cost(c.usage); got != c.want {
				t.Fatalf("cost = %d µ, want %d (usage %+v)", got, c.want, c.usage)
			}
		})
	}
}

func TestLookupPrefersTheFirstName(t *testing.T) {
	tb := table(t)
	p, ok := tb.Lookup("unknown-upstream", "gpt-4o")
	if !ok || p.Input != 2_500_000 {
		t.Fatalf("Lookup = %+v, %v", p, ok)
	}
	if _, ok := tb.Lookup("", "nope"); ok {
		t.Fatal("an unknown model has a price")
	}
	var none *Table
	if _, ok := none.Lookup("gpt-4o"); ok {
		t.Fatal("a nil table has a price")
	}
}

func TestCachedInputDefaultsToInput(t *testing.T) {
	tb, err := ParseConfig(gjson.Parse(`{"models":{"m":{"input":1,"output":2}}}`), "pricing")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tb.Lookup("m")
	if got := p.Cost(hub.Usage{Prompt: 10, CacheRead: 4, CacheWrite: 2, Completion: 1}); got != 12 {
		t.Fatalf("cost = %d, want 12", got)
	}
	if tb.Header != "" || tb.Currency != "USD" {
		t.Fatalf("defaults: %+v", tb)
	}
}

func TestEstimateAndSaturation(t *testing.T) {
	p := Price{Input: 2_500_000, CachedInput: 1_250_000, Output: 10_000_000}
	if got := p.Estimate(100, 256); got != 250+2560 {
		t.Fatalf("Estimate = %d", got)
	}
	huge := Price{Input: maxPrice * 1_000_000, Output: maxPrice * 1_000_000}
	if got := huge.Cost(hub.Usage{Prompt: math.MaxInt64, Completion: math.MaxInt64}); got != math.MaxInt64 {
		t.Fatalf("saturated cost = %d", got)
	}
	// Cache counts larger than the prompt (a provider bug) never make a class negative.
	if got := p.Cost(hub.Usage{Prompt: 10, CacheRead: 50, CacheWrite: 50}); got != 13 {
		t.Fatalf("cost with inconsistent cache counts = %d", got)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	cases := map[string]string{
		`{"models":{"m":{"input":1}}}`:                            "pricing.models.m.output: required",
		`{"models":{"m":{"input":"1","output":1}}}`:               "pricing.models.m.input: must be a price",
		`{"models":{"m":{"input":1.0000001,"output":1}}}`:         "pricing.models.m.input: must be a price",
		`{"models":{"m":{"input":-1,"output":1}}}`:                "pricing.models.m.input: must be a price",
		`{"models":{"m":{"input":1e3,"output":1}}}`:               "pricing.models.m.input: must be a price",
		`{"models":{"m":{"input":1,"output":1,"cachd_input":1}}}`: "pricing.models.m.cachd_input: unknown field",
		`{"currency":"usd","models":{}}`:                          "pricing.currency: must be an ISO 4217 code",
		`{"response_header":"yes","models":{}}`:                   "pricing.response_header: must be true or false",
		`{"currency":"EUR"}`:                                      "pricing.models: required",
		`{"model":{}}`:                                            "pricing.model: unknown field",
	}
	for doc, want := range cases {
		_, err := ParseConfig(gjson.Parse(doc), "pricing")
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: err = %v, want prefix %q", doc, err, want)
		}
	}
}

func FuzzCost(f *testing.F) {
	f.Add(int64(1000), int64(400), int64(0), int64(200), int64(2_500_000))
	f.Fuzz(func(t *testing.T, prompt, read, write, comp, price int64) {
		p := Price{Input: price, CachedInput: price / 2, Output: price * 4}
		c := p.Cost(hub.Usage{Prompt: prompt, CacheRead: read, CacheWrite: write, Completion: comp})
		if c < 0 {
			t.Fatalf("negative cost %d", c)
		}
	})
}
