// Command greeter is a proxy-wasm-go-sdk plugin in a module of its own, with a dependency of
// its own (gjson): it shows that stepgate's SDK bridge builds plugins outside this repository.
// It answers every request with a local reply whose body greets the name its plugin
// configuration ({"name": "..."}) gives.
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	name string
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	b, err := proxywasm.GetPluginConfiguration()
	if err != nil {
		return types.OnPluginStartStatusFailed
	}
	p.name = gjson.GetBytes(b, "name").String()
	proxywasm.LogInfof("greeter: greeting %s", p.name)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext { return &greeting{name: p.name} }

type greeting struct {
	types.DefaultHttpContext
	name string
}

func (g *greeting) OnHttpRequestHeaders(int, bool) types.Action {
	proxywasm.SendHttpResponse(200, [][2]string{{"content-type", "text/plain"}}, []byte("hello, "+g.name), -1)
	return types.ActionPause
}
