package main

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/spend"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// price is the price of the AI request's model: the upstream model's (what the provider bills),
// else the configured model name's. After a degrade both are the cheaper model's.
func (h *httpContext) price() (spend.Price, bool) {
	if h.up == nil || h.ai == nil {
		return spend.Price{}, false
	}
	return h.root.cfg.Pricing.Lookup(h.up.Model, h.ai.Model)
}

// priceRequest gives the throttle's cost rules the request's prices.
func (h *httpContext) priceRequest(q *throttle.Request) {
	if p, ok := h.price(); ok {
		q.InputPrice, q.OutputPrice = p.Input, p.Output
		q.PriceOf = h.root.cfg.Pricing.PriceOf
	}
}

// chargeCost prices the reported usage, records it and settles the cost rules with it. It may
// run more than once for one call: the usage is cumulative, and so is the settlement.
func (h *httpContext) chargeCost(u aiformat.Usage, now *lazyClock) {
	p, ok := h.price()
	if !ok || !u.Known {
		return
	}
	h.rec.CostMicros = p.Cost(u)
	if h.decided {
		_ = h.root.throttler.SettleCost(now.read(), &h.decision.Reservation, h.rec.CostMicros)
	}
}

// costHeader adds the call's cost to a response whose headers are still held (a buffered JSON
// answer): a stream's headers leave before its usage is known.
func (h *httpContext) costHeader() {
	if t := h.root.cfg.Pricing; t != nil && t.Header != "" && h.rec.CostMicros > 0 {
		h.resp.set(t.Header, strconv.FormatInt(h.rec.CostMicros, 10))
	}
}
