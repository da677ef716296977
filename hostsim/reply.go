package hostsim

import (
	"strconv"

	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// Local replies, resets and the end of the stream.

// sendLocalReply is Envoy's sendLocalReply: before the response started it runs through the
// filter's response callbacks; once upstream response headers reached the filter it goes
// straight to the client; after response headers went to the client it can only reset.
func (s *Stream) sendLocalReply(lr LocalReply) {
	if s.done {
		return
	}
	if s.resp.headersContinued {
		s.resetStream()
		return
	}
	s.details = lr.Details
	s.responseCode = lr.Status
	s.localReply = &lr
	s.upstreamIgnored = true
	if s.up.headers != nil && !s.up.end {
		s.upstreamReset = true
	}
	hdrs := headermap.New([]headermap.Pair{{":status", strconv.Itoa(int(lr.Status))}})
	for _, p := range lr.Headers {
		hdrs.Add(p[0], p[1])
	}
	if len(lr.Body) > 0 {
		hdrs.Set("content-length", strconv.Itoa(len(lr.Body)))
		if _, ok := hdrs.Get("content-type"); !ok {
			hdrs.Add("content-type", "text/plain")
		}
	}
	if s.resp.started {
		// Direct reply: the filter already saw the upstream's headers; it does not see this.
		s.resp = half{response: true, started: true, headers: hdrs, complete: false}
		s.down = outMsg{}
		s.passHeaders(&s.resp, len(lr.Body) == 0)
		if len(lr.Body) > 0 {
			s.passData(&s.resp, lr.Body, true)
		}
		return
	}
	s.resp = half{response: true}
	s.headersInput(&s.resp, hdrs, len(lr.Body) == 0)
	if len(lr.Body) > 0 && !s.done {
		s.dataInput(&s.resp, lr.Body, true)
	}
}

// overflow answers a body over the buffer limit: 413 on requests, 500 on responses.
func (s *Stream) overflow(d *half) {
	if d.response {
		s.sendLocalReply(LocalReply{Status: 500, Body: []byte("Internal Server Error"), Details: "response_payload_too_large"})
		return
	}
	s.sendLocalReply(LocalReply{Status: 413, Body: []byte("Payload Too Large"), Details: "request_payload_too_large"})
}

// resetStream ends the stream abruptly (proxy_close_stream, overflow after headers, Close).
func (s *Stream) resetStream() {
	if s.done {
		return
	}
	s.reset = true
	if s.up.headers != nil && !s.up.end {
		s.upstreamReset = true
	}
	s.finalize()
}

// finalize tears the stream down as Envoy does: access log (proxy_on_log) first, then
// proxy_on_done and proxy_on_delete; the context id is released.
func (s *Stream) finalize() {
	if s.done {
		return
	}
	s.done = true
	if s.onFinalize != nil {
		s.onFinalize()
	}
	s.h.streams.Add(-1)
	s.cancelTimer()
	s.duration = s.h.clock.Monotonic() - s.startMono
	v := s.v
	if s.mode == filtered && s.created && !v.failed {
		s.accessLog = true
		if v.fn.onLog != nil {
			v.invoke(s.ctx, "proxy_on_log", v.fn.onLog, uint64(s.ctx.id))
			v.finishCall()
		}
		s.accessLog = false
		if !v.failed && v.fn.onDone != nil {
			v.invoke(s.ctx, "proxy_on_done", v.fn.onDone, uint64(s.ctx.id))
			v.finishCall()
		}
		if !v.failed && v.fn.onDelete != nil {
			v.invoke(s.ctx, "proxy_on_delete", v.fn.onDelete, uint64(s.ctx.id))
			v.finishCall()
		}
	}
	if s.ctx != nil {
		delete(v.contexts, s.ctx.id)
	}
	s.notify()
}
