// Package spend prices LLM calls: a table of per-model prices (input, cached input, cache write
// and output, per million tokens) and the arithmetic that turns a provider's reported usage into a
// cost in micro-units of the configured currency. The throttle's `cost` unit and the call record
// use these costs; the package knows nothing of buckets, streams or the proxy-wasm SDK.
//
// All arithmetic is on integers: a price of p currency units per million tokens is p micro-units
// per token, so prices are kept in micro-units per million tokens (six decimals of the configured
// price, exact) and a cost is ⌈tokens × price / 10⁶⌉ micro-units, computed in 128 bits.
package spend

import (
	"math"
	"math/bits"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
)

// Price is one model's price list, each in micro-units of the currency per million tokens
// (equivalently, micro-units per 10⁶ tokens: 2.5 USD per million tokens is 2 500 000).
type Price struct {
	Input  int64 // prompt tokens not served from nor written to a cache
	Output int64 // completion tokens, reasoning included
	// CachedInput is for prompt tokens the provider served from its cache (OpenAI's
	// cached_tokens, Anthropic's cache_read_input_tokens, Gemini's cachedContentTokenCount).
	CachedInput int64
	// CacheWrite is for prompt tokens written to a cache (Anthropic's
	// cache_creation_input_tokens); the input price when not configured.
	CacheWrite int64
}

// Table maps model names to prices.
type Table struct {
	Currency string
	// Header names the response header that carries a call's cost in micro-units, "" for none.
	Header string
	models map[string]Price
}

// Lookup returns the price of the first of names the table knows: callers pass the model as
// sent upstream (what the provider bills) before the model the client asked for.
func (t *Table) Lookup(names ...string) (Price, bool) {
	if t == nil {
		return Price{}, false
	}
	for _, n := range names {
		if p, ok := t.models[n]; ok && n != "" {
			return p, true
		}
	}
	return Price{}, false
}

// PriceOf returns model's input and output prices, in the shape throttle.Request.PriceOf takes.
func (t *Table) PriceOf(model string) (input, output int64, ok bool) {
	p, ok := t.Lookup(model)
	return p.Input, p.Output, ok
}

// Len is the number of priced models.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.models)
}

// Cost is what u costs at p, in micro-units, rounded up. Usage is in the hub's terms: Prompt
// includes the cached and cache-written tokens, which are priced at their own rates.
func (p Price) Cost(u hub.Usage) int64 {
	read := clamp(u.CacheRead, 0, max(u.Prompt, 0))
	write := clamp(u.CacheWrite, 0, max(u.Prompt, 0)-read)
	fresh := max(u.Prompt, 0) - read - write
	var acc wide
	acc.add(fresh, p.Input)
	acc.add(read, p.CachedInput)
	acc.add(write, p.writePrice())
	acc.add(max(u.Completion, 0), p.Output)
	return acc.micros()
}

// Estimate is the cost of prompt tokens at the input price and completion tokens at the output
// price: what a request is expected to cost before its usage is known.
func (p Price) Estimate(prompt, completion int64) int64 {
	var acc wide
	acc.add(max(prompt, 0), p.Input)
	acc.add(max(completion, 0), p.Output)
	return acc.micros()
}

func (p Price) writePrice() int64 {
	if p.CacheWrite > 0 {
		return p.CacheWrite
	}
	return p.Input
}

// wide is a 128-bit sum of tokens × price products.
type wide struct{ hi, lo uint64 }

func (w *wide) add(tokens, price int64) {
	if tokens <= 0 || price <= 0 {
		return
	}
	hi, lo := bits.Mul64(uint64(tokens), uint64(price))
	var carry uint64
	w.lo, carry = bits.Add64(w.lo, lo, 0)
	w.hi, _ = bits.Add64(w.hi, hi, carry)
}

// micros divides by 10⁶, rounding up, saturating at MaxInt64.
func (w *wide) micros() int64 {
	const perMillion = 1_000_000
	if w.hi >= perMillion {
		return math.MaxInt64
	}
	q, rem := bits.Div64(w.hi, w.lo, perMillion)
	if rem != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }
