package hostsim_test

// The conformance suite: the conform test plugin (testdata/plugins/conform) exercises one
// behaviour per configuration word, and each expectation below states what Envoy documents for
// it, run through the library's streams and, where a client sees it, through Proxy.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

func conform(t *testing.T, words string, adjust func(*hostsim.Config)) (*hostsim.Host, *hostsim.VirtualClock) {
	t.Helper()
	cfg := hostsim.Config{Module: hostsimtest.Plugin(t, "conform"), PluginName: "conform",
		RootID: "conform", VMID: "conform", PluginConfig: []byte(words)}
	if adjust != nil {
		adjust(&cfg)
	}
	return hostsimtest.Start(t, cfg)
}

// conformProxy puts a Proxy with the conform plugin in front of upstream, on the real clock.
func conformProxy(t *testing.T, words string, upstream http.Handler) (*hostsim.Host, string) {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	h, _ := conform(t, words, func(c *hostsim.Config) {
		c.Clock = hostsim.RealClock()
		c.Clusters = map[string]string{"backend": up.URL}
	})
	front := httptest.NewServer(&hostsim.Proxy{Host: h, DefaultCluster: "backend", ErrorLog: quiet})
	t.Cleanup(front.Close)
	return h, front.URL
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func conformLogs(h *hostsim.Host) string {
	return strings.Join(hostsimtest.Messages(h), "\n")
}

// Header edits made in a headers callback reach the upstream (request) and the client
// (response); keys are lower-cased, remove of an absent key is fine.
func TestConformHeaderEdits(t *testing.T) {
	h, _ := conform(t, "headers", nil)
	s := hostsimtest.Send(h, hostsimtest.Exchange{Headers: hostsim.Headers{{"x-drop", "1"}},
		ResponseHeaders: hostsim.Headers{{"x-version", "1"}}})
	up, down := s.Upstream().Headers, s.Downstream().Headers
	wantEqual(t, "upstream x-conform", up.Get("x-conform"), "1")
	wantEqual(t, "upstream x-drop removed", len(up.Values("x-drop")), 0)
	wantEqual(t, "client x-version replaced", strings.Join(down.Values("x-version"), ","), "2")
	wantEqual(t, "client x-conform-response", down.Get("x-conform-response"), "1")

	var seen string
	_, url := conformProxy(t, "headers", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("x-conform") + "/" + r.Header.Get("x-drop")
		w.Header().Set("x-version", "1")
	}))
	resp, _ := get(t, url+"/", "x-drop", "1")
	wantEqual(t, "proxy: upstream saw", seen, "1/")
	wantEqual(t, "proxy: x-version", resp.Header.Get("x-version"), "2")
}

// A body callback's StopIterationAndBuffer makes Envoy buffer: nothing goes upstream, and the
// next call reports the total size with the whole body in the buffer; a plugin that replaces
// the body drops content-length. Continue on every response frame streams it, each frame
// edited on its own.
func TestConformBodyModes(t *testing.T) {
	h, _ := conform(t, "buffer-request stream-response", nil)
	s := h.NewStream()
	s.SendRequestHeaders(hostsim.Headers{{":method", "POST"}, {":path", "/"}, {":authority", "a"}, {"content-length", "11"}}, false)
	wantEqual(t, "first frame", s.SendRequestBody([]byte("hello"), false), hostsim.StopIterationAndBuffer)
	wantEqual(t, "second frame", s.SendRequestBody([]byte(" "), false), hostsim.StopIterationAndBuffer)
	wantEqual(t, "upstream body while buffering", string(s.Upstream().Body), "")
	wantEqual(t, "last frame", s.SendRequestBody([]byte("world"), true), hostsim.Continue)
	wantEqual(t, "upstream body", string(s.Upstream().Body), "<11 bytes>")
	wantEqual(t, "content-length dropped", s.Upstream().Headers.Get("content-length"), "")

	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false)
	s.SendResponseBody([]byte("ab"), false)
	wantEqual(t, "client body after one frame", string(s.Downstream().Body), "ab|")
	s.SendResponseBody([]byte("cd"), true)
	wantEqual(t, "client body", string(s.Downstream().Body), "ab|cd|")
}

// Custom metrics live in Envoy's stats store under "wasmcustom."; stats_tags regexes turn parts
// of the name into tags (the first group removed, the second the value).
func TestConformMetricsWithTags(t *testing.T) {
	h, _ := conform(t, "metrics buffer-request", func(c *hostsim.Config) { c.Workers = 2 })
	for _, m := range []string{"GET", "POST", "POST"} {
		hostsimtest.Send(h, hostsimtest.Exchange{Method: m, Body: []byte("12345")})
	}
	post, ok := h.Metric("conform_requests.method.POST")
	wantEqual(t, "POST counter found", ok, true)
	wantEqual(t, "POST counter (summed over workers)", post.Value, uint64(2))
	size, _ := h.Metric("conform_last_size")
	wantEqual(t, "gauge", size.Value, uint64(5))

	tags, err := hostsim.ParseStatsTags([]byte(`[{"tag_name": "method", "regex": "^wasmcustom\\.conform_requests(\\.method\\.([^.]+))"}]`))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "prometheus", fmtTags(tags.Prometheus(post.Name)), `conform_requests method="POST"`)
}

// A headers Pause holds the request (StopAllIterationAndWatermark) until the plugin calls
// proxy_continue_stream, here from proxy_on_tick, which Envoy runs every tick period on the
// root context.
func TestConformPostponeAndResumeOnTick(t *testing.T) {
	h, vc := conform(t, "postpone", nil)
	s := hostsimtest.Send(h, hostsimtest.Exchange{Path: "/later"})
	wantEqual(t, "paused", s.RequestPaused(), true)
	vc.Advance(999 * time.Millisecond)
	wantEqual(t, "before the tick", s.Upstream().Headers == nil, true)
	vc.Advance(time.Millisecond)
	wantEqual(t, "after the tick", s.Upstream().Headers.Get(":path"), "/later")
	hostsimtest.WantLog(t, h, "conform: resumed 2 err=<nil>")
}

// Shared data is process wide per vm_id, seen by every worker VM; compare-and-swap serializes
// writers. Another plugin instance (a reload, or another filter) on the same vm_id sees the
// same data; another vm_id has its own.
func TestConformSharedDataAcrossVMs(t *testing.T) {
	h, _ := conform(t, "shared", func(c *hostsim.Config) { c.Workers = 2 })
	for i, want := range []string{"1", "2", "3"} {
		s := hostsimtest.Send(h, hostsimtest.Exchange{}, hostsim.OnWorker(i%2))
		wantEqual(t, "x-hits", s.Upstream().Headers.Get("x-hits"), want)
	}
	same, _ := conform(t, "shared", func(c *hostsim.Config) { c.SharedWith = h })
	wantEqual(t, "same vm_id", hostsimtest.Send(same, hostsimtest.Exchange{}).Upstream().Headers.Get("x-hits"), "4")
	other, _ := conform(t, "shared", func(c *hostsim.Config) { c.SharedWith = h; c.VMID = "other" })
	wantEqual(t, "other vm_id", hostsimtest.Send(other, hostsimtest.Exchange{}).Upstream().Headers.Get("x-hits"), "1")
}

// proxy_http_call from proxy_on_tick: the answer comes to proxy_on_http_call_response on the
// root context with the upstream's headers and body.
func TestConformDispatchOnTick(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(up.Close)
	h, vc := conform(t, "dispatch-tick", func(c *hostsim.Config) { c.Clusters = map[string]string{"backend": up.URL} })
	vc.Advance(time.Second)
	if err := h.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	hostsimtest.WantLog(t, h, "conform: tick call dispatched err=<nil>", "conform: tick call answered 204")
}

// Several proxy_http_call from one stream: each answer arrives on its own callback; the
// stream stays paused until the plugin continues it after the last one.
func TestConformSeveralDispatchesPerStream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "answer"+r.URL.Path)
	}))
	t.Cleanup(up.Close)
	h, _ := conform(t, "dispatch-two", func(c *hostsim.Config) { c.Clusters = map[string]string{"backend": up.URL} })
	s := hostsimtest.Send(h, hostsimtest.Exchange{Path: "/x"})
	if err := h.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "upstream after both answers", s.Upstream().Headers.Get(":path"), "/x")
	logs := conformLogs(h)
	for _, want := range []string{`call /one answered "answer/one"`, `call /two answered "answer/two"`, "0 pending"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("no log %q in\n%s", want, logs)
		}
	}
}

// Route properties: xds.route_name is the matched route's name; route_metadata is the route's
// metadata, absent when the route has none (the SDK's properties example answers 401 then).
func TestConformRouteProperties(t *testing.T) {
	h, _ := conform(t, "route", nil)
	s := hostsimtest.Send(h, hostsimtest.Exchange{})
	wantEqual(t, "no metadata", s.LocalReply().Status, uint32(401))
	s = hostsimtest.Send(h, hostsimtest.Exchange{}, hostsim.WithInfo(hostsim.StreamInfo{RouteName: "r1"}),
		hostsim.WithProperty([]string{"route_metadata"}, []byte("\x0a\x00")))
	wantEqual(t, "x-route", s.Upstream().Headers.Get("x-route"), "r1")

	_, url := conformProxy(t, "route", http.NotFoundHandler())
	resp, body := get(t, url+"/")
	wantEqual(t, "proxy, a route without metadata", resp.StatusCode, 401)
	wantEqual(t, "proxy body", body, "no route metadata")
}

// proxy_send_local_response answers the client instead of the upstream. From the request
// phase the upstream never answers; from the response headers it replaces the upstream's
// response; once response headers left for the client Envoy can only reset the stream.
func TestConformLocalReplies(t *testing.T) {
	for _, c := range []struct {
		phase string
		reset bool
	}{{"req-headers", false}, {"req-body", false}, {"resp-headers", false}, {"resp-body", true}} {
		h, _ := conform(t, "reply-"+c.phase, nil)
		s := hostsimtest.Send(h, hostsimtest.Exchange{Method: "POST", Body: []byte("b"),
			ResponseHeaders: hostsim.Headers{{"x-upstream", "1"}}, ResponseBody: []byte("upstream")})
		if c.phase == "req-headers" || c.phase == "req-body" {
			hostsimtest.Respond(s, hostsimtest.Exchange{ResponseBody: []byte("late upstream")})
		}
		if c.reset {
			wantEqual(t, c.phase+": reset", s.WasReset(), true)
			continue
		}
		d := s.Downstream()
		wantEqual(t, c.phase+": status", d.Headers.Get(":status"), "418")
		wantEqual(t, c.phase+": body", string(d.Body), "from "+c.phase)
		wantEqual(t, c.phase+": no upstream header", d.Headers.Get("x-upstream"), "")
		if c.phase == "req-headers" {
			wantEqual(t, "req-headers: upstream untouched", s.Upstream().Headers == nil, true)
		}
	}
	_, url := conformProxy(t, "reply-req-headers", http.NotFoundHandler())
	resp, body := get(t, url+"/")
	wantEqual(t, "proxy status", resp.StatusCode, 418)
	wantEqual(t, "proxy body", body, "from req-headers")
}

// A trap fails the VM: the stream gets 503 (wasm_fail_stream) unless failure_policy is
// FAIL_OPEN, in which case traffic passes as if the filter were absent.
func TestConformTrap(t *testing.T) {
	h, _ := conform(t, "trap headers", nil)
	s := hostsimtest.Send(h, hostsimtest.Exchange{})
	wantEqual(t, "status", s.LocalReply().Status, uint32(503))
	wantEqual(t, "details", s.LocalReply().Details, "wasm_fail_stream")
	wantEqual(t, "VM failed", h.Failed(0), true)

	open, _ := conform(t, "trap headers", func(c *hostsim.Config) { c.FailOpen = true })
	hostsimtest.Send(open, hostsimtest.Exchange{})
	s = hostsimtest.Send(open, hostsimtest.Exchange{Path: "/after"})
	wantEqual(t, "fail open: upstream reached", s.Upstream().Headers.Get(":path"), "/after")
	wantEqual(t, "fail open: filter bypassed", s.Upstream().Headers.Get("x-conform"), "")

	_, url := conformProxy(t, "trap", http.NotFoundHandler())
	resp, _ := get(t, url+"/")
	wantEqual(t, "proxy status", resp.StatusCode, 503)
}

// Every worker's root context registers the same queue (vm_id, name); Envoy keeps one queue
// and posts on_queue_ready to the root context that registered it last.
func TestConformQueueAcrossWorkers(t *testing.T) {
	wasm := hostsimtest.Plugin(t, "queues")
	recv, _ := hostsimtest.Start(t, hostsim.Config{Module: wasm, VMID: "receiver", PluginConfig: []byte("receiver q"), Workers: 2})
	send, _ := hostsimtest.Start(t, hostsim.Config{Module: wasm, VMID: "sender", PluginConfig: []byte("sender receiver q"), Workers: 2, SharedWith: recv})
	for range 4 {
		hostsimtest.Send(send, hostsimtest.Exchange{Path: "/x"})
	}
	n := 0
	for _, e := range recv.Logs() {
		if strings.Contains(e.Message, "queues: received /x") {
			n++
			wantEqual(t, "receiving worker", e.Worker, 1)
		}
	}
	wantEqual(t, "items received", n, 4)
}

// Proxy.RootID sends a client's requests through one of several plugins sharing the VMs.
func TestConformProxyPicksAPlugin(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("x-conform"))
	}))
	t.Cleanup(up.Close)
	h, _ := conform(t, "", func(c *hostsim.Config) {
		c.Clock, c.RootID = hostsim.RealClock(), "plain"
		c.Plugins = []hostsim.Plugin{{Name: "edits", RootID: "edits", Config: []byte("headers")}}
		c.Clusters = map[string]string{"backend": up.URL}
	})
	for rootID, want := range map[string]string{"": "", "plain": "", "edits": "1"} {
		front := httptest.NewServer(&hostsim.Proxy{Host: h, DefaultCluster: "backend", RootID: rootID, ErrorLog: quiet})
		_, body := get(t, front.URL+"/")
		front.Close()
		wantEqual(t, "root_id "+rootID+": upstream x-conform", body, want)
	}
}
