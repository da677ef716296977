package hostsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"time"

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
	rootID    string // the plugin, by root_id (WithPlugin)
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

	// direct: Proxy runs this stream's callbacks on the goroutine that calls them (its
	// connection's), not on the worker VM's thread. onFinalize runs once the stream is over
	// (Proxy cancels an upstream call nobody waits for any more).
	direct     bool
	onFinalize func()

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
	hostCallCount   uint64        // host functions called inside this stream's callbacks
	changed         chan struct{} // closed on change; made on demand by a waiter
	to              timeouts
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
	h.streams.Add(1)
	v.lock()
	s.startTimeouts()
	switch {
	case !v.failed:
		s.ctx = &s.ctxStore
		v.registerContext(s.ctx, streamContextKind)
		s.ctx.stream = s
		s.ctx.parent = v.rootFor(cfg.rootID)
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
	return s.with(func() FilterStatus { s.touch(); return s.headersInput(&s.req, m, endOfStream) })
}

// SendRequestBody delivers a request body chunk.
func (s *Stream) SendRequestBody(b []byte, endOfStream bool) FilterStatus {
	return s.with(func() FilterStatus { s.touch(); return s.dataInput(&s.req, b, endOfStream) })
}

// SendRequestTrailers delivers the request trailers, which end the request.
func (s *Stream) SendRequestTrailers(t Headers) FilterStatus {
	return s.with(func() FilterStatus {
		s.touch()
		return s.trailersInput(&s.req, headermap.New([]headermap.Pair(t)))
	})
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

// HostCalls is the number of host functions (proxy_* and WASI) the plugin called inside this
// stream's callbacks so far: what each crossing of the VM boundary costs a filter in Envoy
// too. Calls the plugin makes on its root context (ticks, callouts) are not the stream's, even
// when they act on it; Host.HostCalls counts everything, by function.
func (s *Stream) HostCalls() uint64 {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return s.hostCallCount
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
