package main

import (
	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/clock"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// lazyClock reads the clock (a host call) the first time a callback needs it, then keeps it.
type lazyClock struct{ ns int64 }

func (c *lazyClock) read() int64 {
	if c.ns == 0 {
		c.ns = clock.Now()
	}
	return c.ns
}

// chargeFlow keeps a flowing stream's llm_tokens and cost reservations ahead of what it has carried so far
// (its prompt estimate and the completion counted from its deltas): once the stream has carried
// what it was last charged for, it is charged throttle.stream_charge_tokens more. Concurrent
// requests then see the budget drain while the stream is open, instead of when it ends, and a
// stream is never more than one charge behind; settle corrects it exactly once the provider
// reports its usage, refunding what was charged ahead.
func (h *httpContext) chargeFlow() {
	step := h.root.cfg.Throttle.StreamCharge
	if !h.decided || step <= 0 || h.ai == nil {
		return
	}
	soFar := h.ai.PromptTokens + h.rt.StreamedTokens()
	if soFar < h.charged {
		return
	}
	h.charged = soFar + step
	now := clock.Now()
	_ = h.root.throttler.Charge(now, &h.decision.Reservation, h.charged)
	if p, ok := h.price(); ok {
		ahead := p.Estimate(h.ai.PromptTokens, h.charged-h.ai.PromptTokens)
		_ = h.root.throttler.ChargeCost(now, &h.decision.Reservation, ahead)
	}
}

// expectCompletion gives a request that names no completion limit the completion its model's
// answers were seen to use, when throttle.learn_completion is on.
func (h *httpContext) expectCompletion(q *throttle.Request) {
	if l := h.root.learner; l != nil && q.MaxTokens <= 0 && h.up != nil {
		q.ExpectedTokens = l.Expected(h.ai.Model)
	}
}

// learnCompletion teaches the learner what an answer to a request without a completion limit
// used, per completion. Only configured model names are keys: their number stays bounded.
func (h *httpContext) learnCompletion(u aiformat.Usage) {
	if l := h.root.learner; l != nil && h.up != nil && h.ai.MaxTokens <= 0 && u.Known && u.Completion > 0 {
		_ = l.Observe(h.ai.Model, u.Completion/max(h.nChoices, 1))
	}
}
