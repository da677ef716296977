// Command featurefloor is the least a filter can do per request and still give what stepgate
// gives a request by default: it reads the request's header map (where the credentials, the
// request id and the route are), reads the clock, counts the request in a metric, and tells the
// client the filter's version and the request id in two response headers. With the plugin
// configuration "rule" it also does what one request-counting rule adds: one shared-data read
// and compare-and-swap, a second metric, and the four RateLimit headers. The benchmarks set it
// beside stepgate to show how much of stepgate's cost these features alone already take.
package main

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	rule     bool
	requests proxywasm.MetricCounter
	allowed  proxywasm.MetricCounter
	stream   httpContext // streams of one VM never run at once: one context serves them all
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, _ := proxywasm.GetPluginConfiguration()
	p.rule = string(cfg) == "rule"
	p.requests = proxywasm.DefineCounterMetric("featurefloor_requests_total")
	p.allowed = proxywasm.DefineCounterMetric("featurefloor_allowed_total")
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	p.stream = httpContext{p: p}
	return &p.stream
}

type httpContext struct {
	types.DefaultHttpContext
	p         *pluginContext
	requestID string
	remaining uint64
	buf       [8]byte
}

const key = "featurefloor"

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	headers, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		return types.ActionContinue
	}
	for _, kv := range headers {
		if kv[0] == "x-request-id" {
			h.requestID = kv[1]
		}
	}
	_ = time.Now()
	if h.p.rule {
		h.take()
		h.p.allowed.Increment(1)
	}
	return types.ActionContinue
}

// take counts the request in the shared counter, as one rule's token bucket does.
func (h *httpContext) take() {
	for range 4 {
		v, cas, err := proxywasm.GetSharedData(key)
		if err != nil && err != types.ErrorStatusNotFound {
			return
		}
		n := uint64(0)
		if len(v) == 8 {
			n = binary.LittleEndian.Uint64(v)
		}
		binary.LittleEndian.PutUint64(h.buf[:], n+1)
		if proxywasm.SetSharedData(key, h.buf[:], cas) == nil {
			h.remaining = 100 - n%100
			return
		}
	}
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	_ = proxywasm.ReplaceHttpResponseHeader("x-stepgate", "0.1.0")
	_ = proxywasm.ReplaceHttpResponseHeader("x-request-id", h.requestID)
	if h.p.rule {
		left := strconv.FormatUint(h.remaining, 10)
		_ = proxywasm.ReplaceHttpResponseHeader("ratelimit", `"rps";r=`+left+`;t=1`)
		_ = proxywasm.ReplaceHttpResponseHeader("ratelimit-policy", `"rps";q=1000;w=1`)
		_ = proxywasm.ReplaceHttpResponseHeader("x-ratelimit-limit", "1000")
		_ = proxywasm.ReplaceHttpResponseHeader("x-ratelimit-remaining", left)
	}
	h.p.requests.Increment(1)
	return types.ActionContinue
}
