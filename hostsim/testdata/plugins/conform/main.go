// Command conform is the conformance suite's plugin. Its plugin configuration is a list of
// words naming what it does; each word is one behaviour Envoy documents:
//
//	headers        adds x-conform: 1 and removes x-drop on the request; replaces server-side
//	               x-version with "2" and adds x-conform-response: 1 on the response
//	buffer-request pauses every request body frame until the end, then replaces the body with
//	               "<N bytes>" where N is the whole size it saw (drops content-length)
//	stream-response appends "|" to every response body frame as it passes
//	metrics        counts conform_requests.method.<METHOD> and sets the gauge conform_last_size
//	               to the size of the last buffered request body
//	postpone       pauses request headers; the next tick resumes every paused request
//	shared         increments the shared-data counter "hits" with CAS and puts its value in
//	               the request header x-hits
//	dispatch-tick  on each tick, calls cluster "backend" GET /tick and logs the answer's status
//	dispatch-two   pauses the request, calls "backend" twice, resumes when both answered
//	route          puts the route name (xds.route_name) in x-route, and answers 401 when the
//	               route metadata property route_metadata is absent
//	reply-PHASE    answers 418 "from PHASE" from PHASE: req-headers, req-body, resp-headers,
//	               resp-body
//	trap           panics in the request headers callback
//
// Every behaviour logs "conform: ..." lines the tests read.
package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{paused: map[uint32]bool{}}
}

type pluginContext struct {
	types.DefaultPluginContext
	on       map[string]bool
	paused   map[uint32]bool
	requests map[string]proxywasm.MetricCounter
	lastSize proxywasm.MetricGauge
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	b, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		return types.OnPluginStartStatusFailed
	}
	p.on = map[string]bool{}
	for _, w := range strings.Fields(string(b)) {
		p.on[w] = true
	}
	if p.on["metrics"] {
		p.requests = map[string]proxywasm.MetricCounter{}
		p.lastSize = proxywasm.DefineGaugeMetric("conform_last_size")
	}
	if p.on["postpone"] || p.on["dispatch-tick"] {
		proxywasm.SetTickPeriodMilliSeconds(1000)
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() {
	for id := range p.paused {
		delete(p.paused, id)
		proxywasm.SetEffectiveContext(id)
		logf("resumed %d err=%v", id, proxywasm.ResumeHttpRequest())
	}
	if p.on["dispatch-tick"] {
		_, err := proxywasm.DispatchHttpCall("backend", get("/tick"), nil, nil, 5000, func(n, size, _ int) {
			hs, _ := proxywasm.GetHttpCallResponseHeaders()
			logf("tick call answered %s", value(hs, ":status"))
		})
		logf("tick call dispatched err=%v", err)
	}
}

func value(hs [][2]string, key string) string {
	for _, h := range hs {
		if h[0] == key {
			return h[1]
		}
	}
	return ""
}

func get(path string) [][2]string {
	return [][2]string{{":method", "GET"}, {":path", path}, {":authority", "backend"}}
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	return &stream{p: p, id: id}
}

type stream struct {
	types.DefaultHttpContext
	p       *pluginContext
	id      uint32
	pending int
}

func logf(format string, args ...any) { proxywasm.LogInfof("conform: "+format, args...) }

func (s *stream) reply(phase string) bool {
	if !s.p.on["reply-"+phase] {
		return false
	}
	logf("reply from %s err=%v", phase, proxywasm.SendHttpResponse(418, [][2]string{{"x-phase", phase}}, []byte("from "+phase), -1))
	return true
}

func (s *stream) OnHttpRequestHeaders(_ int, eos bool) types.Action {
	on := s.p.on
	if on["trap"] {
		panic("conform: trap")
	}
	if s.reply("req-headers") {
		return types.ActionPause
	}
	if on["headers"] {
		proxywasm.AddHttpRequestHeader("x-conform", "1")
		proxywasm.RemoveHttpRequestHeader("x-drop")
	}
	if on["buffer-request"] {
		proxywasm.RemoveHttpRequestHeader("content-length")
	}
	if on["metrics"] {
		s.count()
	}
	if on["shared"] {
		proxywasm.ReplaceHttpRequestHeader("x-hits", strconv.Itoa(increment("hits")))
	}
	if on["route"] && s.route() {
		return types.ActionPause
	}
	if on["dispatch-two"] {
		return s.dispatchTwo()
	}
	if on["postpone"] {
		s.p.paused[s.id] = true
		logf("postponed %d", s.id)
		return types.ActionPause
	}
	return types.ActionContinue
}

func (s *stream) count() {
	method, _ := proxywasm.GetHttpRequestHeader(":method")
	name := "conform_requests.method." + method
	c, ok := s.p.requests[name]
	if !ok {
		c = proxywasm.DefineCounterMetric(name)
		s.p.requests[name] = c
	}
	c.Increment(1)
}

// increment adds one to a shared-data counter, retrying on CAS mismatch as Envoy's shared data
// asks of concurrent writers.
func increment(key string) int {
	for {
		v, cas, err := proxywasm.GetSharedData(key)
		if err != nil && err != types.ErrorStatusNotFound {
			return -1
		}
		n, _ := strconv.Atoi(string(v))
		err = proxywasm.SetSharedData(key, []byte(strconv.Itoa(n+1)), cas)
		if err == nil {
			return n + 1
		}
		if err != types.ErrorStatusCasMismatch {
			return -1
		}
	}
}

func (s *stream) route() bool {
	name, err := proxywasm.GetProperty([]string{"xds", "route_name"})
	if err == nil {
		proxywasm.AddHttpRequestHeader("x-route", string(name))
	}
	if _, err := proxywasm.GetProperty([]string{"route_metadata"}); err != nil {
		logf("no route metadata: %v", err)
		proxywasm.SendHttpResponse(401, nil, []byte("no route metadata"), -1)
		return true
	}
	return false
}

func (s *stream) dispatchTwo() types.Action {
	for _, path := range []string{"/one", "/two"} {
		_, err := proxywasm.DispatchHttpCall("backend", get(path), nil, nil, 5000, func(n, size, _ int) {
			body, _ := proxywasm.GetHttpCallResponseBody(0, size)
			s.pending--
			logf("call %s answered %q, %d pending", path, body, s.pending)
			if s.pending == 0 {
				proxywasm.ResumeHttpRequest()
			}
		})
		if err != nil {
			logf("dispatch %s: %v", path, err)
			return types.ActionContinue
		}
		s.pending++
	}
	return types.ActionPause
}

func (s *stream) OnHttpRequestBody(size int, eos bool) types.Action {
	if s.reply("req-body") {
		return types.ActionPause
	}
	if !s.p.on["buffer-request"] {
		return types.ActionContinue
	}
	if !eos {
		return types.ActionPause // StopIterationAndBuffer: the next call sees everything
	}
	proxywasm.ReplaceHttpRequestBody([]byte(fmt.Sprintf("<%d bytes>", size)))
	if s.p.on["metrics"] {
		s.p.lastSize.Add(int64(size) - s.p.lastSize.Value())
	}
	return types.ActionContinue
}

func (s *stream) OnHttpResponseHeaders(int, bool) types.Action {
	if s.reply("resp-headers") {
		return types.ActionPause
	}
	if s.p.on["headers"] {
		proxywasm.ReplaceHttpResponseHeader("x-version", "2")
		proxywasm.AddHttpResponseHeader("x-conform-response", "1")
	}
	if s.p.on["stream-response"] {
		proxywasm.RemoveHttpResponseHeader("content-length")
	}
	return types.ActionContinue
}

func (s *stream) OnHttpResponseBody(size int, eos bool) types.Action {
	if s.reply("resp-body") {
		return types.ActionPause
	}
	if s.p.on["stream-response"] && size > 0 {
		proxywasm.AppendHttpResponseBody([]byte("|"))
	}
	return types.ActionContinue
}
