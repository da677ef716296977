package hostsim_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

func TestHTTPCallToANamedCluster(t *testing.T) {
	var got struct {
		method, path, host, from, body, trailer, contentLength string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.path, got.host, got.from, got.body = r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("x-from"), string(b)
		got.trailer = r.Trailer.Get("x-req-trailer")
		w.Header().Set("Trailer", "x-resp-trailer")
		w.Header().Set("x-answer", "42")
		w.Write([]byte("pong"))
		w.Header().Set("x-resp-trailer", "done")
	}))
	defer srv.Close()
	h, _ := newProbe(t, func(c *hostsim.Config) { c.Clusters = map[string]string{"callout": srv.URL} })
	s := h.NewStream()
	wantEqual(t, "paused for the callout", s.SendRequestHeaders(request("http-call=callout"), true), hostsim.StopAllIterationAndWatermark)
	findLog(t, h, "http-call dispatched id=4 err=<nil>")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "method", got.method, "POST")
	wantEqual(t, "path", got.path, "/callout?x=1")
	wantEqual(t, "authority", got.host, "callout.local")
	wantEqual(t, "header", got.from, "probe")
	wantEqual(t, "body", got.body, "ping")
	wantEqual(t, "request trailer", got.trailer, "t")
	line := findLog(t, h, "http-call response ")
	for _, want := range []string{"status=200", `body="pong"`, `trailers=[["x-resp-trailer" "done"]]`, "errs=<nil>,<nil>,<nil>", "size=4 nt=1"} {
		if !strings.Contains(line, want) {
			t.Fatalf("response line %q lacks %q", line, want)
		}
	}
	findLog(t, h, "http-call resumed err=<nil>")
	up := s.Upstream()
	wantEqual(t, "header added from the callback", up.Headers.Get("x-callout-status"), "200")
	wantEqual(t, "end", up.End, true)
}

func TestHTTPCallBadArguments(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) { c.Clusters = map[string]string{"callout": "http://127.0.0.1:1"} })
	s := h.NewStream()
	s.SendRequestHeaders(request("http-call-bad"), true)
	findLog(t, h, "http-call-bad unknown="+errBad+" nopath="+errBad)
}

func TestHTTPCallConnectionFailureIs503(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	h, _ := newProbe(t, func(c *hostsim.Config) { c.Clusters = map[string]string{"callout": "http://" + addr} })
	s := h.NewStream()
	s.SendRequestHeaders(request("http-call=callout"), true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.WaitIdle(ctx)
	line := findLog(t, h, "http-call response ")
	if !strings.Contains(line, "status=503") || !strings.Contains(line, "upstream connect error") ||
		!strings.Contains(line, "delayed connect error: Connection refused") {
		t.Fatalf("line = %q", line)
	}
	wantEqual(t, "resumed", s.Upstream().Headers.Get("x-callout-status"), "503")
}

func TestProperties(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream(hostsim.WithInfo(hostsim.StreamInfo{
		SourceAddress: "10.1.2.3:4567", DestinationAddress: "10.0.0.1:443", RouteName: "chat", ClusterName: "openai",
		ConnectionID: 77,
	}))
	s.SendRequestHeaders(request("props", [2]string{"user-agent", "curl/8"}), true)
	le := func(n uint64) string { return fmt.Sprintf("%q", binary.LittleEndian.AppendUint64(nil, n)) }
	for _, want := range []string{
		`prop request.path="/v1/models?limit=2" err=<nil>`,
		`prop request.url_path="/v1/models" err=<nil>`,
		`prop request.method="GET" err=<nil>`,
		`prop request.scheme="http" err=<nil>`,
		`prop request.host="api.example.com" err=<nil>`,
		`prop request.id="req-1" err=<nil>`,
		`prop request.protocol="HTTP/1.1" err=<nil>`,
		`prop request.query="limit=2" err=<nil>`,
		`prop request.useragent="curl/8" err=<nil>`,
		`prop request.headers.x-probe="props" err=<nil>`,
		`prop source.address="10.1.2.3:4567" err=<nil>`,
		`prop source.port=` + le(4567) + ` err=<nil>`,
		`prop destination.address="10.0.0.1:443" err=<nil>`,
		`prop destination.port=` + le(443) + ` err=<nil>`,
		`prop plugin_name="probe" err=<nil>`,
		`prop plugin_root_id="probe_root" err=<nil>`,
		`prop plugin_vm_id="probe_vm" err=<nil>`,
		`prop xds.route_name="chat" err=<nil>`,
		`prop xds.cluster_name="openai" err=<nil>`,
		`prop connection_id=` + le(77) + ` err=<nil>`,
		`prop connection.id=` + le(77) + ` err=<nil>`,
		`prop request.time=` + le(uint64(epoch.UnixNano())) + ` err=<nil>`,
		`prop response.code="" err=` + errNotFound,
		`prop nonexistent="" err=` + errNotFound,
		`prop request.nothing="" err=` + errNotFound,
	} {
		findLog(t, h, want)
	}
}

func TestSetPropertyIsFilterState(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("set-prop"), true)
	// A one-segment path reads back; a longer one is stored under the NUL-joined path, which
	// get_property cannot reach (Envoy looks up the first segment only).
	findLog(t, h, `set-prop err=<nil> get="abc" err=<nil> fs="abc" err=<nil> two=<nil> get2="" err=`+errNotFound)
	v, ok := s.FilterState("probe_state")
	wantEqual(t, "filter state", string(v)+fmt.Sprint(ok), "abctrue")
	v2, ok2 := s.FilterState("two", "segs")
	wantEqual(t, "two segments", string(v2)+fmt.Sprint(ok2), "xtrue")
}

// Envoy forgets the request headers once they continued: the response callbacks cannot read
// them (header maps answer BAD_ARGUMENT, attributes NOT_FOUND), proxy_on_log can again.
func TestRequestHeadersAreGoneInTheResponsePath(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("read-req-in-resp"), true)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
	findLog(t, h, `request path in response: "" err=`+errBad)
	findLog(t, h, `request.path in response: "" err=`+errNotFound)
	findLog(t, h, `log ctx=2 path="/v1/models?limit=2" err=<nil>`)
}

func TestHeaderMapOperations(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("headers-ops",
		[2]string{"x-replace", "old1"}, [2]string{"x-replace", "old2"}, [2]string{"x-remove", "1"}, [2]string{"x-remove", "2"}), false)
	findLog(t, h, `headers-ops remove-absent=<nil> get-absent=`+errNotFound+` dup="a" count=11`)
	wantStrings(t, "forwarded headers", headerLines(s.Upstream().Headers), []string{
		":method: GET", ":scheme: http", ":path: /v1/models?limit=2", ":authority: api.example.com",
		"x-request-id: req-1", "x-probe: headers-ops",
		"x-replace: new", "x-replace: old2", // replace changes the first entry only
		"x-added: 1", "x-dup: a", "x-dup: b",
	})
	s.SendRequestTrailers(hostsim.Headers{{"x-t", "1"}})
	findLog(t, h, "trailer-add err=<nil>")
	wantStrings(t, "trailers", headerLines(s.Upstream().Trailers), []string{"x-t: 1", "x-trailer-added: yes"})
}

// proxy_set_header_map_pairs replaces the whole map; keys are lower-cased like every add.
func TestSetHeaderMapPairs(t *testing.T) {
	h, _ := newProbe(t, nil)
	s := h.NewStream()
	s.SendRequestHeaders(request("set-pairs"), true)
	findLog(t, h, "set-pairs err=<nil>")
	wantStrings(t, "forwarded headers", headerLines(s.Upstream().Headers), []string{
		":method: PUT", ":path: /set", ":authority: pairs.example", "x-set: 1", "x-set: 2",
	})
}

func TestSharedDataCASAcrossWorkers(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) { c.Workers = 3 })
	for i := 0; i < 9; i++ {
		h.NewStream().SendRequestHeaders(request("shared-inc"), true)
	}
	v, cas, ok := h.SharedData("counter")
	wantEqual(t, "present", ok, true)
	wantEqual(t, "counter", binary.LittleEndian.Uint64(v), uint64(9))
	wantEqual(t, "cas", cas, uint32(9)) // cas values start at 1, one per successful set
	findLog(t, h, "shared counter=1 cas-was=0 retries=0")
	findLog(t, h, "shared counter=2 cas-was=1 retries=0")
}

func TestSharedQueueNotifiesTheRegisteringRoot(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) {
		c.Workers = 2
		c.PluginConfig = []byte(`{"queue": "jobs"}`)
	})
	// Canary and both workers register the same queue: token 1 each time.
	n := 0
	for _, l := range probeLogs(h) {
		if l == "queue registered jobs id=1 err=<nil>" {
			n++
		}
	}
	wantEqual(t, "registrations", n, 3)
	s := h.NewStream(hostsim.OnWorker(0))
	s.SendRequestHeaders(request("enqueue=jobs"), true)
	findLog(t, h, "enqueue jobs id=1 err=<nil>")
	// The last worker to register (1) gets on_queue_ready, after the enqueuing call returned.
	var ready []hostsim.LogEntry
	for _, e := range h.Logs() {
		if strings.HasPrefix(e.Message, "probe: queue ready 1 item=") {
			ready = append(ready, e)
		}
	}
	if len(ready) != 1 || ready[0].Worker != 1 || ready[0].Message != `probe: queue ready 1 item="hello from 2"` {
		t.Fatalf("queue ready lines = %+v", ready)
	}
	findLog(t, h, "queue ready 1 drained err=error status returned by host: empty")
	wantEqual(t, "host enqueue", h.Enqueue("probe_vm", "jobs", []byte("from the test")), true)
	findLog(t, h, `queue ready 1 item="from the test"`)
	wantEqual(t, "unknown queue", h.Enqueue("probe_vm", "nope", nil), false)
}

func TestMetricsAggregateAcrossWorkers(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) { c.Workers = 2 })
	for i := 0; i < 4; i++ {
		s := h.NewStream()
		s.SendRequestHeaders(request("buffer-request"), false)
		s.SendRequestBody([]byte(strings.Repeat("x", i+1)), true)
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
	}
	m, ok := h.Metric("probe_requests")
	wantEqual(t, "counter", fmt.Sprintf("%v %s %d", ok, m.Type, m.Value), "true counter 4")
	g, _ := h.Metric("probe_inflight")
	wantEqual(t, "gauge back to zero", fmt.Sprintf("%s %d", g.Type, g.Value), "gauge 0")
	hist, _ := h.Metric("probe_body_size")
	wantEqual(t, "histogram", fmt.Sprintf("%s %v", hist.Type, hist.Samples), "histogram [1 2 3 4]")
}

// The exact statuses of host calls the SDK hides behind errors or panics.
func TestHostCallStatuses(t *testing.T) {
	h, vc := newProbe(t, func(c *hostsim.Config) {
		c.VMConfig = []byte("vm")
		c.Clusters = map[string]string{"callout": "http://127.0.0.1:1"}
	})
	vc.Advance(time.Second)
	s := h.NewStream()
	s.SendRequestHeaders(request("raw"), false)
	want := map[string]string{
		"log-level-6": "2", "log-level-5": "0",
		"map-type-8": "2", "map-missing-key": "1", "map-callout-pairs": "0", "map-callout-pairs-size": "0",
		"map-callout-value": "2", "map-callout-add": "2", "map-resp-headers-value": "2", "map-size": "0",
		"buffer-type-9": "2", "buffer-plugin-config": "1", "buffer-callout-body": "1", "buffer-vm-config": "0",
		"buffer-vm-config-write": "2", "buffer-status-request": "0", "buffer-request-body-empty": "0",
		"buffer-request-body-write": "2",
		"continue-type-4":           "2", "continue-upstream": "12", "continue-downstream": "0", "close-downstream": "0",
		"define-type-3": "2", "counter-id": "8", "counter-inc-0": "2", "counter-inc-neg": "2", "counter-inc-5": "0",
		"counter-record-2": "0", "counter-value": "7", "gauge-id": "9", "hist-id": "10", "gauge-inc-neg": "0",
		"gauge-value-low32": "4294967293", "gauge-record": "0", "gauge-value": "7", "hist-inc": "2", "hist-get": "2",
		"hist-record": "0", "metric-unknown-inc": "1", "metric-unknown-get": "1", "metric-unknown-record": "1",
		"effective-unknown": "2", "effective-zero": "0", "done-not-pending": "1",
		"foreign-unknown": "1", "foreign-sign": "12", "foreign-compress": "0", "foreign-uncompress": "0",
		"foreign-roundtrip-equal":   "1",
		"http-call-unknown-cluster": "2", "http-call-no-authority": "2", "http-call-negative-timeout": "2",
		"property-empty": "3", "property-unknown": "1", "property-bad-memory": "6",
		"shared-stale-cas": "8", "shared-good-cas": "0", "shared-missing": "1",
		"queue-resolve-unknown": "1", "queue-dequeue-unknown": "1", "queue-enqueue-unknown": "1",
		"grpc-call": "12", "now": "0", "get-status": "0",
	}
	got := map[string]string{}
	for _, l := range probeLogs(h) {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "raw" {
			got[f[1]] = f[2]
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("raw %s = %q, want %q", k, got[k], v)
		}
	}
	findLog(t, h, fmt.Sprintf("raw now-value %d", epoch.Add(time.Second).UnixNano()))
	// Level 5 is critical; level 6 never reached the log.
	if l := h.Logs(hostsim.LevelCritical); len(l) != 1 || l[0].Message != "critical line" {
		t.Fatalf("critical lines = %+v", l)
	}
}

func TestPluginConfigurationOnlyInOnConfigure(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) { c.PluginConfig = []byte(`{}`) })
	h.NewStream().SendRequestHeaders(request("read-plugin-config"), true)
	findLog(t, h, "plugin-config in request: "+errNotFound)
}

func TestConcurrentStreamsOnSeveralWorkers(t *testing.T) {
	h, _ := newProbe(t, func(c *hostsim.Config) { c.Workers = 4 })
	// Seed the counter: a first write with cas 0 is unconditional, so racing first writers
	// would lose increments (in Envoy too).
	h.SetSharedData("counter", make([]byte, 8))
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				s := h.NewStream()
				s.SendRequestHeaders(request("shared-inc,buffer-request"), false)
				s.SendRequestBody([]byte("abc"), false)
				s.SendRequestBody([]byte("def"), true)
				if string(s.Upstream().Body) != "abcdef" {
					t.Errorf("body = %q", s.Upstream().Body)
				}
				s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false)
				s.SendResponseBody([]byte("ok"), true)
				if !s.Done() {
					t.Error("stream not done")
				}
			}
		}()
	}
	wg.Wait()
	v, _, _ := h.SharedData("counter")
	wantEqual(t, "counter", binary.LittleEndian.Uint64(v), uint64(goroutines*each))
	m, _ := h.Metric("probe_requests")
	wantEqual(t, "requests", m.Value, uint64(goroutines*each))
}
