package devgateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// What envoy/envoy.yaml's route configuration does, for hostsim.Proxy.

const (
	// clusterHeader is the request header the filter sets and the route's cluster_header.
	clusterHeader = "x-stepgate-cluster"
	// unroutedCluster stands for envoy.yaml's catch-all route: its "upstream" is answered by
	// upstreamTransport itself with the route's direct_response.
	unroutedCluster = "stepgate_dev_unrouted"
	unroutedHost    = "unrouted.stepgate-dev.invalid"
	unroutedURL     = "http://" + unroutedHost
	// unroutedBody is envoy.yaml's direct_response body, byte for byte.
	unroutedBody = `{"error":{"message":"stepgate: no provider route for this request","type":"invalid_request_error","param":null,"code":"route_not_found"}}`
)

// providerClusterName is the route's header match: only provider clusters can be selected.
// Envoy's safe_regex string_match matches the whole value.
var providerClusterName = regexp.MustCompile(`^provider_[a-z0-9_]+$`)

// internalHeaders are envoy.yaml's request_headers_to_remove: providers never see them.
var internalHeaders = []string{"x-stepgate-cluster", "x-stepgate-tenant", "x-stepgate-model", "x-stepgate-token-estimate"}

// route picks the cluster for the request headers as the filter forwarded them.
func (g *Gateway) route(h hostsim.Headers) string {
	v, ok := h.Lookup(clusterHeader)
	return g.routeCluster(v, ok)
}

func (g *Gateway) routeCluster(v string, ok bool) string {
	ok = ok && g.cfg.stepgate() // envoy.yaml's cluster_header routes
	switch {
	case ok && providerClusterName.MatchString(v):
		return v // route "provider": cluster_header
	case ok && mcpClusterName.MatchString(v):
		return v // route "mcp": cluster_header
	case g.cfg.DefaultCluster != "":
		return g.cfg.DefaultCluster
	}
	return unroutedCluster // envoy.yaml's route "unrouted" (direct_response 404), or no route
}

// upstreamTransport is the router's side of the upstream request: it removes the internal
// headers, answers the catch-all route and records the cluster for the access log.
type upstreamTransport struct {
	g    *Gateway
	base http.RoundTripper
}

func (t *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rec, ok := req.Context().Value(accessLogKey{}).(*accessLogger); ok {
		v, present := "", false
		if vs := req.Header.Values(clusterHeader); len(vs) > 0 {
			v, present = vs[0], true
		}
		if c := t.g.routeCluster(v, present); c != unroutedCluster {
			rec.setCluster(c)
		}
	}
	if req.URL.Host == unroutedHost {
		if !t.g.cfg.stepgate() {
			return notFound(req, "", ""), nil
		}
		return notFound(req, "application/json", unroutedBody), nil
	}
	// A shallow copy with its own header map: the request's Trailer map must stay shared,
	// hostsim.Proxy fills it while the body streams.
	out := *req
	out.Header = req.Header.Clone()
	if t.g.cfg.stepgate() {
		for _, h := range internalHeaders {
			out.Header.Del(h)
		}
	}
	return t.base.RoundTrip(&out)
}

// notFound is a 404 with body: envoy.yaml's catch-all direct_response, or (empty body, no
// content type) the answer of Envoy's router to a request no route matches. Like Envoy's, it
// passes through the filter's response callbacks.
func notFound(req *http.Request, contentType, body string) *http.Response {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status: "404 Not Found", StatusCode: http.StatusNotFound,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req,
	}
}

// The connection manager's part of a request (before the filter sees it).

// normalizeRequestPath applies normalize_path and merge_slashes: dot segments are resolved
// (RFC 3986 section 5.2.4) and runs of slashes merged, on the escaped path.
func normalizeRequestPath(r *http.Request) {
	p := r.URL.EscapedPath()
	n := normalizePath(p)
	if n == p {
		return
	}
	u, err := url.Parse(n)
	if err != nil {
		return
	}
	r.URL.Path, r.URL.RawPath = u.Path, u.RawPath
}

func normalizePath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	n := "/" + strings.Join(out, "/")
	if last := segs[len(segs)-1]; (last == "" || last == "." || last == "..") && len(out) > 0 {
		n += "/"
	}
	return n
}

// appendForwardedFor adds the client's address to x-forwarded-for (use_remote_address: true)
// and gives the request an x-request-id when it has none, as Envoy's connection manager does.
func appendForwardedFor(r *http.Request) {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			host = strings.Join(prior, ", ") + ", " + host
		}
		r.Header.Set("X-Forwarded-For", host)
	}
	if r.Header.Get("X-Request-Id") == "" {
		r.Header.Set("X-Request-Id", newUUID())
	}
}

// newUUID is a random (version 4) UUID, the form of Envoy's x-request-id.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// The access log: envoy.yaml's json_format fields.

type accessLogKey struct{}

type accessLogger struct {
	http.ResponseWriter
	start  time.Time
	mu     sync.Mutex
	status int
	step   string
	wrote  bool
	cl     string
}

func (a *accessLogger) WriteHeader(code int) {
	a.mu.Lock()
	if !a.wrote {
		a.wrote, a.status, a.step = true, code, a.Header().Get("X-Stepgate-Step")
	}
	a.mu.Unlock()
	a.ResponseWriter.WriteHeader(code)
}

func (a *accessLogger) Write(b []byte) (int, error) {
	a.mu.Lock()
	if !a.wrote {
		a.wrote, a.step = true, a.Header().Get("X-Stepgate-Step")
	}
	a.mu.Unlock()
	return a.ResponseWriter.Write(b)
}

// Flush keeps hostsim.Proxy's chunk-by-chunk streaming.
func (a *accessLogger) Flush() {
	if f, ok := a.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (a *accessLogger) Unwrap() http.ResponseWriter { return a.ResponseWriter }

func (a *accessLogger) setCluster(c string) {
	a.mu.Lock()
	a.cl = c
	a.mu.Unlock()
}

func (a *accessLogger) withContext(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), accessLogKey{}, a))
}

func (a *accessLogger) log(logf func(string, ...any), r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	status, flags := a.status, "-"
	if !a.wrote {
		status, flags = 0, "DR" // no response: the stream was reset
	}
	line, _ := json.Marshal(struct {
		Time       string `json:"time"`
		Method     string `json:"method"`
		Path       string `json:"path"`
		Status     int    `json:"status"`
		Flags      string `json:"flags"`
		DurationMs int64  `json:"duration_ms"`
		Cluster    string `json:"cluster"`
		Step       string `json:"step"`
		RequestID  string `json:"request_id"`
	}{
		a.start.UTC().Format(time.RFC3339Nano), r.Method, r.URL.RequestURI(), status, flags,
		time.Since(a.start).Milliseconds(), orDash(a.cl), orDash(a.step), r.Header.Get("X-Request-Id"),
	})
	logf("%s", line)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
