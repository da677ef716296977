// Command sdktcp is a proxy-wasm-go-sdk network filter: its plugin context makes TCP contexts
// only. Like every SDK build it exports the HTTP callbacks too, so hostsim loads it; run as an
// HTTP filter, its first HTTP callback finds no HTTP context and traps, as it would in Envoy.
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

func (*pluginContext) NewTcpContext(uint32) types.TcpContext { return &types.DefaultTcpContext{} }
