package hostsim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

var defaultHTTPClient = &http.Client{
	// Envoy's async client does not follow redirects.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// httpCallResponse is what on_http_call_response can read through map types 6 and 7 and
// buffer type 4.
type httpCallResponse struct {
	headers, trailers *headermap.Map
	body              []byte
}

// HTTPCall is proxy_http_call as Envoy's Context::httpCall: the call belongs to the root
// context; a negative timeout, an unknown cluster or a request without :method, :path or
// :authority is BAD_ARGUMENT; the body sets content-length. The request runs in the background
// and its response is delivered to the root context's proxy_on_http_call_response on this VM.
func (v *vm) HTTPCall(cluster []byte, headers []headermap.Pair, body []byte, trailers []headermap.Pair, timeoutMillis uint32) (uint32, abi.Status) {
	if int32(timeoutMillis) < 0 {
		return 0, abi.BadArgument
	}
	base, ok := v.h.cfg.Clusters[string(cluster)]
	if !ok {
		return 0, abi.BadArgument
	}
	req := headermap.New(headers)
	method, okM := req.Get(":method")
	path, okP := req.Get(":path")
	authority, okA := req.Get(":authority")
	if !okM || !okP || !okA {
		return 0, abi.BadArgument
	}
	if len(body) > 0 {
		req.Set("content-length", strconv.Itoa(len(body)))
	}
	v.httpCallID += 4 // Envoy's callout ids: low bits 0 for HTTP calls
	token := v.httpCallID
	root := v.rootOf(v.active())
	call := outgoingCall{
		method: method, url: strings.TrimSuffix(base, "/") + path, authority: authority,
		headers: req.Pairs(), body: append([]byte(nil), body...), trailers: trailers,
		timeout: time.Duration(timeoutMillis) * time.Millisecond,
	}
	v.h.calls.Add(1)
	go func() {
		defer v.h.calls.Done()
		resp := call.do(v.h.callCtx, v.h.cfg.HTTPClient)
		v.post(func() { v.deliverHTTPCall(root, token, resp) })
		v.lock()
		v.unlock()
	}()
	return token, abi.OK
}

// deliverHTTPCall is Envoy's onHttpCallSuccess/onHttpCallFailure on the root context.
func (v *vm) deliverHTTPCall(root *pctx, token uint32, resp *httpCallResponse) {
	if v.failed || v.fn.onHTTPCallResponse == nil || v.contexts[root.id] != root {
		return
	}
	nh, nt := 0, 0
	if resp != nil {
		root.httpResponse = resp
		nh, nt = resp.headers.Len(), resp.trailers.Len()
	} else {
		root.statusCode, root.statusMsg = uint32(abi.BrokenConnection), "reset"
	}
	size := 0
	if resp != nil {
		size = len(resp.body)
	}
	v.addAfter(func() {
		root.httpResponse = nil
		root.statusCode, root.statusMsg = 0, ""
	})
	v.invoke(root, "proxy_on_http_call_response", v.fn.onHTTPCallResponse,
		uint64(root.id), uint64(token), uint64(nh), uint64(size), uint64(nt))
	v.finishCall()
}

type outgoingCall struct {
	method, url, authority string
	headers, trailers      []headermap.Pair
	body                   []byte
	timeout                time.Duration
}

// do performs the request; transport failures become the responses Envoy's router would
// produce (503 connect error, 504 timeout), a reset (nil) only when the call is cancelled.
func (c outgoingCall) do(ctx context.Context, client HTTPDoer) *httpCallResponse {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, bytes.NewReader(c.body))
	if err != nil {
		return localResponse(503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure")
	}
	req.Host = c.authority
	req.ContentLength = int64(len(c.body))
	for _, p := range c.headers {
		switch {
		case strings.HasPrefix(p[0], ":"), p[0] == "host", p[0] == "content-length":
		default:
			req.Header.Add(p[0], p[1])
		}
	}
	if len(c.trailers) > 0 {
		req.Trailer = http.Header{}
		for _, p := range c.trailers {
			req.Trailer.Add(p[0], p[1])
		}
		req.ContentLength = -1
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return localResponse(504, "upstream request timeout")
		case errors.Is(err, context.Canceled):
			return nil
		}
		return localResponse(503, connectFailure(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return localResponse(504, "upstream request timeout")
		}
		return nil
	}
	h := headermap.New([]headermap.Pair{{":status", strconv.Itoa(resp.StatusCode)}})
	for _, kv := range sortedHeader(resp.Header) {
		h.Add(kv[0], kv[1])
	}
	h.Add("x-envoy-upstream-service-time", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
	t := headermap.New(nil)
	for _, kv := range sortedHeader(resp.Trailer) {
		t.Add(kv[0], kv[1])
	}
	return &httpCallResponse{headers: h, trailers: t, body: body}
}

func localResponse(code int, body string) *httpCallResponse {
	return &httpCallResponse{
		headers: headermap.New([]headermap.Pair{
			{":status", strconv.Itoa(code)},
			{"content-length", strconv.Itoa(len(body))},
			{"content-type", "text/plain"},
		}),
		trailers: headermap.New(nil),
		body:     []byte(body),
	}
}
