package hostsim

import "time"

// Stream timeouts: the connection manager's stream idle timeout and request timeout, and the
// router's route timeout. One clock timer per stream stands for all; it is armed at the earlier deadline and,
// when it fires early (the idle deadline moved on with activity), it is armed again. Activity
// only pushes the idle deadline later, so a busy stream never touches the timer.

// timeouts is a stream's timeout state, guarded by the VM lock.
type timeouts struct {
	idle, route, request time.Duration // the durations in force; ≤ 0 disables
	idleDue              time.Duration // monotonic deadline of the idle timeout
	routeStart           time.Duration // when the request's end left the filter (0: not yet)
	timerAt              time.Duration // when the armed timer fires (0: none armed)
	timerSeq             uint64        // tells a stale firing from the armed one
	stopTimer            func()
}

// startTimeouts arms the idle timeout as Envoy does when it creates the stream.
func (s *Stream) startTimeouts() {
	s.to.idle, s.to.route, s.to.request = s.h.cfg.StreamIdleTimeout, s.h.cfg.RouteTimeout, s.h.cfg.RequestTimeout
	s.touch()
	s.armTimer()
}

// touch is activity on the stream: data from the client, or towards it.
func (s *Stream) touch() {
	if s.to.idle > 0 && !s.done {
		s.to.idleDue = s.h.clock.Monotonic() + s.to.idle
		s.armTimer()
	}
}

// startRouteTimeout starts the route timeout: the whole request has left the filter.
func (s *Stream) startRouteTimeout() {
	if s.to.routeStart == 0 {
		s.to.routeStart = s.h.clock.Monotonic()
		s.armTimer()
	}
}

// setRouteTimeout applies the chosen route's timeout (Proxy, once it knows the cluster).
func (s *Stream) setRouteTimeout(d time.Duration) {
	s.to.route = d
	s.armTimer()
}

// routeDue is the route timeout's deadline, if it runs.
func (s *Stream) routeDue() (time.Duration, bool) {
	if s.to.route <= 0 || s.to.routeStart == 0 || s.resp.inputEnded || s.upstreamIgnored {
		return 0, false
	}
	return s.to.routeStart + s.to.route, true
}

// requestDue is the request timeout's deadline, while the request is incomplete.
func (s *Stream) requestDue() (time.Duration, bool) {
	if s.to.request <= 0 || s.req.inputEnded {
		return 0, false
	}
	return s.startMono + s.to.request, true
}

// nextDeadline is the earliest of the running timeouts' deadlines.
func (s *Stream) nextDeadline() (time.Duration, bool) {
	at, ok := s.routeDue()
	if r, rok := s.requestDue(); rok && (!ok || r < at) {
		at, ok = r, true
	}
	if s.to.idle > 0 && (!ok || s.to.idleDue < at) {
		at, ok = s.to.idleDue, true
	}
	return at, ok
}

// armTimer makes sure a timer fires no later than the next deadline.
func (s *Stream) armTimer() {
	at, ok := s.nextDeadline()
	if !ok || s.done || (s.to.stopTimer != nil && s.to.timerAt <= at) {
		return
	}
	s.cancelTimer()
	s.to.timerSeq++
	seq := s.to.timerSeq
	s.to.timerAt = at
	s.to.stopTimer = s.h.clock.afterFunc(at, func() {
		s.with(func() FilterStatus {
			if seq == s.to.timerSeq {
				s.to.stopTimer, s.to.timerAt = nil, 0
				s.timerFired()
			}
			return NotCalled
		})
	})
}

func (s *Stream) cancelTimer() {
	if s.to.stopTimer != nil {
		s.to.stopTimer()
		s.to.stopTimer, s.to.timerAt = nil, 0
		s.to.timerSeq++
	}
}

// timerFired ends the stream whose deadline passed, or arms the timer for the next deadline.
func (s *Stream) timerFired() {
	if s.done || s.v.closed.Load() {
		return
	}
	now := s.h.clock.Monotonic()
	if at, ok := s.routeDue(); ok && at <= now {
		s.routeTimedOut()
		return
	}
	if at, ok := s.requestDue(); ok && at <= now {
		s.clientTimedOut("request timeout", "request_overall_timeout")
		return
	}
	if s.to.idle > 0 && s.to.idleDue <= now {
		s.clientTimedOut("stream timeout", "stream_idle_timeout")
		return
	}
	s.armTimer()
}

// clientTimedOut is the connection manager's onIdleTimeout and onRequestTimeout: 408 while the
// request is incomplete, 504 once it arrived, a reset once response headers went out.
func (s *Stream) clientTimedOut(body, details string) {
	status := uint32(408)
	if s.req.inputEnded {
		status = 504
	}
	if s.resp.headersContinued {
		s.details = details
		s.resetStream()
		return
	}
	s.sendLocalReply(LocalReply{Status: status, Body: []byte(body), Details: details})
}

// routeTimedOut is the router's onResponseTimeout: a reply while the upstream's response
// headers have not come, a reset after.
func (s *Stream) routeTimedOut() {
	if s.resp.started {
		s.details = "upstream_response_timeout"
		s.resetStream()
		return
	}
	s.sendLocalReply(LocalReply{Status: 504, Body: []byte("upstream request timeout"), Details: "upstream_response_timeout"})
}
