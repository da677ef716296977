// Command probe is hostsim's purpose-built test plugin. Each request chooses what the plugin
// does with its "x-probe" header, a comma-separated list of directives ("pause-headers",
// "local-reply=req-headers", "buffer-request", ...); the plugin configuration (JSON) chooses
// root-level behaviour (ticks, a shared queue, a late plugin done). It logs what it observes
// as "probe: ..." lines at info level, which the tests read back.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

func logf(format string, args ...any) { proxywasm.LogInfof("probe: "+format, args...) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) OnVMStart(size int) types.OnVMStartStatus {
	cfg, err := proxywasm.GetVMConfiguration()
	logf("vm-start size=%d config=%q err=%v env=%q", size, cfg, err, os.Getenv("PROBE_ENV"))
	if string(cfg) == "refuse" {
		return false
	}
	return true
}

func (*vmContext) NewPluginContext(id uint32) types.PluginContext {
	return &pluginContext{id: id, waiting: map[uint32]string{}}
}

type config struct {
	TickMS    uint32 `json:"tick_ms"`
	Queue     string `json:"queue"`
	DoneLater bool   `json:"done_later"`
	Fail      string `json:"fail"`
}

type pluginContext struct {
	types.DefaultPluginContext
	id       uint32
	cfg      config
	waiting  map[uint32]string // http context id -> "resume" or "reject"
	doneAsk  bool
	ticks    int
	requests proxywasm.MetricCounter
	inflight proxywasm.MetricGauge
	sizes    proxywasm.MetricHistogram
}

func (p *pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound { // an empty configuration reads as NOT_FOUND
		proxywasm.LogErrorf("probe config: %v", err)
		return false
	}
	if len(data) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p.cfg); err != nil {
			proxywasm.LogErrorf("probe config: %v", err)
			return false
		}
	}
	if p.cfg.Fail != "" {
		proxywasm.LogErrorf("probe config: %s", p.cfg.Fail)
		return false
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	logf("configure size=%d root=%d now=%d", size, p.id, time.Now().UnixNano())
	if p.cfg.Queue != "" {
		q, err := proxywasm.RegisterSharedQueue(p.cfg.Queue)
		logf("queue registered %s id=%d err=%v", p.cfg.Queue, q, err)
	}
	if p.cfg.TickMS > 0 {
		proxywasm.SetTickPeriodMilliSeconds(p.cfg.TickMS)
	}
	p.requests = proxywasm.DefineCounterMetric("probe_requests")
	p.inflight = proxywasm.DefineGaugeMetric("probe_inflight")
	p.sizes = proxywasm.DefineHistogramMetric("probe_body_size")
	return true
}

func (p *pluginContext) OnTick() {
	p.ticks++
	logf("tick %d now=%d", p.ticks, time.Now().UnixNano())
	for id, what := range p.waiting {
		delete(p.waiting, id)
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			logf("tick set-effective %d: %v", id, err)
			continue
		}
		switch what {
		case "resume":
			err := proxywasm.ResumeHttpRequest()
			logf("tick resumed %d err=%v", id, err)
		case "reject":
			err := proxywasm.SendHttpResponse(429, [][2]string{{"retry-after", "1"}}, []byte("slow down"), -1)
			logf("tick rejected %d err=%v", id, err)
		}
	}
	if p.doneAsk {
		logf("plugin done now")
		proxywasm.PluginDone()
	}
}

func (p *pluginContext) OnQueueReady(id uint32) {
	for {
		v, err := proxywasm.DequeueSharedQueue(id)
		if err != nil {
			logf("queue ready %d drained err=%v", id, err)
			return
		}
		logf("queue ready %d item=%q", id, v)
	}
}

func (p *pluginContext) OnPluginDone() bool {
	logf("plugin done asked later=%v", p.cfg.DoneLater)
	if p.cfg.DoneLater {
		p.doneAsk = true
		return false
	}
	return true
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	return &httpContext{id: id, plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	id     uint32
	plugin *pluginContext
	probe  map[string]string
}

func (h *httpContext) has(d string) bool { _, ok := h.probe[d]; return ok }
func (h *httpContext) is(d, v string) bool {
	got, ok := h.probe[d]
	return ok && got == v
}

func parse(s string) map[string]string {
	m := map[string]string{}
	for _, d := range strings.Split(s, ",") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		k, v, _ := strings.Cut(d, "=")
		m[k] = v
	}
	return m
}

func (h *httpContext) OnHttpRequestHeaders(n int, eos bool) types.Action {
	hdr, _ := proxywasm.GetHttpRequestHeader("x-probe")
	h.probe = parse(hdr)
	logf("req-headers ctx=%d n=%d eos=%v", h.id, n, eos)
	h.plugin.requests.Increment(1)
	h.plugin.inflight.Add(1)
	if h.has("trap") && h.is("trap", "req-headers") {
		panic("probe trap in request headers")
	}
	if h.has("props") {
		logProps()
	}
	if h.has("set-prop") {
		err := proxywasm.SetProperty([]string{"probe_state"}, []byte("abc"))
		v, gerr := proxywasm.GetProperty([]string{"probe_state"})
		v2, gerr2 := proxywasm.GetProperty([]string{"filter_state", "wasm.probe_state"})
		err3 := proxywasm.SetProperty([]string{"two", "segs"}, []byte("x"))
		v4, gerr4 := proxywasm.GetProperty([]string{"two", "segs"})
		logf("set-prop err=%v get=%q err=%v fs=%q err=%v two=%v get2=%q err=%v", err, v, gerr, v2, gerr2, err3, v4, gerr4)
	}
	if h.has("headers-ops") {
		headersOps()
	}
	if h.has("set-pairs") {
		err := proxywasm.ReplaceHttpRequestHeaders([][2]string{{":method", "PUT"}, {":path", "/set"},
			{":authority", "pairs.example"}, {"X-Set", "1"}, {"x-set", "2"}})
		logf("set-pairs err=%v", err)
	}
	if h.has("strip-cl") {
		proxywasm.RemoveHttpRequestHeader("content-length")
	}
	if h.has("raw") {
		rawBattery()
	}
	if h.has("read-plugin-config") {
		_, err := proxywasm.GetPluginConfiguration()
		logf("plugin-config in request: %v", err)
	}
	if h.has("shared-inc") {
		sharedIncrement()
	}
	if h.has("enqueue") {
		q, err := proxywasm.ResolveSharedQueue("", h.probe["enqueue"])
		if err == nil {
			err = proxywasm.EnqueueSharedQueue(q, []byte("hello from "+strconv.Itoa(int(h.id))))
		}
		logf("enqueue %s id=%d err=%v", h.probe["enqueue"], q, err)
	}
	if h.has("stop-tick") {
		logf("stop-tick err=%v", proxywasm.SetTickPeriodMilliSeconds(0))
	}
	if h.has("stdio") {
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
	}
	if h.has("sleep") {
		time.Sleep(time.Millisecond)
		logf("slept")
	}
	if h.has("http-call") {
		return h.dispatch(h.probe["http-call"])
	}
	if h.has("http-call-bad") {
		_, err1 := proxywasm.DispatchHttpCall("nope", [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "a"}}, nil, nil, 1000, nil)
		_, err2 := proxywasm.DispatchHttpCall("callout", [][2]string{{":method", "GET"}, {":authority", "a"}}, nil, nil, 1000, nil)
		logf("http-call-bad unknown=%v nopath=%v", err1, err2)
	}
	if h.has("local-reply") && h.is("local-reply", "req-headers") {
		h.localReply()
		return types.ActionContinue // the host must force a stop anyway
	}
	if h.has("close") && h.is("close", "req-headers") {
		logf("close request status=%d", rawCloseStream(0))
	}
	if v, ok := h.probe["resume-on-tick"]; ok || h.has("reject-on-tick") {
		_ = v
		what := "resume"
		if h.has("reject-on-tick") {
			what = "reject"
		}
		h.plugin.waiting[h.id] = what
		return types.ActionPause
	}
	if h.has("continue-in-callback") {
		err := proxywasm.ResumeHttpRequest()
		logf("resumed inside callback err=%v", err)
		return types.ActionPause
	}
	if h.has("pause-headers") {
		return types.ActionPause
	}
	if v, ok := h.probe["req-headers-action"]; ok {
		n, _ := strconv.Atoi(v)
		return types.Action(n)
	}
	return types.ActionContinue
}

func (h *httpContext) localReply() {
	err := proxywasm.SendHttpResponse(403, [][2]string{{"x-probe-reply", "1"}, {"Content-Type", "application/json"}},
		[]byte(`{"denied":true}`), -1)
	logf("local-reply sent err=%v", err)
}

func (h *httpContext) dispatch(cluster string) types.Action {
	id, err := proxywasm.DispatchHttpCall(cluster,
		[][2]string{{":method", "POST"}, {":path", "/callout?x=1"}, {":authority", "callout.local"}, {"x-from", "probe"}},
		[]byte("ping"), [][2]string{{"x-req-trailer", "t"}}, 5000,
		func(nh, size, nt int) {
			headers, herr := proxywasm.GetHttpCallResponseHeaders()
			body, berr := proxywasm.GetHttpCallResponseBody(0, size)
			trailers, terr := proxywasm.GetHttpCallResponseTrailers()
			status := ""
			for _, kv := range headers {
				if kv[0] == ":status" {
					status = kv[1]
				}
			}
			logf("http-call response nh=%d size=%d nt=%d status=%s body=%q trailers=%q errs=%v,%v,%v",
				nh, size, nt, status, body, trailers, herr, berr, terr)
			proxywasm.AddHttpRequestHeader("x-callout-status", status)
			err := proxywasm.ResumeHttpRequest()
			logf("http-call resumed err=%v", err)
		})
	logf("http-call dispatched id=%d err=%v", id, err)
	if err != nil {
		return types.ActionContinue
	}
	return types.ActionPause
}

func (h *httpContext) OnHttpRequestBody(size int, eos bool) types.Action {
	logf("req-body size=%d eos=%v", size, eos)
	if h.is("trap", "req-body") {
		panic("probe trap in request body")
	}
	if h.is("local-reply", "req-body") {
		h.localReply()
		return types.ActionContinue
	}
	if h.has("resume-body-on-tick") {
		if !eos {
			return types.ActionPause
		}
		h.plugin.waiting[h.id] = "resume"
		return types.ActionPause
	}
	if v, ok := h.probe["req-body-action"]; ok {
		n, _ := strconv.Atoi(v)
		body, _ := proxywasm.GetHttpRequestBody(0, size)
		logf("req-body-seen %q", body)
		return types.Action(n)
	}
	if h.has("buffer-request") {
		if !eos {
			return types.ActionPause
		}
		body, err := proxywasm.GetHttpRequestBody(0, size)
		logf("req-body-all %q err=%v", body, err)
		h.plugin.sizes.Record(uint64(len(body)))
		if op, ok := h.probe["body-write"]; ok {
			logf("body-write %s err=%v", op, writeBody(op, size))
		}
		if h.has("add-trailers") {
			err := proxywasm.AddHttpRequestTrailer("x-added-trailer", "1")
			logf("add-trailer err=%v", err)
		}
	}
	return types.ActionContinue
}

func writeBody(op string, size int) error {
	switch op {
	case "prepend":
		return proxywasm.PrependHttpRequestBody([]byte("<"))
	case "append":
		return proxywasm.AppendHttpRequestBody([]byte(">"))
	case "replace":
		return proxywasm.ReplaceHttpRequestBody([]byte("REPLACED"))
	case "middle":
		if st := rawSetBuffer(0, 1, 1, "x"); st != 0 {
			return fmt.Errorf("status %d", st)
		}
	}
	return nil
}

func (h *httpContext) OnHttpRequestTrailers(n int) types.Action {
	trailers, _ := proxywasm.GetHttpRequestTrailers()
	logf("req-trailers n=%d %q", n, trailers)
	if h.has("headers-ops") {
		err := proxywasm.AddHttpRequestTrailer("x-trailer-added", "yes")
		logf("trailer-add err=%v", err)
	}
	if h.has("pause-trailers") {
		return types.ActionPause
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(n int, eos bool) types.Action {
	status, _ := proxywasm.GetHttpResponseHeader(":status")
	logf("resp-headers n=%d eos=%v status=%s", n, eos, status)
	if h.is("trap", "resp-headers") {
		panic("probe trap in response headers")
	}
	if h.has("read-req-in-resp") {
		v, err := proxywasm.GetHttpRequestHeader(":path")
		logf("request path in response: %q err=%v", v, err)
		p, perr := proxywasm.GetProperty([]string{"request", "path"})
		logf("request.path in response: %q err=%v", p, perr)
	}
	proxywasm.AddHttpResponseHeader("x-probe-resp", "1")
	if h.is("local-reply", "resp-headers") {
		h.localReply()
		return types.ActionContinue
	}
	if h.has("pause-resp-headers") {
		return types.ActionPause
	}
	if v, ok := h.probe["resp-headers-action"]; ok {
		n, _ := strconv.Atoi(v)
		return types.Action(n)
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseBody(size int, eos bool) types.Action {
	logf("resp-body size=%d eos=%v", size, eos)
	if h.is("local-reply", "resp-body") {
		h.localReply()
		return types.ActionContinue
	}
	if h.has("buffer-response") {
		if !eos {
			return types.ActionPause
		}
		body, err := proxywasm.GetHttpResponseBody(0, size)
		logf("resp-body-all %q err=%v", body, err)
		if h.has("resp-rewrite") {
			logf("resp-rewrite err=%v", proxywasm.ReplaceHttpResponseBody([]byte("REWRITTEN")))
		}
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseTrailers(n int) types.Action {
	t, _ := proxywasm.GetHttpResponseTrailers()
	logf("resp-trailers n=%d %q", n, t)
	return types.ActionContinue
}

func (h *httpContext) OnHttpStreamDone() {
	path, err := proxywasm.GetHttpRequestHeader(":path")
	status, serr := proxywasm.GetHttpResponseHeader(":status")
	aerr := proxywasm.AddHttpResponseHeader("x-late", "1")
	code, cerr := proxywasm.GetProperty([]string{"response", "code"})
	c := int64(-1)
	if len(code) == 8 {
		c = int64(binary.LittleEndian.Uint64(code))
	}
	dur, derr := proxywasm.GetProperty([]string{"request", "duration"})
	logf("log ctx=%d path=%q err=%v status=%q err=%v add=%v code=%d err=%v duration-bytes=%d err=%v",
		h.id, path, err, status, serr, aerr, c, cerr, len(dur), derr)
	h.plugin.inflight.Add(-1)
}

func logProps() {
	for _, path := range []string{
		"request.path", "request.url_path", "request.method", "request.scheme", "request.host",
		"request.id", "request.protocol", "request.query", "request.useragent",
		"request.headers.x-probe", "source.address", "source.port", "destination.address",
		"destination.port", "plugin_name", "plugin_root_id", "plugin_vm_id", "xds.route_name",
		"xds.cluster_name", "connection_id", "connection.id", "request.time", "response.code",
		"nonexistent", "request.nothing",
	} {
		v, err := proxywasm.GetProperty(strings.Split(path, "."))
		logf("prop %s=%q err=%v", path, v, err)
	}
}

func headersOps() {
	proxywasm.AddHttpRequestHeader("X-Added", "1")
	proxywasm.AddHttpRequestHeader("x-dup", "a")
	proxywasm.AddHttpRequestHeader("x-dup", "b")
	proxywasm.ReplaceHttpRequestHeader("x-replace", "new")
	proxywasm.RemoveHttpRequestHeader("x-remove")
	errAbsentRemove := proxywasm.RemoveHttpRequestHeader("x-absent")
	_, errAbsentGet := proxywasm.GetHttpRequestHeader("x-absent")
	dup, _ := proxywasm.GetHttpRequestHeader("X-DUP")
	all, _ := proxywasm.GetHttpRequestHeaders()
	logf("headers-ops remove-absent=%v get-absent=%v dup=%q count=%d", errAbsentRemove, errAbsentGet, dup, len(all))
}

func sharedIncrement() {
	for i := 0; i < 100; i++ {
		v, cas, err := proxywasm.GetSharedData("counter")
		var n uint64
		if err == nil && len(v) == 8 {
			n = binary.LittleEndian.Uint64(v)
		}
		next := binary.LittleEndian.AppendUint64(nil, n+1)
		if err := proxywasm.SetSharedData("counter", next, cas); err == nil {
			logf("shared counter=%d cas-was=%d retries=%d", n+1, cas, i)
			return
		}
	}
	logf("shared counter gave up")
}
