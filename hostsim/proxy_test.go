package hostsim_test

import (
	"bufio"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

var quiet = log.New(io.Discard, "", 0)

// proxyFixture runs the probe plugin behind a Proxy in front of upstream.
func proxyFixture(t *testing.T, upstream http.Handler, adjust func(*hostsim.Config)) (*hostsim.Host, string) {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	cfg := hostsim.Config{
		Module: hostsimtest.Plugin(t, "probe"), PluginName: "probe",
		Clusters: map[string]string{"backend": up.URL},
	}
	if adjust != nil {
		adjust(&cfg)
	}
	h, err := hostsim.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	front := httptest.NewServer(&hostsim.Proxy{Host: h, DefaultCluster: "backend", ErrorLog: quiet})
	t.Cleanup(front.Close)
	return h, front.URL
}

func do(t *testing.T, method, url, probe, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body == "" {
		req.Body = http.NoBody
	}
	req.Header.Set("x-probe", probe)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestProxyPassesThroughTheFilter(t *testing.T) {
	var seen atomic.Value
	h, url := proxyFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("x-forwarded-proto"))
		w.Header().Set("content-type", "text/plain")
		io.WriteString(w, "hello from upstream")
	}), nil)
	resp, body := do(t, "GET", url+"/v1/models?x=1", "", "")
	wantEqual(t, "status", resp.StatusCode, 200)
	wantEqual(t, "body", body, "hello from upstream")
	wantEqual(t, "plugin response header", resp.Header.Get("x-probe-resp"), "1")
	wantEqual(t, "upstream saw", seen.Load().(string), "GET /v1/models?x=1 http")
	findLog(t, h, "req-headers ctx=2")
}

func TestProxyRewritesTheRequestBody(t *testing.T) {
	var got atomic.Value
	_, url := proxyFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
	}), nil)
	resp, _ := do(t, "POST", url+"/v1/chat", "buffer-request,strip-cl,body-write=replace", `{"long":"original body"}`)
	wantEqual(t, "status", resp.StatusCode, 200)
	wantEqual(t, "upstream body", got.Load().(string), "REPLACED")
}

func TestProxyLocalReplyNeverReachesTheUpstream(t *testing.T) {
	var calls atomic.Int32
	_, url := proxyFixture(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }), nil)
	resp, body := do(t, "POST", url+"/x", "local-reply=req-headers", "payload")
	wantEqual(t, "status", resp.StatusCode, 403)
	wantEqual(t, "body", body, `{"denied":true}`)
	wantEqual(t, "reply header", resp.Header.Get("x-probe-reply"), "1")
	wantEqual(t, "upstream calls", calls.Load(), int32(0))
}

func TestProxyHoldsAPausedRequestUntilTheTickResumesIt(t *testing.T) {
	var at atomic.Int64
	_, url := proxyFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at.Store(time.Now().UnixNano())
	}), func(c *hostsim.Config) { c.PluginConfig = []byte(`{"tick_ms": 50}`) })
	start := time.Now()
	resp, _ := do(t, "GET", url+"/slow", "resume-on-tick", "")
	wantEqual(t, "status", resp.StatusCode, 200)
	if waited := time.Duration(at.Load() - start.UnixNano()); waited < 40*time.Millisecond {
		t.Fatalf("upstream reached after %v, before the tick", waited)
	}
}

func TestProxyStreamsTheResponseChunkByChunk(t *testing.T) {
	release := make(chan struct{})
	_, url := proxyFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release // the second event only comes after the client saw the first
		io.WriteString(w, "data: two\n\n")
	}), nil)
	resp, err := http.Get(url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	line, _ := rd.ReadString('\n')
	wantEqual(t, "first event", line, "data: one\n")
	close(release)
	rest, _ := io.ReadAll(rd)
	wantEqual(t, "second event", string(rest), "\ndata: two\n\n")
}

func TestProxyResponseTrailers(t *testing.T) {
	_, url := proxyFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "x-usage")
		io.WriteString(w, "body")
		w.Header().Set("x-usage", "42")
	}), nil)
	resp, body := do(t, "GET", url+"/t", "", "")
	wantEqual(t, "body", body, "body")
	wantEqual(t, "trailer", resp.Trailer.Get("x-usage"), "42")
}

func TestProxyUpstreamProblemsAre503(t *testing.T) {
	h, url := proxyFixture(t, http.NotFoundHandler(), func(c *hostsim.Config) {
		c.Clusters["down"] = "http://127.0.0.1:1"
	})
	front := httptest.NewServer(&hostsim.Proxy{Host: h, ClusterHeader: "x-cluster", ErrorLog: quiet})
	defer front.Close()
	for _, tt := range []struct{ cluster, body string }{
		{"down", "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, " +
			"transport failure reason: delayed connect error: Connection refused"},
		{"nope", ""},
	} {
		req, _ := http.NewRequest("GET", front.URL+"/", nil)
		req.Header.Set("x-cluster", tt.cluster)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantEqual(t, "status for "+tt.cluster, resp.StatusCode, 503)
		wantEqual(t, "body for "+tt.cluster, string(b), tt.body)
		wantEqual(t, "plugin saw the 503", resp.Header.Get("x-probe-resp"), "1")
	}
	_ = url
}

func TestProxyResetIsAnAbortedResponse(t *testing.T) {
	_, url := proxyFixture(t, http.NotFoundHandler(), nil)
	req, _ := http.NewRequest("GET", url+"/", nil)
	req.Header.Set("x-probe", "close=req-headers")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d), want the connection aborted", resp.StatusCode)
	}
}

func TestProxyClientGoneWhilePaused(t *testing.T) {
	h, url := proxyFixture(t, http.NotFoundHandler(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/", nil)
	req.Header.Set("x-probe", "pause-headers")
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("paused request answered")
	}
	// The stream is torn down: proxy_on_log runs for it.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range probeLogs(h) {
			if strings.HasPrefix(l, "log ctx=2") {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("stream never ended after the client left")
}

// callbackGoroutines sends three requests (method, body) through Proxy on one client connection
// and returns, per goroutine that ran the probe's request- and response-header callbacks, the
// callbacks it ran, and the goroutines that ran Proxy.ServeHTTP (the connection's).
func callbackGoroutines(t *testing.T, method, body string) (callbacks map[string][]string, handlers map[string]bool) {
	var mu sync.Mutex
	callbacks, handlers = map[string][]string{}, map[string]bool{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(up.Close)
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: hostsimtest.Plugin(t, "probe"), PluginName: "probe", Workers: 1,
		Clusters: map[string]string{"backend": up.URL},
		OnLog: func(e hostsim.LogEntry) {
			for _, cb := range []string{"probe: req-headers", "probe: resp-headers"} {
				if strings.HasPrefix(e.Message, cb) {
					mu.Lock()
					callbacks[currentGoroutine()] = append(callbacks[currentGoroutine()], cb)
					mu.Unlock()
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	proxy := &hostsim.Proxy{Host: h, DefaultCluster: "backend", ErrorLog: quiet}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		handlers[currentGoroutine()] = true
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	for range 3 {
		resp, _ := do(t, method, front.URL+"/v1/models", "", body)
		wantEqual(t, "status", resp.StatusCode, 200)
	}
	mu.Lock()
	defer mu.Unlock()
	return callbacks, handlers
}

// A request with a body has its callbacks run on the worker's own goroutine, as Envoy runs them
// on the worker thread: the goroutines Proxy makes per request (reading the body, calling the
// upstream) never call into the module, where each would grow its stack on every request.
func TestProxyRunsCallbacksOnTheWorkersGoroutine(t *testing.T) {
	callbacks, handlers := callbackGoroutines(t, "POST", "{}")
	if len(callbacks) != 1 {
		t.Fatalf("callbacks ran on %d goroutines, want the worker's one: %v", len(callbacks), callbacks)
	}
	for g, cbs := range callbacks {
		wantEqual(t, "callbacks on the worker's goroutine", len(cbs), 6)
		wantEqual(t, "the worker's goroutine is the connection's", handlers[g], false)
	}
}

// A headers-only request runs wholly on its connection's goroutine (the one that serves it):
// filter, upstream call and answer, with nothing handed between goroutines.
func TestProxyRunsAHeadersOnlyRequestOnItsConnection(t *testing.T) {
	callbacks, handlers := callbackGoroutines(t, "GET", "")
	if len(callbacks) != 1 || len(handlers) != 1 {
		t.Fatalf("callbacks ran on %v, requests were served on %v: want one connection's goroutine", callbacks, handlers)
	}
	for g, cbs := range callbacks {
		wantEqual(t, "callbacks on the connection's goroutine", len(cbs), 6)
		wantEqual(t, "the goroutine that served the requests", handlers[g], true)
	}
}

// currentGoroutine is "goroutine N", naming the calling goroutine.
func currentGoroutine() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(string(buf), " [")
	return id
}
