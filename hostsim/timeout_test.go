package hostsim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// A paused stream nobody resumes ends as in Envoy: the stream idle timeout (300 s by default)
// answers "stream timeout", 504 once the client sent the whole request, 408 before.
func TestStreamIdleTimeoutEndsAPausedStream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		complete bool
		status   uint32
	}{
		{"request complete", true, 504},
		{"request incomplete", false, 408},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, vc := newProbe(t, nil)
			s := h.NewStream()
			s.SendRequestHeaders(request("pause-headers"), tc.complete)
			vc.Advance(300*time.Second - time.Nanosecond)
			wantEqual(t, "done before the idle timeout", s.Done(), false)
			wantEqual(t, "active streams", h.ActiveStreams(), 1)
			vc.Advance(time.Nanosecond)
			wantEqual(t, "done", s.Done(), true)
			wantEqual(t, "active streams after", h.ActiveStreams(), 0)
			lr := s.LocalReply()
			if lr == nil {
				t.Fatal("no local reply")
			}
			wantEqual(t, "status", lr.Status, tc.status)
			wantEqual(t, "body", string(lr.Body), "stream timeout")
			wantEqual(t, "details", s.ResponseCodeDetails(), "stream_idle_timeout")
			wantEqual(t, "client status", s.Downstream().Headers.Get(":status"), itoa(tc.status))
		})
	}
}

// Activity in either direction pushes the idle deadline on; silence after the response
// started resets the stream.
func TestStreamIdleTimeoutCountsFromTheLastActivity(t *testing.T) {
	h, vc := newProbe(t, func(c *hostsim.Config) {
		c.StreamIdleTimeout = 10 * time.Second
		c.RouteTimeout = -1
	})
	s := h.NewStream()
	s.SendRequestHeaders(request(""), false)
	for range 5 {
		vc.Advance(9 * time.Second)
		s.SendRequestBody([]byte("x"), false)
	}
	s.SendRequestBody(nil, true)
	vc.Advance(9 * time.Second)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false)
	vc.Advance(9 * time.Second)
	s.SendResponseBody([]byte("part"), false)
	wantEqual(t, "done while active", s.Done(), false)
	vc.Advance(10 * time.Second)
	wantEqual(t, "reset", s.WasReset(), true)
	wantEqual(t, "details", s.ResponseCodeDetails(), "stream_idle_timeout")
	wantEqual(t, "body the client got", string(s.Downstream().Body), "part")
}

// The route timeout (15 s by default) runs from the end of the request to the end of the
// upstream response: 504 "upstream request timeout" before the upstream's headers, a reset
// after them.
func TestRouteTimeout(t *testing.T) {
	t.Run("no response", func(t *testing.T) {
		h, vc := newProbe(t, nil)
		s := h.NewStream()
		s.SendRequestHeaders(request(""), false)
		vc.Advance(time.Minute) // the request is not complete: the route timeout has not started
		s.SendRequestBody([]byte("{}"), true)
		vc.Advance(15*time.Second - time.Nanosecond)
		wantEqual(t, "done", s.Done(), false)
		vc.Advance(time.Nanosecond)
		lr := s.LocalReply()
		if lr == nil {
			t.Fatal("no local reply")
		}
		wantEqual(t, "status", lr.Status, 504)
		wantEqual(t, "body", string(lr.Body), "upstream request timeout")
		wantEqual(t, "details", s.ResponseCodeDetails(), "upstream_response_timeout")
		wantEqual(t, "upstream reset", s.UpstreamReset(), false) // the request had ended
		wantEqual(t, "late upstream answer", s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true), hostsim.NotCalled)
	})
	t.Run("response started", func(t *testing.T) {
		h, vc := newProbe(t, func(c *hostsim.Config) { c.RouteTimeout = 2 * time.Second })
		s := h.NewStream()
		s.SendRequestHeaders(request(""), true)
		vc.Advance(time.Second)
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false)
		vc.Advance(time.Second)
		wantEqual(t, "reset", s.WasReset(), true)
		wantEqual(t, "details", s.ResponseCodeDetails(), "upstream_response_timeout")
	})
	t.Run("response complete", func(t *testing.T) {
		h, vc := newProbe(t, func(c *hostsim.Config) { c.RouteTimeout = 2 * time.Second })
		s := h.NewStream()
		s.SendRequestHeaders(request(""), true)
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
		vc.Advance(time.Hour)
		wantEqual(t, "details", s.ResponseCodeDetails(), "via_upstream")
	})
	t.Run("disabled", func(t *testing.T) {
		h, vc := newProbe(t, func(c *hostsim.Config) { c.RouteTimeout, c.StreamIdleTimeout = -1, -1 })
		s := h.NewStream()
		s.SendRequestHeaders(request("pause-headers"), true)
		vc.Advance(24 * time.Hour)
		wantEqual(t, "done", s.Done(), false)
		s.Close()
	})
}

// Through Proxy, the route timeout of the chosen cluster applies: a slow upstream gets the
// client a 504 at that timeout on the virtual clock, and the upstream request is abandoned.
func TestProxyRouteTimeoutPerCluster(t *testing.T) {
	arrived := make(chan struct{}, 1)
	abandoned := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
		abandoned <- struct{}{}
	}))
	t.Cleanup(up.Close)
	vc := hostsim.NewVirtualClock(epoch)
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: hostsimtest.Plugin(t, "probe"), PluginName: "probe", Clock: vc,
		Clusters: map[string]string{"backend": up.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	front := httptest.NewServer(&hostsim.Proxy{Host: h, DefaultCluster: "backend", ErrorLog: quiet,
		RouteTimeouts: map[string]time.Duration{"backend": 3 * time.Second}})
	t.Cleanup(front.Close)

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(front.URL + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(body), err}
	}()
	<-arrived
	vc.Advance(3*time.Second - time.Nanosecond)
	select {
	case r := <-got:
		t.Fatalf("answered before the route timeout: %+v", r)
	default:
	}
	vc.Advance(time.Nanosecond)
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantEqual(t, "status", r.status, 504)
	wantEqual(t, "body", r.body, "upstream request timeout")
	<-abandoned
}

func itoa(n uint32) string { return strconv.Itoa(int(n)) }

// The request timeout bounds how long the whole request may take to arrive, however steadily
// it trickles in.
func TestRequestTimeout(t *testing.T) {
	h, vc := newProbe(t, func(c *hostsim.Config) { c.RequestTimeout = 10 * time.Second })
	s := h.NewStream()
	s.SendRequestHeaders(request(""), false)
	for range 3 {
		vc.Advance(3 * time.Second)
		s.SendRequestBody([]byte("x"), false)
	}
	wantEqual(t, "done", s.Done(), false)
	vc.Advance(time.Second)
	lr := s.LocalReply()
	if lr == nil {
		t.Fatal("no local reply")
	}
	wantEqual(t, "status", lr.Status, 408)
	wantEqual(t, "body", string(lr.Body), "request timeout")
	wantEqual(t, "details", s.ResponseCodeDetails(), "request_overall_timeout")

	done := h.NewStream()
	done.SendRequestHeaders(request(""), true)
	done.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false)
	vc.Advance(12 * time.Second) // past the request timeout, short of the route timeout
	wantEqual(t, "complete request reset", done.WasReset(), false)
	done.Close()
}

// On the real clock the timeouts fire from the clock's own goroutine: a request the plugin
// holds forever gets its "stream timeout" through Proxy.
func TestProxyIdleTimeoutOnTheRealClock(t *testing.T) {
	_, url := proxyFixture(t, http.NotFoundHandler(), func(c *hostsim.Config) { c.StreamIdleTimeout = 50 * time.Millisecond })
	resp, body := do(t, "GET", url+"/held", "pause-headers", "")
	wantEqual(t, "status", resp.StatusCode, 504)
	wantEqual(t, "body", body, "stream timeout")
}
