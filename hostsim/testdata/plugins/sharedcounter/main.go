// Command sharedcounter is the least a throttle whose state all worker VMs share can do per
// request: read the request's :path, then read and compare-and-swap one shared-data counter.
// The benchmarks set it beside the no-op plugin to show the floor of the host calls alone.
package main

import (
	"encoding/binary"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	stream httpContext // streams of one VM never run at once: one context serves them all
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext { return &p.stream }

type httpContext struct {
	types.DefaultHttpContext
	buf [8]byte
}

const key = "sharedcounter"

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	if _, err := proxywasm.GetHttpRequestHeader(":path"); err != nil {
		return types.ActionContinue
	}
	for range 4 { // bounded CAS retries, as a real throttle does
		v, cas, err := proxywasm.GetSharedData(key)
		if err != nil && err != types.ErrorStatusNotFound {
			return types.ActionContinue
		}
		n := uint64(0)
		if len(v) == 8 {
			n = binary.LittleEndian.Uint64(v)
		}
		binary.LittleEndian.PutUint64(h.buf[:], n+1)
		if proxywasm.SetSharedData(key, h.buf[:], cas) == nil {
			break
		}
	}
	return types.ActionContinue
}
