package hostsim

import (
	"bytes"
	"strconv"

	"github.com/tetratelabs/wazero/api"

	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// This file is the wasm filter (Envoy's wasm Context::decode*/encode*) and the part of Envoy's
// filter manager that decides what passes it: which callbacks run, what their results mean,
// what waits, and what is forwarded.

func (s *Stream) ended() bool { return s.done }

// bypassing reports that d's input goes around the plugin: no filter, or (response) a failed
// stream whose 503 is being sent, or a context the VM never created.
func (s *Stream) bypassing(d *half) bool {
	if s.mode == bypass {
		return true
	}
	return d.response && (!s.created || s.failureReplySent)
}

// onCreate is Envoy's Context::onCreate: proxy_on_context_create(stream, root) at the first
// request headers; a failed VM skips the call but counts the context as created.
func (s *Stream) onCreate() {
	if s.created {
		return
	}
	v := s.v
	if s.mode == filtered && !v.failed && v.fn.onContextCreate != nil {
		v.invoke(s.ctx, "proxy_on_context_create", v.fn.onContextCreate, uint64(s.ctx.id), uint64(s.ctx.parent.id))
		v.finishCall()
	}
	s.created = true
}

func (s *Stream) headersInput(d *half, m *headermap.Map, eos bool) FilterStatus {
	if s.done || d.started || (!d.response && s.upstreamIgnored) {
		return NotCalled
	}
	d.started = true
	d.headers = m
	d.inputEnded = eos
	if s.bypassing(d) && (d.response || s.mode == bypass) {
		s.passHeaders(d, eos)
		return NotCalled
	}
	if !d.response {
		s.onCreate()
	}
	d.headersPtr = true
	s.endOfStream = eos
	st := s.callHeaders(d, uint32(m.Len()), eos)
	if s.done {
		return st
	}
	switch st {
	case Continue:
		d.headersPtr = false
		if !d.headersContinued {
			s.passHeaders(d, eos)
		}
	case StopIteration: // allow_on_headers_stop_iteration: only the headers wait
		d.stopped = true
	default:
		d.stoppedAll = true
		d.stopAllBuffer = st == StopAllIterationAndBuffer
	}
	s.resumeIfAsked(d)
	return st
}

func (s *Stream) dataInput(d *half, b []byte, eos bool) FilterStatus {
	if s.done || !d.started || d.inputEnded || (!d.response && s.localReply != nil) {
		return NotCalled // after a local reply the request no longer reaches the filter
	}
	d.inputEnded = eos
	if !d.response {
		s.bytesReceived += int64(len(b))
	}
	// The stream keeps a private copy of b: one copy, made where the bytes are kept.
	if s.bypassing(d) {
		s.passData(d, bytes.Clone(b), eos)
		return NotCalled
	}
	if d.stoppedAll {
		d.held = append(d.held, b...)
		d.queuedAny = true
		if d.stopAllBuffer && len(d.held) > s.h.cfg.BufferLimit {
			s.overflow(d)
		}
		return NotCalled
	}
	if !d.buffering { // else decodeData appends b to the held data
		b = frameCopy(b)
	}
	return s.decodeData(d, b, eos)
}

// frameCopy is the stream's copy of a frame the plugin may rewrite, with room for the rewrite
// to grow it by an eighth (translating a body to another API's format usually grows it a
// little), so that proxy_set_buffer_bytes reuses it instead of allocating again.
func frameCopy(b []byte) []byte {
	return append(make([]byte, 0, len(b)+len(b)/8), b...)
}

// decodeData is the wasm filter's decodeData/encodeData. b is the stream's own unless the
// direction is buffering (then it is copied into the held data).
func (s *Stream) decodeData(d *half, b []byte, eos bool) FilterStatus {
	wasBuffering := d.buffering
	size := len(b)
	if wasBuffering {
		// Envoy moves the new frame into the buffered data first; the plugin sees all of it.
		d.held = append(d.held, b...)
		d.chunk = nil
		if len(d.held) > s.h.cfg.BufferLimit {
			s.overflow(d)
			return StopIterationAndBuffer
		}
		size = len(d.held)
	} else {
		d.chunk = b
	}
	d.bodyPtr = true
	s.endOfStream = eos
	st := s.callData(d, uint32(size), eos)
	d.buffering = false
	if s.done {
		return st
	}
	switch st {
	case Continue:
		d.bodyPtr = false
		s.releaseHeaders(d, false)
		data := d.chunk
		if len(d.held) > 0 {
			data = append(d.held, d.chunk...)
		}
		d.held, d.chunk = nil, nil
		d.stopped = false
		if d.addedTrailers {
			s.passData(d, data, false)
			d.trailersPtr = false
			s.passTrailers(d, d.trailers)
		} else {
			s.passData(d, data, eos)
		}
	case StopIterationAndBuffer:
		if !wasBuffering {
			d.hold()
			if len(d.held) > s.h.cfg.BufferLimit {
				s.overflow(d)
				return st
			}
		}
		d.buffering = true
		d.stopped = true
	case StopIterationAndWatermark:
		if !wasBuffering {
			d.hold()
		}
		d.stopped = true
	default: // StopIterationNoBuffer: the frame is not kept
		d.chunk = nil
		d.stopped = true
	}
	s.resumeIfAsked(d)
	return st
}

// hold moves the frame into the held data; the first frame held becomes it without a copy.
func (d *half) hold() {
	if len(d.held) == 0 {
		d.held = d.chunk
	} else {
		d.held = append(d.held, d.chunk...)
	}
	d.chunk = nil
}

func (s *Stream) trailersInput(d *half, t *headermap.Map) FilterStatus {
	if s.done || !d.started || d.inputEnded || (!d.response && s.localReply != nil) {
		return NotCalled
	}
	d.inputEnded = true
	if s.bypassing(d) {
		s.passTrailers(d, t)
		return NotCalled
	}
	if d.stoppedAll {
		d.queuedTrailers = t
		return NotCalled
	}
	return s.decodeTrailers(d, t)
}

func (s *Stream) decodeTrailers(d *half, t *headermap.Map) FilterStatus {
	d.trailers = t
	d.trailersPtr = true
	st := s.callTrailers(d, uint32(t.Len()))
	if s.done {
		return st
	}
	if st == Continue {
		d.trailersPtr = false
		s.releaseHeaders(d, false)
		d.stopped, d.buffering = false, false
		if data := d.held; len(data) > 0 {
			d.held = nil
			s.passData(d, data, false)
		}
		s.passTrailers(d, t)
	} else {
		d.stopped = true
		d.trailersSeen = true
	}
	s.resumeIfAsked(d)
	return st
}

func (s *Stream) resumeIfAsked(d *half) {
	if d.resumeAfter && !s.done {
		d.resumeAfter = false
		s.resume(d)
	}
}

// resume is Envoy's continueDecoding/continueEncoding after proxy_continue_stream.
func (s *Stream) resume(d *half) {
	if s.done || d.complete {
		return
	}
	if d.inFlight {
		// Continued from inside the callback that is about to pause: resume after it.
		d.resumeAfter = true
		return
	}
	switch {
	case d.stoppedAll:
		d.stoppedAll, d.stopAllBuffer = false, false
		data, queued, trailers := d.held, d.queuedAny, d.queuedTrailers
		d.held, d.queuedAny, d.queuedTrailers = nil, false, nil
		if !d.headersContinued {
			s.passHeaders(d, d.inputEnded && !queued && trailers == nil)
		}
		// The data and trailers that waited now reach the plugin, as one frame.
		if queued && !s.done {
			s.decodeData(d, data, d.inputEnded && trailers == nil)
		}
		if trailers != nil && !s.done {
			s.decodeTrailers(d, trailers)
		}
	case d.stopped:
		d.stopped, d.buffering = false, false
		data := d.held
		d.held = nil
		if s.releaseHeaders(d, d.inputEnded && len(data) == 0 && !d.trailersSeen) {
			return // headers-only: their end was the stream's
		}
		if d.trailersSeen {
			if len(data) > 0 {
				s.passData(d, data, false)
			}
			d.trailersPtr = false
			s.passTrailers(d, d.trailers)
		} else if len(data) > 0 || d.inputEnded {
			s.passData(d, data, d.inputEnded)
		}
	}
}

// releaseHeaders forwards headers that a headers callback held with StopIteration
// (allow_on_headers_stop_iteration), as Envoy's filter manager does before the first data or
// trailers that continue, or on continue_stream. It reports whether the headers ended the stream.
func (s *Stream) releaseHeaders(d *half, eos bool) bool {
	if !d.started || d.headersContinued {
		return false
	}
	d.headersPtr = false
	s.passHeaders(d, eos)
	return eos
}

// Plugin calls with cpp-host's failure checks (CHECK_FAIL) and result conversion.

type callKind uint8

const (
	headersCall callKind = iota
	dataCall
	trailersCall
)

func (s *Stream) callHeaders(d *half, n uint32, eos bool) FilterStatus {
	f, name := s.v.fn.onRequestHeaders, "proxy_on_request_headers"
	if d.response {
		f, name = s.v.fn.onResponseHeaders, "proxy_on_response_headers"
	}
	return s.call(d, headersCall, name, f, n, eos)
}

func (s *Stream) callData(d *half, n uint32, eos bool) FilterStatus {
	f, name := s.v.fn.onRequestBody, "proxy_on_request_body"
	if d.response {
		f, name = s.v.fn.onResponseBody, "proxy_on_response_body"
	}
	return s.call(d, dataCall, name, f, n, eos)
}

func (s *Stream) callTrailers(d *half, n uint32) FilterStatus {
	f, name := s.v.fn.onRequestTrailers, "proxy_on_request_trailers"
	if d.response {
		f, name = s.v.fn.onResponseTrailers, "proxy_on_response_trailers"
	}
	return s.call(d, trailersCall, name, f, n, false)
}

func (s *Stream) vmFailed() bool { return s.mode == failClosed || s.v.failed || s.v.closed.Load() }

func (s *Stream) call(d *half, kind callKind, name string, fn api.Function, n uint32, eos bool) FilterStatus {
	if s.vmFailed() {
		return s.failStatus(kind)
	}
	if fn == nil {
		return Continue
	}
	v := s.v
	d.inFlight = true
	var r uint64
	if kind == trailersCall {
		r, _ = v.invoke(s.ctx, name, fn, uint64(s.ctx.id), uint64(n))
	} else {
		r, _ = v.invoke(s.ctx, name, fn, uint64(s.ctx.id), uint64(n), b2u(eos))
	}
	var st FilterStatus
	if v.failed {
		st = s.failStatus(kind)
	} else {
		st = convert(kind, r, v.stopIteration)
		if st == StopAllIterationAndWatermark && kind == headersCall && r == 1 && !v.stopIteration &&
			s.h.cfg.AllowOnHeadersStopIteration {
			st = StopIteration
		}
	}
	v.finishCall()
	d.inFlight = false
	return st
}

// convert is cpp-host's convertVmCallResultTo*Status followed by Envoy's mapping to its own
// filter statuses (headers: a plain Stop becomes StopAllIterationAndWatermark, 2 continues).
func convert(kind callKind, r uint64, stop bool) FilterStatus {
	switch kind {
	case headersCall:
		switch {
		case stop || r > 4 || r == 1 || r == 4:
			return StopAllIterationAndWatermark
		case r == 3:
			return StopAllIterationAndBuffer
		}
		return Continue
	case dataCall:
		switch {
		case stop || r >= 3:
			return StopIterationNoBuffer
		case r == 1:
			return StopIterationAndBuffer
		case r == 2:
			return StopIterationAndWatermark
		}
		return Continue
	}
	if stop || r >= 1 {
		return StopIteration
	}
	return Continue
}

// failStatus is CHECK_FAIL: fail open continues; fail closed answers 503 once and stops.
func (s *Stream) failStatus(kind callKind) FilterStatus {
	if s.h.cfg.FailOpen {
		return Continue
	}
	if !s.streamFailed {
		s.streamFailed = true
		s.failureReplySent = true
		s.sendLocalReply(LocalReply{Status: 503, Details: "wasm_fail_stream", GRPCStatus: 14})
	}
	switch kind {
	case headersCall:
		return StopAllIterationAndWatermark
	case dataCall:
		return StopIterationNoBuffer
	}
	return StopIteration
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Forwarding: what leaves the filter.

func (s *Stream) out(d *half) *outMsg {
	if d.response {
		return &s.down
	}
	return &s.up
}

func (s *Stream) passHeaders(d *half, eos bool) {
	d.headersContinued = true
	if d.headersPtr {
		// Envoy still points at these headers (a continued response): later changes would not
		// reach the peer, so keep what was sent.
		s.out(d).headers = d.headers.Clone()
	} else {
		s.out(d).headers = d.headers
	}
	if d.response {
		if code, err := strconv.Atoi(firstValue(d.headers, ":status")); err == nil {
			s.responseCode = uint32(code)
		}
	}
	s.endIf(d, eos)
}

func (s *Stream) passData(d *half, b []byte, eos bool) {
	m := s.out(d)
	if m.body == nil {
		m.body = b // inputs are already private copies
	} else {
		m.body = append(m.body, b...)
	}
	if d.response {
		s.bytesSent += int64(len(b))
	}
	s.endIf(d, eos)
}

func (s *Stream) passTrailers(d *half, t *headermap.Map) {
	if d.trailersPtr {
		t = t.Clone()
	}
	s.out(d).trailers = t
	s.endIf(d, true)
}

func (s *Stream) endIf(d *half, eos bool) {
	if d.response {
		s.touch() // sent to the client: activity for the idle timeout
	}
	if eos {
		d.complete = true
		s.out(d).end = true
		if !d.response {
			s.startRouteTimeout()
		}
	}
	s.notify()
	if eos && d.response {
		s.finalize()
	}
}

func (s *Stream) notify() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// changedChan returns a channel closed at the next change; the caller holds the VM lock.
func (s *Stream) changedChan() <-chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}
