// Command plugin is stepgate's proxy-wasm filter: the thin layer between Envoy's callbacks (through
// the proxy-wasm Go SDK) and the domain packages beside it (config, throttle, aiformat, governance,
// prompts, lifecycle), which do not know the SDK. Build it with `make wasm`; plugin/sdkbridge explains how standard Go builds it.
//
// Registration happens in init(): a wasm reactor (-buildmode=c-shared) never runs main.
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

// vmContext is the per-VM singleton. Envoy creates one VM per worker thread; all of a VM's state
// lives in its plugin (root) context.
type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{}
}
