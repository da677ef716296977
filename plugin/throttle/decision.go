package throttle

import (
	"strconv"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Decision is the combined answer for one request.
type Decision struct {
	Action Action
	// Delay is how long to hold the request before sending it on. It is set for Shape, and for
	// Degrade when another rule shapes the same request (degrading does not skip another rule's
	// pacing).
	Delay time.Duration
	// Degrade says how to rewrite a degraded request.
	Degrade Degradation
	// Status is the local reply's status when Action is Reject: 429, or 503 when the only rules
	// that reject are fail-closed rules whose state was unavailable.
	Status int
	// RetryAfter is the Retry-After of a rejection, in whole seconds rounded up.
	RetryAfter int64
	// Reservation is what the request holds in the buckets; pass it to Settle, Release and
	// ObserveUpstream.
	Reservation Reservation
}

// Degradation is the rewrite of a degraded request. When several rules degrade one request the
// first rule's model wins, the smallest max_tokens cap wins, and headers add up (the first rule's
// value wins for a header set twice).
type Degradation struct {
	Model      string
	MaxTokens  int64 // cap the completion at this many tokens; 0 leaves it alone
	SetHeaders []Header
}

func (g *Degradation) merge(s *Step) {
	if g.Model == "" {
		g.Model = s.Model
	}
	if s.MaxTokens > 0 && (g.MaxTokens == 0 || s.MaxTokens < g.MaxTokens) {
		g.MaxTokens = s.MaxTokens
	}
	if g.SetHeaders == nil {
		g.SetHeaders = s.SetHeaders // shared with the configuration: never appended to in place
		return
	}
	for _, h := range s.SetHeaders {
		if !hasHeader(g.SetHeaders, h.Name) {
			g.SetHeaders = append(g.SetHeaders[:len(g.SetHeaders):len(g.SetHeaders)], h)
		}
	}
}

func hasHeader(hs []Header, name string) bool {
	for _, h := range hs {
		if h.Name == name {
			return true
		}
	}
	return false
}

// inlineOutcomes is how many matching rules a Reservation holds without allocating.
const inlineOutcomes = 4

// Reservation records, for each rule that matched a request, what it decided and what it holds.
type Reservation struct {
	n      int
	inline [inlineOutcomes]Outcome
	more   []Outcome
}

// next returns the place for the next rule's outcome, zeroed.
func (r *Reservation) next() *Outcome {
	switch {
	case r.more != nil:
		r.more = append(r.more, Outcome{})
	case r.n < len(r.inline):
		r.n++
		return &r.inline[r.n-1]
	default:
		r.more = append(append(make([]Outcome, 0, 2*len(r.inline)), r.inline[:]...), Outcome{})
	}
	return &r.more[len(r.more)-1]
}

// Outcomes lists one Outcome per matching rule, in configuration order.
func (r *Reservation) Outcomes() []Outcome {
	if r.more != nil {
		return r.more
	}
	return r.inline[:r.n]
}

// Outcome is one rule's part of a Decision, for logs and headers.
type Outcome struct {
	rule *rule
	key  []byte

	Action  Action
	Shadow  bool
	Failure Failure // why the rule could not use its bucket; its fail mode decided Action
	// Overflow says that the key found no place in the rule's table: the request was charged
	// to the rule's overflow bucket, which all such keys share.
	Overflow bool
	Step     int // index of the deciding step in the rule's steps, -1 for the implicit allow or reject
	// Cost is the tokens the rule holds for the request (after Settle, the reported usage).
	Cost       int64
	Delay      time.Duration // Shape: the hold
	RetryAfter time.Duration // Reject: until the same request would be admitted
	// Remaining is the whole tokens left in the bucket after the request; Reset the time until the
	// bucket is full again.
	Remaining int64
	Reset     time.Duration

	window    int64 // seconds for a full bucket to refill at the rate in force
	releaseAt int64 // Shape: when the request's hold ends
	reserved  bool  // tokens are held for the request
}

// Rule is the name of the rule.
func (o *Outcome) Rule() string { return o.rule.cfg.Name }

// bucketKey is the key of the bucket that holds the request's tokens (none in the overflow
// bucket, which has one).
func (o *Outcome) bucketKey() []byte {
	if o.Overflow {
		return nil
	}
	return o.key
}

// Key renders the rule's key for the request, its components joined with ':' (keys longer than
// MaxKeyBytes are shown as their hash).
func (o *Outcome) Key() string { return displayKey(o.key) }

func (o *Outcome) setState(op *op) {
	o.Remaining, o.Reset, o.window = op.remaining, time.Duration(op.reset), op.window
}

// RequestHeaders appends the headers to set on the request sent upstream: x-stepgate-step for a
// shaped or degraded request and the degrade steps' set_headers.
func (d *Decision) RequestHeaders(dst []Header) []Header {
	if d.Action == Shape || d.Action == Degrade {
		dst = append(dst, Header{"x-stepgate-step", d.Action.String()})
	}
	if d.Action == Degrade {
		dst = append(dst, d.Degrade.SetHeaders...)
	}
	return dst
}

// Body is the local reply's body for a rejection, in the OpenAI error shape; nil otherwise.
func (d *Decision) Body() []byte {
	if d.Action != Reject {
		return nil
	}
	name, limit := "", "requests" // OpenAI's type names the limit that was hit
	outs := d.Reservation.Outcomes()
	for i := range outs {
		if o := &outs[i]; !o.Shadow && o.Action == Reject && o.Failure == NoFailure {
			name = o.rule.cfg.Name
			switch o.rule.cfg.Unit {
			case LLMTokens:
				limit = "tokens"
			case Cost:
				limit = "cost"
			}
			break
		}
	}
	b := make([]byte, 0, 192)
	b = append(b, `{"error":{"message":"`...)
	if d.Status == 429 {
		b = append(b, `Rate limit reached (rule '`...)
		b = append(b, name...) // names are letters, digits, '-', '_' and '.': nothing to escape
		b = append(b, `'). Retry after `...)
	} else {
		b = append(b, `Rate limit state is unavailable. Retry after `...)
	}
	b = strconv.AppendInt(b, d.RetryAfter, 10)
	b = append(b, ` s.","type":"`...)
	b = append(b, limit...)
	b = append(b, `","param":null,"code":"`...)
	if d.Status == 429 {
		b = append(b, `rate_limit_exceeded"}}`...)
	} else {
		b = append(b, `rate_limit_state_unavailable"}}`...)
	}
	return b
}

// ApplyDegrade rewrites an OpenAI-format request body as Degrade says: the model (when the body
// names one) and the completion cap on whichever of max_completion_tokens, max_tokens and
// generationConfig.maxOutputTokens the body uses (max_tokens when it uses none). The body is
// returned unchanged when the Decision does not degrade it.
func (d *Decision) ApplyDegrade(body []byte) ([]byte, error) {
	if d.Action != Degrade {
		return body, nil
	}
	g := &d.Degrade
	var err error
	if g.Model != "" && gjson.GetBytes(body, "model").Exists() {
		if body, err = sjson.SetBytes(body, "model", g.Model); err != nil {
			return nil, err
		}
	}
	if g.MaxTokens <= 0 {
		return body, nil
	}
	capped := false
	for _, f := range []string{"max_completion_tokens", "max_tokens", "generationConfig.maxOutputTokens"} {
		v := gjson.GetBytes(body, f)
		if !v.Exists() {
			continue
		}
		capped = true
		if v.Type == gjson.Number && v.Int() > 0 && v.Int() <= g.MaxTokens {
			continue
		}
		if body, err = sjson.SetBytes(body, f, g.MaxTokens); err != nil {
			return nil, err
		}
	}
	if !capped {
		body, err = sjson.SetBytes(body, "max_tokens", g.MaxTokens)
	}
	return body, err
}
