// Command mainreg registers its VM context in main(), as plugins written for TinyGo do. A wasm
// reactor never runs main by itself: the SDK bridge runs it once at the first context creation,
// and this plugin proves it (it answers every request with a local 418).
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

func (*pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	proxywasm.LogInfo("mainreg: registered from main")
	return types.OnPluginStartStatusOK
}

func (*pluginContext) NewHttpContext(uint32) types.HttpContext { return &httpContext{} }

type httpContext struct{ types.DefaultHttpContext }

func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	_ = proxywasm.SendHttpResponse(418, nil, []byte("from main"), -1)
	return types.ActionPause
}
