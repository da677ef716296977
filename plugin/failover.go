package main

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/calllog"
	"github.com/stepgate/stepgate/plugin/clock"
	"github.com/stepgate/stepgate/plugin/config"
	"github.com/stepgate/stepgate/plugin/prompts"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// The glue of failover (aiformat.Failover): when the backend answers 429 or 5xx (Envoy's own 503
// when it cannot be reached included), the response headers are held and the request, translated
// for each fallback in turn, goes out with proxy_http_call; the first fallback that answers is
// translated for the client and sent as a local reply. Nothing of the failed answer has reached
// the client, so Envoy sends that reply in its place. A call returns its answer whole, so a
// streaming client gets the fallback's events in one piece.

// failover is the state of a request being sent on to its fallbacks. A stream has none until
// its backend fails: the requests that need no failover pay nothing for it.
type failover struct {
	walk     aiformat.Failover
	from     string             // the provider that failed first
	up       *aiformat.Upstream // the fallback being tried, or the last one tried
	decision throttle.Decision  // the fallback's route-dependent throttle rules
	decided  bool
	rerouted bool  // the first backend's route-dependent rules were given up (Reroute)
	sentAt   int64 // ns
	pending  bool  // a call is out
	answered bool  // the client's answer came from a fallback (served or failed)

	// The last fallback answer that failed: what the client gets when none serves.
	lastStatus int
	lastType   string
	lastBody   []byte
	lastUp     *aiformat.Upstream
}

// failing is an answer that makes a request fail over.
func failing(status int) bool { return status == 429 || status >= 500 }

// failOver starts sending the request to its fallbacks after its backend answered status at
// now. It reports whether a fallback call is out (the response headers must then be held); when
// none can be tried, the backend's answer goes to the client as usual.
func (h *httpContext) failOver(status int, now int64) bool {
	if h.ai == nil || h.ai.Endpoint != aiformat.EndpointChat {
		return false
	}
	walk, ok := h.root.cfg.AI.Failover(h.up, h.forwardedAt)
	if !ok {
		return false
	}
	h.fo = &failover{walk: walk, from: h.up.Provider.Name}
	h.attempt(h.up, status, now-h.forwardedAt, "failed")
	if !h.tryNext(now) {
		return false
	}
	// The backend's error is counted here, under its own provider: the call's record and
	// metrics will name the fallback that answered.
	h.root.metrics.add(upstreamErrors, 1, h.up.Provider.Name, statusText(status))
	h.upstreamStatus = 0
	return true
}

// attempt adds one backend to the call record.
func (h *httpContext) attempt(up *aiformat.Upstream, status int, d int64, outcome string) {
	h.rec.Attempts = append(h.rec.Attempts, calllog.Attempt{Provider: up.Provider.Name, Model: up.Model,
		Status: status, DurationMs: d / int64(time.Millisecond), Outcome: outcome})
}

// fallbackOutcome records what became of a fallback, in the call record and the metrics.
func (h *httpContext) fallbackOutcome(up *aiformat.Upstream, status int, d int64, outcome string) {
	h.attempt(up, status, d, outcome)
	h.root.metrics.failoverAttempt(h.fo.from, up.Provider.Name, outcome)
}

// tryNext sends the request to the next fallback its throttle rules admit, within the attempts
// and the deadline; it reports whether a call is out.
func (h *httpContext) tryNext(now int64) bool {
	fo := h.fo
	for {
		fb, left := fo.walk.Next(now)
		if fb == nil {
			return false
		}
		up, err := h.root.router.RouteFallback(h.ai, fb, now, rand.Uint32())
		if err != nil { // the request cannot be expressed for that provider
			h.root.logf(config.LevelDebug, "stepgate: fallback %s: %s", fb.Pattern, err.Message)
			h.root.metrics.failoverAttempt(fo.from, "none", "untranslatable")
			continue
		}
		if !h.decideFallback(fb, up, now) {
			h.fallbackOutcome(up, 0, 0, "throttled")
			continue
		}
		if h.dispatch(up, left) {
			fo.walk.Attempted()
			fo.up, fo.sentAt, fo.pending = up, now, true
			if !fo.rerouted && h.decided {
				fo.rerouted = true
				_ = h.root.throttler.Reroute(now, &h.decision.Reservation)
			}
			return true
		}
		h.abandonFallback(now)
		h.fallbackOutcome(up, 0, 0, "no_answer")
	}
}

// decideFallback runs the throttle rules that depend on the route for the fallback; a fallback
// they would hold or reject is skipped (a degrade step lets it go as it is).
func (h *httpContext) decideFallback(fb *aiformat.Route, up *aiformat.Upstream, now int64) bool {
	fo := h.fo
	fo.decided = false
	t := h.root.throttler
	if t == nil {
		return true
	}
	q := h.throttleRequest(h.ai.Body)
	q.Model, q.Provider = fb.Pattern, up.Provider.Name
	q.InputPrice, q.OutputPrice = 0, 0
	if p, ok := h.root.cfg.Pricing.Lookup(up.Model, fb.Pattern); ok {
		q.InputPrice, q.OutputPrice = p.Input, p.Output
	}
	fo.decision = t.DecideRouted(now, &q)
	h.root.metrics.decisions(&fo.decision)
	switch {
	case fo.decision.Action == throttle.Reject: // Decide gave its tokens back
		return false
	case fo.decision.Delay > 0:
		_ = t.Release(now, &fo.decision.Reservation)
		return false
	}
	fo.decided = true
	return true
}

// abandonFallback gives up the fallback's route-dependent reservation: it served nothing.
func (h *httpContext) abandonFallback(now int64) {
	if fo := h.fo; fo.decided {
		fo.decided = false
		_ = h.root.throttler.Reroute(now, &fo.decision.Reservation)
	}
}

// dispatch sends the request for up, with at most left ns to answer.
func (h *httpContext) dispatch(up *aiformat.Upstream, left int64) bool {
	headers := make([][2]string, 0, len(up.SetHeaders)+2)
	headers = append(headers, [2]string{":method", "POST"})
	headers = append(headers, up.SetHeaders...)
	if h.rec.RequestID != "" {
		headers = append(headers, [2]string{"x-request-id", h.rec.RequestID})
	}
	ms := (left + int64(time.Millisecond) - 1) / int64(time.Millisecond)
	id := h.id
	_, err := proxywasm.DispatchHttpCall(up.Cluster, headers, up.Body, nil, uint32(min(ms, 1<<31-1)),
		func(numHeaders, bodySize, _ int) { h.fallbackAnswered(id, numHeaders, bodySize) })
	h.root.router.Recycle(up) // the host has copied the body
	if err != nil {
		h.root.logf(config.LevelWarn, "stepgate: fallback to cluster %q: %v", up.Cluster, err)
		return false
	}
	return true
}

// fallbackAnswered is on_http_call_response for a fallback call (no headers: the call failed).
// The SDK calls it only while the stream lives.
func (h *httpContext) fallbackAnswered(id uint32, numHeaders, bodySize int) {
	fo := h.fo
	if h.id != id || fo == nil || !fo.pending {
		return // a recycled context: the stream that made the call is gone
	}
	fo.pending = false
	now := clock.Now()
	status, ctype := 0, ""
	var body []byte
	if numHeaders > 0 {
		hs, _ := proxywasm.GetHttpCallResponseHeaders()
		status, _ = strconv.Atoi(throttle.HeaderPairs(hs).Get(":status"))
		ctype = throttle.HeaderPairs(hs).Get("content-type")
		h.providerRequestID(hs)
		if bodySize > 0 {
			body, _ = proxywasm.GetHttpCallResponseBody(0, bodySize)
		}
	}
	up, d := fo.up, now-fo.sentAt
	reported := status
	if reported == 0 {
		reported = 503 // no answer counts as a failure
	}
	h.root.router.Report(up, reported, now)
	if status != 0 && !failing(status) {
		h.fallbackOutcome(up, status, d, "served")
		h.serveFallback(up, status, ctype, body, now)
		return
	}
	outcome := "failed"
	if status == 0 {
		outcome = "no_answer"
	} else {
		h.root.metrics.add(upstreamErrors, 1, up.Provider.Name, statusText(status))
		fo.lastStatus, fo.lastType, fo.lastBody, fo.lastUp = status, ctype, body, up
	}
	h.fallbackOutcome(up, status, d, outcome)
	h.abandonFallback(now)
	if !h.tryNext(now) {
		h.answerFailed(now)
	}
}

// serveFallback answers the client with the fallback's answer, translated for it.
func (h *httpContext) serveFallback(up *aiformat.Upstream, status int, ctype string, body []byte, now int64) {
	fo := h.fo
	rt := aiformat.NewResponseTranslator(h.ai, up, now)
	head := rt.Headers(status, ctype)
	st, out := head.Status, []byte(nil)
	switch {
	case head.Fail:
		st, out, _ = rt.Unanswerable(true)
	case head.Buffer:
		st, out = rt.Finish(body)
		if h.prompt != nil && h.prompt.Compact && st < 400 && rt.Failure() == "" {
			out = prompts.Compact(out)
		}
	default:
		out = rt.Write(body, true)
	}
	if f := rt.Failure(); f != "" {
		h.upstreamFault, h.rec.Error = true, f
	}
	h.up, h.rt, fo.answered, h.responseEnded = up, rt, true, true
	h.upstreamStatus = status
	h.rec.Provider, h.rec.UpstreamModel = up.Provider.Name, up.Model
	h.settle()
	h.replyAnswer(st, head.ContentType, out)
}

// answerFailed answers the client when no fallback served: the last fallback's error,
// translated for the client, or a 502 when none answered at all.
func (h *httpContext) answerFailed(now int64) {
	fo := h.fo
	fo.answered = true
	if fo.lastUp == nil {
		h.rec.Error = "no fallback answered"
		e := aiformat.NewError(h.dialect, 502, "the provider failed and no fallback answered")
		h.replyAnswer(e.Status, aiformat.ContentType, e.Body)
		return
	}
	h.up = fo.lastUp
	h.rec.Provider, h.rec.UpstreamModel = fo.lastUp.Provider.Name, fo.lastUp.Model
	rt := aiformat.NewResponseTranslator(h.ai, fo.lastUp, now)
	rt.Headers(fo.lastStatus, fo.lastType)
	st, out := rt.Finish(fo.lastBody)
	h.rec.Error = "every fallback failed"
	h.replyAnswer(st, aiformat.ContentType, out)
}

// providerRequestID records the fallback's own id for the call (see oneRequestID).
func (h *httpContext) providerRequestID(hs throttle.HeaderPairs) {
	h.rec.ProviderRequestID = ""
	for _, name := range providerRequestIDHeaders {
		if v := hs.Get(name); v != "" {
			if v != h.rec.RequestID {
				h.rec.ProviderRequestID = v
			}
			return
		}
	}
}

// replyAnswer sends the client its answer in place of the held one, with the headers an
// upstream answer would have got from the filter.
func (h *httpContext) replyAnswer(status int, contentType string, body []byte) {
	var extra []throttle.Header
	if h.decided {
		extra = h.decision.ResponseHeaders(nil)
	}
	if h.rec.RequestID != "" { // a reply in place of an answer the filter saw: it does not see this one
		extra = append(extra, throttle.Header{Name: "x-request-id", Value: h.rec.RequestID})
	}
	if t := h.root.cfg.Pricing; t != nil && t.Header != "" && h.rec.CostMicros > 0 {
		extra = append(extra, throttle.Header{Name: t.Header, Value: strconv.FormatInt(h.rec.CostMicros, 10)})
	}
	h.replyAs(status, contentType, body, extra)
}

// settleFallback settles the fallback's route-dependent rules with the usage of the answer
// served (the first backend's were given up when the request left it).
func (h *httpContext) settleFallback(u aiformat.Usage, now int64) {
	fo := h.fo
	if fo == nil || !fo.decided || !fo.answered {
		return
	}
	t := h.root.throttler
	if u.Prompt > 0 || u.Completion > 0 {
		_ = t.Settle(now, &fo.decision.Reservation, u.Prompt+u.Completion)
	}
	if u.Known {
		_ = t.SettleCost(now, &fo.decision.Reservation, h.rec.CostMicros)
	}
}

// failoverDone gives back what a fallback reserved when the stream ends before its answer.
func (h *httpContext) failoverDone(now int64) {
	if fo := h.fo; fo.pending && fo.decided {
		fo.decided = false
		_ = h.root.throttler.Release(now, &fo.decision.Reservation)
	}
}
