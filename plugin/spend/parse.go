package spend

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
)

// CostHeader is the response header that carries a call's cost when `response_header` is on.
const CostHeader = "x-stepgate-cost-micros"

// maxPrice bounds a price (currency units per million tokens) so that a priced token count of up
// to 2⁴⁰ stays far inside the 128-bit sums.
const maxPrice = 1_000_000

// ParseConfig reads the "pricing" section v; p is its JSON path, used in every error. An absent
// section is a nil Table: nothing is priced.
//
//	{"currency": "USD", "response_header": true,
//	 "models": {"gpt-4o": {"input": 2.5, "cached_input": 1.25, "output": 10}}}
func ParseConfig(v gjson.Result, p string) (*Table, error) {
	if !v.Exists() {
		return nil, nil
	}
	if err := cfgjson.Object(v, p, "currency", "response_header", "models"); err != nil {
		return nil, err
	}
	t := &Table{Currency: "USD", models: map[string]Price{}}
	if c := v.Get("currency"); c.Exists() {
		if c.Type != gjson.String || len(c.Str) != 3 || strings.ToUpper(c.Str) != c.Str {
			return nil, cfgjson.Errorf(p+".currency", "must be an ISO 4217 code such as \"USD\", got %s", c.Raw)
		}
		t.Currency = c.Str
	}
	if h := v.Get("response_header"); h.Exists() {
		if !h.IsBool() {
			return nil, cfgjson.Errorf(p+".response_header", "must be true or false, got %s", h.Raw)
		}
		if h.Bool() {
			t.Header = CostHeader
		}
	}
	models := v.Get("models")
	if !models.Exists() {
		return nil, cfgjson.Errorf(p+".models", "required")
	}
	if err := cfgjson.Object(models, p+".models"); err != nil {
		return nil, err
	}
	var err error
	models.ForEach(func(k, mv gjson.Result) bool {
		var price Price
		price, err = parsePrice(mv, p+".models."+k.Str)
		t.models[k.Str] = price
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func parsePrice(v gjson.Result, p string) (Price, error) {
	var pr Price
	if err := cfgjson.Object(v, p, "input", "output", "cached_input", "cache_write_input"); err != nil {
		return pr, err
	}
	fields := []struct {
		name     string
		dst      *int64
		required bool
	}{
		{"input", &pr.Input, true}, {"output", &pr.Output, true},
		{"cached_input", &pr.CachedInput, false}, {"cache_write_input", &pr.CacheWrite, false},
	}
	for _, f := range fields {
		fv := v.Get(f.name)
		if !fv.Exists() {
			if f.required {
				return pr, cfgjson.Errorf(p+"."+f.name, "required")
			}
			continue
		}
		n, err := parseMicros(fv, p+"."+f.name)
		if err != nil {
			return pr, err
		}
		*f.dst = n
	}
	if !v.Get("cached_input").Exists() {
		pr.CachedInput = pr.Input // a provider that reports cached tokens without a discount
	}
	return pr, nil
}

// parseMicros reads a price in currency units per million tokens, a JSON number with at most six
// decimals, exactly, as micro-units per million tokens.
func parseMicros(v gjson.Result, p string) (int64, error) {
	bad := cfgjson.Errorf(p, "must be a price per million tokens between 0 and %d with at most 6 decimals, got %s",
		maxPrice, cfgjson.Short(v.Raw))
	if v.Type != gjson.Number {
		return 0, bad
	}
	whole, frac, _ := strings.Cut(v.Raw, ".")
	if whole == "" || strings.ContainsAny(v.Raw, "eE-+") || len(frac) > 6 || len(whole) > 7 {
		return 0, bad
	}
	frac += strings.Repeat("0", 6-len(frac))
	var n int64
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, bad
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxPrice*1_000_000 {
		return 0, bad
	}
	return n, nil
}
