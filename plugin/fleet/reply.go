package fleet

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/throttle"
)

// Message is a rejection's text.
func (d *Decision) Message() string {
	if d.Status == 429 {
		return "Fleet rate limit reached (rule '" + d.Rule + "'). Retry after " + strconv.FormatInt(d.RetryAfter, 10) + " s."
	}
	return "Rate limit service is unavailable. Retry after " + strconv.FormatInt(d.RetryAfter, 10) + " s."
}

// Body is a rejection's body in OpenAI's error shape, as plugin/throttle writes its own.
func (d *Decision) Body() []byte {
	b := []byte(`{"error":{"message":`)
	b = strconv.AppendQuote(b, d.Message())
	if d.Status == 429 {
		return append(b, `,"type":"requests","param":null,"code":"rate_limit_exceeded"}}`...)
	}
	return append(b, `,"type":"requests","param":null,"code":"rate_limit_state_unavailable"}}`...)
}

// Fallback is the fallback buckets' Throttler, for Release and Settle on a fallback decision's
// reservation; nil without fail-open rules.
func (f *Fleet) Fallback() *throttle.Throttler { return f.fallback }

// NeedsBody reports whether some fleet rule needs facts from the request body (the model, or the
// token estimate), as throttle.Throttler.NeedsBody does for local rules.
func (f *Fleet) NeedsBody() bool {
	for i := range f.rules {
		r := f.rules[i].Rule
		if r.Unit == throttle.LLMTokens || len(r.Match.Models) > 0 {
			return true
		}
		for _, s := range r.Key {
			if s.Kind == throttle.SelModel {
				return true
			}
		}
	}
	return false
}
