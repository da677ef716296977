package main

import (
	"strconv"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/clock"
	"github.com/stepgate/stepgate/plugin/config"
	"github.com/stepgate/stepgate/plugin/fleet"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// The glue of fleet rules (plugin/fleet): lease calls go out with proxy_http_call to the
// configured cluster; a stream whose lease is empty waits, paused, for the call's answer or its
// deadline, whichever comes first.

// With fleet rules the tick never stops: every fleetIdleTick it refills leases at half their
// block; while streams wait for a lease it runs every tickPeriod, which bounds how late a waiting
// stream learns that a lease arrived at another worker, or that its deadline passed.

// dispatchLeases sends the lease calls the fleet claimed. Only from the root context (the tick, a
// call's answer): the SDK drops the answer to a call made from a stream that has ended, and a
// stream waiting for its lease ends at its deadline, before a slow answer.
func (p *pluginContext) dispatchLeases() {
	for _, c := range p.fleet.Calls() {
		c := c
		headers := [][2]string{{":method", "POST"}, {":path", fleet.Path}, {":authority", p.fleet.Authority()},
			{"content-type", "application/json"}}
		_, err := proxywasm.DispatchHttpCall(p.fleet.Cluster(), headers, c.Body, nil,
			uint32(c.Timeout/time.Millisecond), func(numHeaders, bodySize, _ int) { p.leaseAnswered(&c, numHeaders, bodySize) })
		if err != nil {
			p.logf(config.LevelError, "stepgate: fleet rule %s: calling cluster %q: %v", c.Rule, p.fleet.Cluster(), err)
			p.leaseDone(&c, 0, nil)
		}
	}
}

// leaseAnswered is on_http_call_response for a lease call; no headers means the call failed.
func (p *pluginContext) leaseAnswered(c *fleet.Call, numHeaders, bodySize int) {
	status := 0
	var body []byte
	if numHeaders > 0 {
		hs, _ := proxywasm.GetHttpCallResponseHeaders()
		status, _ = strconv.Atoi(throttle.HeaderPairs(hs).Get(":status"))
		if bodySize > 0 {
			body, _ = proxywasm.GetHttpCallResponseBody(0, bodySize)
		}
	}
	p.leaseDone(c, status, body)
}

func (p *pluginContext) leaseDone(c *fleet.Call, status int, body []byte) {
	now := clock.Now()
	ev := p.fleet.Complete(now, c, status, body)
	p.metrics.fleetCall(c.Rule, status)
	switch ev {
	case fleet.Unavailable:
		p.logf(config.LevelWarn, "stepgate: fleet rule %s: rate limit service unavailable (status %d): fail mode applies until it answers",
			c.Rule, status)
	case fleet.Recovered:
		p.logf(config.LevelInfo, "stepgate: fleet rule %s: rate limit service answers again: fleet enforcement resumes", c.Rule)
	}
	p.dispatchLeases() // before waking streams: a call goes out with the root context in effect
	p.wakeWaiting(now)
}

// waitLease parks a stream until its lease arrives or until its deadline.
func (p *pluginContext) waitLease(h *httpContext) {
	p.waiting[h.id] = h
	p.startTick()
}

// wakeWaiting decides again for every stream waiting for a lease.
func (p *pluginContext) wakeWaiting(now int64) {
	for id, h := range p.waiting {
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			delete(p.waiting, id) // the stream is gone
			continue
		}
		if h.decideFleet(now) {
			delete(p.waiting, id)
			proceed := h.proceed(now)
			h.flushRequest() // on this stream: its context is the effective one
			if proceed {
				if err := proxywasm.ResumeHttpRequest(); err != nil {
					p.logf(config.LevelWarn, "stepgate: continuing stream %d: %v", id, err)
				}
			}
		}
	}
}

// decideFleet asks the fleet rules about the stream's request. It reports false while the
// stream must wait for a lease; otherwise the fleet's answer is merged into the stream's decision
// (a rejection is answered here).
func (h *httpContext) decideFleet(now int64) bool {
	p := h.root
	q := h.throttleRequest(h.body)
	d := p.fleet.Decide(now, &q, h.fleetDeadline)
	if d.Wait {
		h.fleetDeadline = d.WaitUntil
		return false
	}
	h.fleetDone = true
	for _, r := range d.Unavailable {
		p.metrics.fleetUnavailable(r, throttle.Reject.String())
	}
	for _, r := range d.Fallen {
		p.metrics.fleetUnavailable(r, d.Fallback.Action.String())
	}
	if d.Action == throttle.Reject {
		h.rejectFleet(&d)
		return true
	}
	if len(d.Fallen) > 0 {
		st := h.storage()
		st.fallback = d.Fallback
		h.fallback = &st.fallback
		p.metrics.decisions(h.fallback)
		if h.fallback.Action == throttle.Reject {
			h.rejectDecision(h.fallback)
			return true
		}
		h.merge(h.fallback.Action, h.fallback.Delay, &h.fallback.Degrade)
	}
	h.merge(d.Action, 0, &d.Degrade)
	return true
}

// merge adds a fleet rule's (or fallback bucket's) outcome to the stream's decision: the most
// severe action, the longest hold, the degradations combined.
func (h *httpContext) merge(a throttle.Action, delay time.Duration, g *throttle.Degradation) {
	d := &h.decision
	d.Action = max(d.Action, a)
	d.Delay = max(d.Delay, delay)
	if a == throttle.Degrade {
		if d.Degrade.Model == "" {
			d.Degrade.Model = g.Model
		}
		if g.MaxTokens > 0 && (d.Degrade.MaxTokens == 0 || g.MaxTokens < d.Degrade.MaxTokens) {
			d.Degrade.MaxTokens = g.MaxTokens
		}
		d.Degrade.SetHeaders = append(d.Degrade.SetHeaders[:len(d.Degrade.SetHeaders):len(d.Degrade.SetHeaders)],
			g.SetHeaders...)
	}
	if a != throttle.Allow {
		h.rec.Step = d.Action.String()
	}
}

// rejectFleet answers a fleet rejection in the client's dialect, after giving back what the local
// rules reserved.
func (h *httpContext) rejectFleet(d *fleet.Decision) {
	if h.decided {
		_ = h.root.throttler.Release(clock.Now(), &h.decision.Reservation)
		h.decided = false
	}
	h.rec.Step = throttle.Reject.String()
	body := d.Body()
	if h.dialect != aiformat.DialectNone && h.dialect != aiformat.DialectOpenAI {
		body = aiformat.NewError(h.dialect, d.Status, d.Message()).Body
	}
	h.reply(d.Status, body, []throttle.Header{{Name: "retry-after", Value: strconv.FormatInt(d.RetryAfter, 10)}})
}

// rejectDecision answers a fallback bucket's rejection like a local one.
func (h *httpContext) rejectDecision(d *throttle.Decision) {
	if h.decided {
		_ = h.root.throttler.Release(clock.Now(), &h.decision.Reservation)
		h.decided = false
	}
	h.rec.Step = throttle.Reject.String()
	body := d.Body()
	if h.dialect != aiformat.DialectNone && h.dialect != aiformat.DialectOpenAI {
		body = aiformat.NewError(h.dialect, d.Status, "rate limit exceeded, retry after "+
			strconv.FormatInt(d.RetryAfter, 10)+"s").Body
	}
	h.reply(d.Status, body, d.ResponseHeaders(nil))
}

// fleetStreamDone gives back what a fallback bucket reserved for a request that never reached
// the upstream. Tokens taken from a lease are spent either way.
func (h *httpContext) fleetStreamDone(now int64) {
	p := h.root
	delete(p.waiting, h.id)
	if h.fallback != nil && (!h.upstream || h.rec.Status == 0) {
		_ = p.fleet.Fallback().Release(now, &h.fallback.Reservation)
	}
}
