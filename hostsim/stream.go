package hostsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/buffer"
	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// StreamInfo is what Envoy knows of a stream besides its headers; it feeds the source.*,
// destination.*, upstream.*, connection.*, xds.* and request.protocol properties.
type StreamInfo struct {
	SourceAddress       string // "ip:port" of the client (source.address)
	DestinationAddress  string // "ip:port" the client connected to (destination.address)
	UpstreamAddress     string // "ip:port" of the chosen upstream host (upstream.address)
	RouteName           string // xds.route_name
	VirtualHostName     string // xds.virtual_host_name
	ClusterName         string // xds.cluster_name
	FilterChainName     string // xds.filter_chain_name
	Protocol            string // request.protocol (default "HTTP/1.1")
	RequestedServerName string // connection.requested_server_name (SNI)
	ConnectionID        uint64 // connection.id and connection_id (default: a per-host counter)
}

// StreamOption configures NewStream.
type StreamOption func(*streamConfig)

type streamConfig struct {
	worker    int
	info      StreamInfo
	overrides map[string][]byte
}

// OnWorker binds the stream to worker i instead of the next worker in round-robin order.
func OnWorker(i int) StreamOption { return func(c *streamConfig) { c.worker = i } }

// WithInfo sets the stream's connection and routing facts; empty fields keep their defaults.
func WithInfo(info StreamInfo) StreamOption {
	return func(c *streamConfig) {
		d := &c.info
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&d.SourceAddress, info.SourceAddress)
		set(&d.DestinationAddress, info.DestinationAddress)
		set(&d.UpstreamAddress, info.UpstreamAddress)
		set(&d.RouteName, info.RouteName)
		set(&d.VirtualHostName, info.VirtualHostName)
		set(&d.ClusterName, info.ClusterName)
		set(&d.FilterChainName, info.FilterChainName)
		set(&d.Protocol, info.Protocol)
		set(&d.RequestedServerName, info.RequestedServerName)
		if info.ConnectionID != 0 {
			d.ConnectionID = info.ConnectionID
		}
	}
}

// WithProperty makes proxy_get_property(path) answer value (already serialized as Envoy would)
// on this stream, for attributes hostsim does not model (metadata, node, ...).
func WithProperty(path []string, value []byte) StreamOption {
	return func(c *streamConfig) {
		if c.overrides == nil {
			c.overrides = map[string][]byte{}
		}
		key := ""
		for i, seg := range path {
			if i > 0 {
				key += "\x00"
			}
			key += seg
		}
		c.overrides[key] = value
	}
}

type streamMode uint8

const (
	filtered   streamMode = iota
	bypass                // the VM had failed and the filter fails open: no filter at all
	failClosed            // the VM had failed: a filter without a VM, answering 503
)

// Stream is one HTTP stream through the filter: the test (or Proxy) plays the downstream
// client and the upstream server, and the Stream records what the filter let through in each
// direction. A Stream is bound to one worker VM and is safe for concurrent use.
//
// The stream ends (proxy_on_log, proxy_on_done, proxy_on_delete run) when the response's end
// has passed the filter, when the plugin resets it, or on Close.
type Stream struct {
	h    *Host
	v    *vm
	ctx  *pctx
	mode streamMode
	info StreamInfo

	overrides   map[string][]byte
	filterState map[string][]byte

	created          bool // cpp-host's in_vm_context_created_
	streamFailed     bool
	failureReplySent bool
	endOfStream      bool // Envoy's end_of_stream_: the last decode/encode call's flag
	accessLog        bool // inside proxy_on_log

	req, resp half

	up, down        outMsg
	localReply      *LocalReply
	upstreamIgnored bool // a local reply replaced the upstream response
	upstreamReset   bool
	reset           bool
	done            bool
	details         string
	responseCode    uint32
	bytesReceived   int64
	bytesSent       int64
	startWall       time.Time
	startMono       time.Duration
	duration        time.Duration
	calls           []callRecord
	callsBuf        [10]callRecord
	changed         chan struct{} // closed on change; made on demand by a waiter
	ctxStore        pctx
}

// outMsg is one direction as it left the filter.
type outMsg struct {
	headers, trailers *headermap.Map
	body              []byte
	end               bool
}

func (o *outMsg) message() Message {
	return Message{Headers: fromPairs(o.headers.Pairs()), Body: append([]byte(nil), o.body...),
		Trailers: fromPairs(o.trailers.Pairs()), End: o.end}
}

// half is one direction of the stream inside the filter: Envoy's header/body/trailer pointers
// the plugin may touch, and the filter manager's iteration state.
type half struct {
	response bool

	headers, trailers *headermap.Map
	chunk             []byte // the data frame being processed
	held              []byte // data stopped at this filter (filter manager's buffered data)

	// What Envoy's Context points at; the plugin can only reach what these allow.
	headersPtr, bodyPtr, trailersPtr bool
	buffering                        bool // buffering_*_body_: the body buffer is all held data
	addedTrailers                    bool

	started          bool // headers arrived
	headersContinued bool
	stoppedAll       bool // headers answered a stop: data and trailers wait, unseen
	stopAllBuffer    bool // ... with StopAllIterationAndBuffer: the buffer limit applies
	queuedAny        bool // data arrived while stoppedAll
	queuedTrailers   *headermap.Map
	stopped          bool // iteration stopped on data or trailers
	trailersSeen     bool
	inputEnded       bool
	complete         bool // the end passed on
	inFlight         bool // a callback of this direction is running
	resumeAfter      bool // proxy_continue_stream during that callback
}

type callRecord struct {
	name    string
	args    [5]uint32
	n       uint8
	result  uint32
	trapped bool
}

var connectionIDs atomic.Uint64

// NewStream starts a stream on the next worker (round robin) or the one OnWorker names.
// Envoy allocates the stream's context id now; proxy_on_context_create runs when the request
// headers arrive.
func (h *Host) NewStream(opts ...StreamOption) *Stream {
	cfg := streamConfig{worker: -1, info: StreamInfo{
		SourceAddress:      "127.0.0.1:50000",
		DestinationAddress: "127.0.0.1:10000",
		Protocol:           "HTTP/1.1",
		ConnectionID:       connectionIDs.Add(1),
	}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.worker < 0 || cfg.worker >= len(h.vms) {
		cfg.worker = int(h.next.Add(1)-1) % len(h.vms)
	}
	v := h.vms[cfg.worker]
	s := &Stream{h: h, v: v, info: cfg.info, overrides: cfg.overrides}
	s.calls = s.callsBuf[:0]
	s.resp.response = true
	s.startWall, s.startMono = h.clock.Now(), h.clock.Monotonic()
	v.lock()
	switch {
	case !v.failed:
		s.ctx = &s.ctxStore
		v.registerContext(s.ctx, streamContextKind)
		s.ctx.stream = s
	case h.cfg.FailOpen:
		s.mode = bypass
	default:
		s.mode = failClosed
	}
	v.unlock()
	return s
}

// Inputs from the client (request) and the upstream (response). Each returns what Envoy made
// of the plugin's answer for that input.

// SendRequestHeaders delivers the request headers; endOfStream means the request has no body.
// A missing x-request-id is generated, as Envoy's connection manager does.
func (s *Stream) SendRequestHeaders(h Headers, endOfStream bool) FilterStatus {
	m := headermap.New([]headermap.Pair(h))
	if _, ok := m.Get("x-request-id"); !ok {
		m.Add("x-request-id", newRequestID())
	}
	return s.with(func() FilterStatus { return s.headersInput(&s.req, m, endOfStream) })
}

// SendRequestBody delivers a request body chunk.
func (s *Stream) SendRequestBody(b []byte, endOfStream bool) FilterStatus {
	return s.with(func() FilterStatus { return s.dataInput(&s.req, b, endOfStream) })
}

// SendRequestTrailers delivers the request trailers, which end the request.
func (s *Stream) SendRequestTrailers(t Headers) FilterStatus {
	return s.with(func() FilterStatus { return s.trailersInput(&s.req, headermap.New([]headermap.Pair(t))) })
}

// SendResponseHeaders delivers the upstream's response headers (with ":status").
func (s *Stream) SendResponseHeaders(h Headers, endOfStream bool) FilterStatus {
	return s.with(func() FilterStatus {
		if s.upstreamIgnored {
			return NotCalled
		}
		m := headermap.New([]headermap.Pair(h))
		if s.details == "" {
			s.details = "via_upstream"
		}
		if code, err := strconv.Atoi(firstValue(m, ":status")); err == nil {
			s.responseCode = uint32(code)
		}
		return s.headersInput(&s.resp, m, endOfStream)
	})
}

// SendResponseBody delivers an upstream response body chunk.
func (s *Stream) SendResponseBody(b []byte, endOfStream bool) FilterStatus {
	return s.with(func() FilterStatus {
		if s.upstreamIgnored {
			return NotCalled
		}
		return s.dataInput(&s.resp, b, endOfStream)
	})
}

// SendResponseTrailers delivers the upstream's response trailers, which end the response.
func (s *Stream) SendResponseTrailers(t Headers) FilterStatus {
	return s.with(func() FilterStatus {
		if s.upstreamIgnored {
			return NotCalled
		}
		return s.trailersInput(&s.resp, headermap.New([]headermap.Pair(t)))
	})
}

// Close ends the stream now if it has not ended (the client went away): the stream is reset
// and the plugin sees proxy_on_log, proxy_on_done and proxy_on_delete.
func (s *Stream) Close() {
	s.with(func() FilterStatus {
		if !s.done {
			if s.details == "" {
				s.details = "downstream_remote_disconnect"
			}
			s.resetStream()
		}
		return NotCalled
	})
}

func (s *Stream) with(f func() FilterStatus) FilterStatus {
	s.v.lock()
	st := f()
	s.v.unlock()
	return st
}

func firstValue(m *headermap.Map, key string) string {
	v, _ := m.Get(key)
	return v
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

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
		v.invoke(s.ctx, "proxy_on_context_create", v.fn.onContextCreate, uint64(s.ctx.id), uint64(v.root.id))
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
	b = append([]byte(nil), b...)
	if !d.response {
		s.bytesReceived += int64(len(b))
	}
	if s.bypassing(d) {
		s.passData(d, b, eos)
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
	return s.decodeData(d, b, eos)
}

// decodeData is the wasm filter's decodeData/encodeData.
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
			d.held = append(d.held, d.chunk...)
			d.chunk = nil
			if len(d.held) > s.h.cfg.BufferLimit {
				s.overflow(d)
				return st
			}
		}
		d.buffering = true
		d.stopped = true
	case StopIterationAndWatermark:
		if !wasBuffering {
			d.held = append(d.held, d.chunk...)
			d.chunk = nil
		}
		d.stopped = true
	default: // StopIterationNoBuffer: the frame is not kept
		d.chunk = nil
		d.stopped = true
	}
	s.resumeIfAsked(d)
	return st
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
		s.sendLocalReply(LocalReply{Status: 503, Details: "wasm_fail_stream", GRPCStatus: 14}, false)
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
	if eos {
		d.complete = true
		s.out(d).end = true
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

// Local replies, resets and the end of the stream.

// sendLocalReply is Envoy's sendLocalReply: before the response started it runs through the
// filter's response callbacks; once upstream response headers reached the filter it goes
// straight to the client; after response headers went to the client it can only reset.
func (s *Stream) sendLocalReply(lr LocalReply, fromPlugin bool) {
	if s.done {
		return
	}
	if s.resp.headersContinued {
		s.resetStream()
		return
	}
	if !s.failureReplySent || !fromPlugin {
		s.details = lr.Details
	}
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
		s.sendLocalReply(LocalReply{Status: 500, Body: []byte("Internal Server Error"), Details: "response_payload_too_large"}, false)
		return
	}
	s.sendLocalReply(LocalReply{Status: 413, Body: []byte("Payload Too Large"), Details: "request_payload_too_large"}, false)
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

// What the plugin can reach (Envoy's Context pointers).

func (s *Stream) mutableMap(t abi.MapType) *headermap.Map {
	switch t {
	case abi.RequestHeaders:
		return ptrMap(s.req.headersPtr, s.req.headers)
	case abi.ResponseHeaders:
		return ptrMap(s.resp.headersPtr, s.resp.headers)
	case abi.RequestTrailers:
		return s.trailersFor(&s.req)
	case abi.ResponseTrailers:
		return s.trailersFor(&s.resp)
	}
	return nil
}

// trailersFor also lets a plugin add trailers from the last body callback, as Envoy's
// addDecodedTrailers/addEncodedTrailers.
func (s *Stream) trailersFor(d *half) *headermap.Map {
	if d.trailersPtr {
		return d.trailers
	}
	if d.bodyPtr && s.endOfStream && d.inFlight && !d.addedTrailers && d.trailers == nil {
		d.trailers = headermap.New(nil)
		d.trailersPtr, d.addedTrailers = true, true
		return d.trailers
	}
	return nil
}

func ptrMap(ok bool, m *headermap.Map) *headermap.Map {
	if ok {
		return m
	}
	return nil
}

func (s *Stream) constMap(t abi.MapType) (*headermap.Map, bool) {
	if s.accessLog {
		switch t {
		case abi.RequestHeaders:
			return s.req.headers, true
		case abi.ResponseHeaders:
			return s.resp.headers, true
		case abi.ResponseTrailers:
			return s.resp.trailers, true
		}
		return nil, true
	}
	switch t {
	case abi.RequestHeaders:
		return ptrMap(s.req.headersPtr, s.req.headers), false
	case abi.ResponseHeaders:
		return ptrMap(s.resp.headersPtr, s.resp.headers), false
	case abi.RequestTrailers:
		return ptrMap(s.req.trailersPtr, s.req.trailers), false
	case abi.ResponseTrailers:
		return ptrMap(s.resp.trailersPtr, s.resp.trailers), false
	}
	return nil, false
}

func (s *Stream) bodyBuffer(response bool) buffer.Buffer {
	d := &s.req
	if response {
		d = &s.resp
	}
	switch {
	case d.buffering:
		return buffer.Mutable(&d.held)
	case d.bodyPtr:
		return buffer.Mutable(&d.chunk)
	}
	return buffer.Buffer{}
}

func (s *Stream) requestHeadersForAttributes() *headermap.Map {
	if s.req.headersPtr || s.accessLog {
		return s.req.headers
	}
	return nil
}

func (s *Stream) responseHeadersForAttributes() (*headermap.Map, *headermap.Map) {
	var h, t *headermap.Map
	if s.resp.headersPtr || s.accessLog {
		h = s.resp.headers
	}
	if s.resp.trailersPtr || s.accessLog {
		t = s.resp.trailers
	}
	return h, t
}

func (s *Stream) setFilterState(key string, value []byte) {
	if s.filterState == nil {
		s.filterState = map[string][]byte{}
	}
	s.filterState[key] = value
}

func (s *Stream) record(name string, args []uint64, result uint32, trapped bool) {
	r := callRecord{name: name, result: result, trapped: trapped, n: uint8(len(args))}
	for i, a := range args {
		r.args[i] = uint32(a)
	}
	s.calls = append(s.calls, r)
}

// Inspection.

// ID is the stream's context id in its VM (0 when the filter is bypassed).
func (s *Stream) ID() uint32 {
	if s.ctx == nil {
		return 0
	}
	return s.ctx.id
}

// Worker is the index of the worker VM the stream is bound to.
func (s *Stream) Worker() int { return s.v.worker }

// Upstream is the request as it left the filter towards the upstream so far.
func (s *Stream) Upstream() Message {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return s.up.message()
}

// Downstream is the response as it left the filter towards the client so far.
func (s *Stream) Downstream() Message {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return s.down.message()
}

// LocalReply is the reply the filter generated (plugin, buffer limit or failed VM), or nil.
func (s *Stream) LocalReply() *LocalReply {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	if s.localReply == nil {
		return nil
	}
	lr := *s.localReply
	return &lr
}

// Paused reports whether either direction waits for proxy_continue_stream.
func (s *Stream) Paused() bool { return s.RequestPaused() || s.ResponsePaused() }

// RequestPaused reports whether the request waits for proxy_continue_stream.
func (s *Stream) RequestPaused() bool {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return !s.done && (s.req.stoppedAll || s.req.stopped)
}

// ResponsePaused reports whether the response waits for proxy_continue_stream.
func (s *Stream) ResponsePaused() bool {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return !s.done && (s.resp.stoppedAll || s.resp.stopped)
}

// Done reports whether the stream has ended (and proxy_on_delete has run).
func (s *Stream) Done() bool {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return s.done
}

// WasReset reports whether the stream was reset (proxy_close_stream, a limit hit after the
// response started, or Close before the end).
func (s *Stream) WasReset() bool {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return s.reset
}

// UpstreamReset reports whether a request already sent upstream was abandoned (local reply
// or reset).
func (s *Stream) UpstreamReset() bool {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return s.upstreamReset
}

// ResponseCodeDetails is Envoy's response code details ("via_upstream", "wasm_fail_stream", ...).
func (s *Stream) ResponseCodeDetails() string {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return s.details
}

// FilterState returns what the plugin stored with proxy_set_property(path): Envoy keeps it as
// filter state "wasm.<path>" (path segments joined by NUL).
func (s *Stream) FilterState(path ...string) ([]byte, bool) {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	key := "wasm."
	for i, p := range path {
		if i > 0 {
			key += "\x00"
		}
		key += p
	}
	v, ok := s.filterState[key]
	return append([]byte(nil), v...), ok
}

// Callbacks lists the plugin calls made for this stream, in order.
func (s *Stream) Callbacks() []Callback {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	out := make([]Callback, len(s.calls))
	for i, r := range s.calls {
		out[i] = Callback{Name: r.name, Args: append([]uint32(nil), r.args[:r.n]...), Result: r.result, Trapped: r.trapped}
	}
	return out
}

// Await waits until cond holds (checked after every change of the stream) or ctx ends. Use it
// with the real clock, where ticks and callouts resume streams from other goroutines.
func (s *Stream) Await(ctx context.Context, cond func(*Stream) bool) error {
	for {
		s.v.mu.Lock()
		ch := s.changedChan()
		s.v.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
