package hostsimtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// Epoch is the time a virtual clock started by Start shows first.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Start starts cfg's plugin on a virtual clock (unless cfg.Clock is set) and closes it when the
// test ends. The clock is cfg.Clock's when that is a *hostsim.VirtualClock, else a new one.
func Start(t testing.TB, cfg hostsim.Config) (*hostsim.Host, *hostsim.VirtualClock) {
	t.Helper()
	vc, _ := cfg.Clock.(*hostsim.VirtualClock)
	if cfg.Clock == nil {
		vc = hostsim.NewVirtualClock(Epoch)
		cfg.Clock = vc
	}
	h, err := hostsim.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return h, vc
}

// Exchange is one HTTP exchange sent through a stream: the request as the client sends it and,
// unless the filter answers locally first, the response the upstream gives.
type Exchange struct {
	Method, Path, Authority string // default GET, /, example.com
	Headers                 hostsim.Headers
	Body                    []byte // sent as one frame; none when nil

	// Response is the upstream's answer (default 200, no headers, no body).
	Status          string
	ResponseHeaders hostsim.Headers
	ResponseBody    []byte
}

// Send runs x through a new stream: request headers and body, then, if the filter let the
// request reach the upstream and gave no local reply, the upstream's response. The returned
// stream tells the rest: s.Upstream(), s.Downstream(), s.LocalReply(), s.Callbacks().
func Send(h *hostsim.Host, x Exchange, opts ...hostsim.StreamOption) *hostsim.Stream {
	s := h.NewStream(opts...)
	s.SendRequestHeaders(x.requestHeaders(), x.Body == nil)
	if x.Body != nil {
		s.SendRequestBody(x.Body, true)
	}
	if s.LocalReply() != nil || s.Done() || !s.Upstream().End {
		return s // answered locally, reset, or still paused: the caller decides
	}
	Respond(s, x)
	return s
}

// Respond plays the upstream's part of x on s (for a stream that was paused when Send returned).
func Respond(s *hostsim.Stream, x Exchange) {
	status := x.Status
	if status == "" {
		status = "200"
	}
	rh := append(hostsim.Headers{{":status", status}}, x.ResponseHeaders...)
	s.SendResponseHeaders(rh, x.ResponseBody == nil)
	if x.ResponseBody != nil {
		s.SendResponseBody(x.ResponseBody, true)
	}
}

func (x Exchange) requestHeaders() hostsim.Headers {
	or := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	hs := hostsim.Headers{{":method", or(x.Method, "GET")}, {":scheme", "http"},
		{":path", or(x.Path, "/")}, {":authority", or(x.Authority, "example.com")}}
	return append(hs, x.Headers...)
}

// Messages are the text of the plugin's log lines (host lines excluded), oldest first; with
// levels, only those levels.
func Messages(h *hostsim.Host, levels ...hostsim.LogLevel) []string {
	var out []string
	for _, e := range h.Logs(levels...) {
		if !e.Host {
			out = append(out, e.Message)
		}
	}
	return out
}

// WantLog fails the test unless some plugin log line contains each of substrs.
func WantLog(t testing.TB, h *hostsim.Host, substrs ...string) {
	t.Helper()
	msgs := Messages(h)
	for _, want := range substrs {
		found := false
		for _, m := range msgs {
			if strings.Contains(m, want) {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("no plugin log line contains %q; the plugin logged:\n  %s", want, strings.Join(msgs, "\n  "))
		}
	}
}

// NoLog fails the test if a plugin log line contains substr.
func NoLog(t testing.TB, h *hostsim.Host, substr string) {
	t.Helper()
	for _, m := range Messages(h) {
		if strings.Contains(m, substr) {
			t.Fatalf("plugin log line %q contains %q", m, substr)
		}
	}
}
