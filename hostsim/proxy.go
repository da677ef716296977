package hostsim

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Proxy is an http.Handler that runs each request through the plugin the way Envoy's
// connection manager, the wasm filter and the router do: the request goes through the filter,
// the upstream request starts when the filter releases the headers (so a paused request waits,
// bounded by the client's context), the body streams as the filter lets it through, and the
// upstream response streams back through the filter chunk by chunk. A local reply never
// reaches the upstream. It is the core of the dev gateway.
type Proxy struct {
	Host *Host
	// Route picks the cluster (a key of Config.Clusters) from the request headers as the filter
	// forwarded them. If nil, the value of the ClusterHeader header (Envoy's cluster_header)
	// is used, else DefaultCluster, else the only configured cluster.
	Route          func(Headers) string
	ClusterHeader  string
	DefaultCluster string
	// RouteTimeouts sets the route timeout per cluster, over Config.RouteTimeout (a negative
	// duration disables it, as a route's timeout: 0s does in Envoy).
	RouteTimeouts map[string]time.Duration
	// RootID picks the plugin requests run through, among Config.RootID and Config.Plugins
	// (default: the first).
	RootID string
	// Transport sends upstream requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// ErrorLog receives proxying problems (default: the log package's standard logger).
	ErrorLog *log.Logger
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	info := StreamInfo{SourceAddress: r.RemoteAddr, Protocol: r.Proto}
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		info.DestinationAddress = addr.String()
	}
	if p.DefaultCluster != "" {
		info.ClusterName = p.DefaultCluster
	}
	s := p.Host.NewStream(WithInfo(info), WithPlugin(p.RootID))
	if hasBody(r) {
		go p.sendRequest(s, r)
		go p.forward(ctx, s, false)
	} else {
		// Headers only: the request, the upstream call and an answer of known length all run
		// on this goroutine, the connection's, as Envoy runs a connection's streams on its
		// worker thread; nothing is handed between goroutines. A local reply or a timeout
		// while the upstream call is out cancels it, as the client's answer no longer waits.
		s.direct = true
		s.onFinalize = cancel
		p.sendRequest(s, r)
		p.forward(ctx, s, true)
	}
	if err := p.respond(ctx, s, w); err != nil {
		cancel()
		if errors.Is(err, errStreamReset) {
			panic(http.ErrAbortHandler) // Envoy resets the client's stream: no response
		}
	}
}

var errStreamReset = errors.New("hostsim: stream reset")

// sendRequest plays the client: headers, body frames, trailers into the filter.
func (p *Proxy) sendRequest(s *Stream, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h := Headers{{":method", r.Method}, {":scheme", scheme}, {":authority", r.Host}, {":path", r.URL.RequestURI()}}
	for _, kv := range sortedHeader(r.Header) {
		if !hopByHop(kv[0]) {
			h = append(h, [2]string(kv))
		}
	}
	if _, ok := h.Lookup("x-forwarded-proto"); !ok {
		h = append(h, [2]string{"x-forwarded-proto", scheme})
	}
	noBody := !hasBody(r)
	onThread(s, func() { s.SendRequestHeaders(h, noBody) })
	if noBody {
		return
	}
	buf := getBuffer()
	defer putBuffer(buf)
	for {
		n, err := r.Body.Read(*buf)
		if n > 0 {
			chunk := (*buf)[:n]
			onThread(s, func() { s.SendRequestBody(chunk, false) })
		}
		if err == io.EOF {
			if len(r.Trailer) > 0 {
				t := fromPairs(sortedHeader(r.Trailer))
				onThread(s, func() { s.SendRequestTrailers(t) })
			} else {
				onThread(s, func() { s.SendRequestBody(nil, true) })
			}
			return
		}
		if err != nil {
			onThread(s, s.Close) // the client went away mid-body
			return
		}
	}
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// onThread runs f, which calls into the filter, on the stream's worker thread (see thread),
// or on the caller's goroutine for a stream that runs on its connection's (Stream.direct).
func onThread(s *Stream, f func()) {
	if t := s.v.thread; t != nil && !s.direct {
		t.run(f)
		return
	}
	f()
}

// buffers are the frames bodies are read into: the filter copies what it keeps.
var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func getBuffer() *[]byte  { return buffers.Get().(*[]byte) }
func putBuffer(b *[]byte) { buffers.Put(b) }

// forward plays the router and the upstream: once the filter released the request headers it
// sends the request, streaming the body the filter lets through, and feeds the response back.
// inline: the caller writes the client's answer once forward returns, so an answer of unknown
// length (a stream) is fed on a goroutine of its own, to reach the client as it arrives.
func (p *Proxy) forward(ctx context.Context, s *Stream, inline bool) {
	var headers Headers
	err := s.Await(ctx, func(s *Stream) bool {
		s.v.mu.Lock()
		defer s.v.mu.Unlock()
		if s.up.headers != nil {
			headers = fromPairs(s.up.headers.Pairs())
		}
		return headers != nil || s.done
	})
	if err != nil || headers == nil {
		return
	}
	cluster := p.cluster(headers)
	base, ok := p.Host.cfg.Clusters[cluster]
	if !ok {
		p.logf("hostsim proxy: no cluster %q for %s", cluster, headers.Get(":path"))
		onThread(s, func() { s.SendResponseHeaders(Headers{{":status", "503"}}, true) })
		return
	}
	if u, err := url.Parse(base); err == nil {
		s.v.mu.Lock()
		s.info.ClusterName, s.info.UpstreamAddress = cluster, u.Host // xds.cluster_name, upstream.address
		s.v.mu.Unlock()
	}
	if d, ok := p.RouteTimeouts[cluster]; ok {
		s.with(func() FilterStatus { s.setRouteTimeout(d); return NotCalled })
	}
	req, err := p.upstreamRequest(ctx, s, base, headers)
	if err != nil {
		p.upstreamFailed(s, err)
		return
	}
	transport := p.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	sent := p.Host.clock.Monotonic()
	resp, err := transport.RoundTrip(req)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, errStreamReset) {
			p.upstreamFailed(s, err)
		}
		return
	}
	took := p.Host.clock.Monotonic() - sent
	if inline && resp.ContentLength < 0 {
		go func() {
			defer resp.Body.Close()
			p.sendResponse(s, resp, took)
		}()
		return
	}
	defer resp.Body.Close()
	p.sendResponse(s, resp, took)
}

func (p *Proxy) cluster(h Headers) string {
	if p.Route != nil {
		return p.Route(h)
	}
	if p.ClusterHeader != "" {
		if c, ok := h.Lookup(p.ClusterHeader); ok {
			return c
		}
	}
	if p.DefaultCluster != "" {
		return p.DefaultCluster
	}
	if len(p.Host.cfg.Clusters) == 1 {
		for name := range p.Host.cfg.Clusters {
			return name
		}
	}
	return ""
}

func (p *Proxy) upstreamRequest(ctx context.Context, s *Stream, base string, h Headers) (*http.Request, error) {
	body := &forwardedBody{ctx: ctx, s: s}
	req, err := http.NewRequestWithContext(ctx, h.Get(":method"), strings.TrimSuffix(base, "/")+h.Get(":path"), body)
	if err != nil {
		return nil, err
	}
	req.Host = h.Get(":authority")
	req.ContentLength = -1
	for _, kv := range h {
		switch k := kv[0]; {
		case strings.HasPrefix(k, ":"), k == "host", hopByHop(k):
		case k == "content-length":
			if n, err := strconv.ParseInt(kv[1], 10, 64); err == nil {
				req.ContentLength = n
			}
		default:
			req.Header.Add(k, kv[1])
		}
	}
	if req.ContentLength == 0 {
		req.Body = http.NoBody
	} else if req.ContentLength < 0 {
		req.Trailer = http.Header{}
		body.trailer = req.Trailer
	}
	return req, nil
}

// forwardedBody reads the request body as the filter releases it.
type forwardedBody struct {
	ctx     context.Context
	s       *Stream
	off     int
	trailer http.Header
}

func (b *forwardedBody) Read(out []byte) (int, error) {
	for {
		s := b.s
		s.v.mu.Lock()
		avail, end, done, ch := s.up.body[b.off:], s.up.end, s.done, s.changedChan()
		var trailers Headers
		if end && len(avail) == 0 {
			trailers = fromPairs(s.up.trailers.Pairs())
		}
		s.v.mu.Unlock()
		if len(avail) > 0 {
			n := copy(out, avail)
			b.off += n
			return n, nil
		}
		if end {
			for _, kv := range trailers {
				if b.trailer != nil {
					b.trailer.Add(kv[0], kv[1])
				}
			}
			return 0, io.EOF
		}
		if done {
			return 0, errStreamReset // local reply or reset: abandon the upstream request
		}
		select {
		case <-ch:
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		}
	}
}

// sendResponse feeds the upstream response into the filter as it arrives. Envoy's router adds
// x-envoy-upstream-service-time (milliseconds the upstream took to answer, on the host's
// clock) before the response reaches the filters.
func (p *Proxy) sendResponse(s *Stream, resp *http.Response, took time.Duration) {
	h := Headers{{":status", strconv.Itoa(resp.StatusCode)}}
	for _, kv := range sortedHeader(resp.Header) {
		if !hopByHop(kv[0]) {
			h = append(h, [2]string(kv))
		}
	}
	h = append(h, [2]string{"x-envoy-upstream-service-time", strconv.FormatInt(took.Milliseconds(), 10)})
	if resp.ContentLength == 0 {
		onThread(s, func() { s.SendResponseHeaders(h, true) })
		return
	}
	onThread(s, func() { s.SendResponseHeaders(h, false) })
	buf := getBuffer()
	defer putBuffer(buf)
	var read int64
	for {
		n, err := resp.Body.Read(*buf)
		read += int64(n)
		last := err == io.EOF || (resp.ContentLength > 0 && read == resp.ContentLength)
		chunk := (*buf)[:n]
		if n > 0 || last {
			if last && len(resp.Trailer) > 0 {
				t := fromPairs(sortedHeader(resp.Trailer))
				onThread(s, func() { s.SendResponseBody(chunk, false); s.SendResponseTrailers(t) })
				return
			}
			onThread(s, func() { s.SendResponseBody(chunk, last) })
		}
		if last {
			return
		}
		if err != nil {
			p.logf("hostsim proxy: upstream response body: %v", err)
			onThread(s, s.Close)
			return
		}
	}
}

// upstreamFailed answers as Envoy's router does when the upstream cannot be reached.
func (p *Proxy) upstreamFailed(s *Stream, err error) {
	p.logf("hostsim proxy: upstream: %v", err)
	body := connectFailure(err)
	h := Headers{{":status", "503"}, {"content-length", strconv.Itoa(len(body))}, {"content-type", "text/plain"}}
	onThread(s, func() { s.SendResponseHeaders(h, false); s.SendResponseBody([]byte(body), true) })
}

// respond writes what the filter lets through to the client until the response ends.
func (p *Proxy) respond(ctx context.Context, s *Stream, w http.ResponseWriter) error {
	flusher, _ := w.(http.Flusher)
	wroteHeader := false
	off := 0
	for {
		s.v.mu.Lock()
		m := Message{Body: s.down.body[off:], End: s.down.end}
		if !wroteHeader { // the headers are copied once, when they have come
			m.Headers = fromPairs(s.down.headers.Pairs())
		}
		if m.End {
			m.Trailers = fromPairs(s.down.trailers.Pairs())
		}
		done, reset, ch := s.done, s.reset, s.changedChan()
		requestIncomplete := !s.req.inputEnded
		body := m.Body
		s.v.mu.Unlock()
		if m.Headers != nil && !wroteHeader {
			wroteHeader = true
			if requestIncomplete && done {
				stopReading(w)
			}
			status := http.StatusOK
			for _, kv := range m.Headers {
				if kv[0] == ":status" {
					status, _ = strconv.Atoi(kv[1])
				} else if !strings.HasPrefix(kv[0], ":") {
					w.Header().Add(kv[0], kv[1])
				}
			}
			// The connection manager's server_name, after the filters, replacing the upstream's.
			w.Header().Set("server", "envoy")
			w.WriteHeader(status)
		}
		if len(body) > 0 && wroteHeader {
			if _, err := w.Write(body); err != nil {
				onThread(s, s.Close)
				return err
			}
			off += len(body)
		}
		if wroteHeader && (len(body) > 0 || m.End) && flusher != nil {
			flusher.Flush()
		}
		if m.End {
			for _, kv := range m.Trailers {
				w.Header().Add(http.TrailerPrefix+kv[0], kv[1])
			}
			if requestIncomplete {
				stopReading(w)
			}
			return nil
		}
		if reset || (done && !m.End) {
			return errStreamReset
		}
		select {
		case <-ch:
		case <-ctx.Done():
			onThread(s, s.Close)
			return ctx.Err()
		}
	}
}

// replyReadGrace bounds how long the rest of a request is still read once it has been answered.
const replyReadGrace = time.Second

// stopReading bounds the reading of a request answered before it arrived whole (a local reply,
// a timeout). net/http reads up to 256 KiB of what is left before it writes the reply, so that a
// client still sending sees the answer; a client that stopped sending (the reason for a 408)
// would hold the reply forever. After the grace the connection closes once the reply is out,
// as Envoy's HTTP/1 codec closes it.
func stopReading(w http.ResponseWriter) {
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(replyReadGrace))
}

func (p *Proxy) logf(format string, args ...any) {
	if p.ErrorLog != nil {
		p.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

func hopByHop(k string) bool {
	switch k {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer":
		return true
	}
	return false
}
