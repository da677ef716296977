package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/stepgate/stepgate/plugin/config"
)

// pluginContext is the root context of one plugin instance in one VM. It holds the parsed
// configuration that every stream of this VM reads.
type pluginContext struct {
	types.DefaultPluginContext
	cfg *config.Config
}

// OnPluginStart parses the configuration. A bad configuration fails the plugin start (Envoy then
// refuses the listener update), with a log line that names the field.
func (p *pluginContext) OnPluginStart(configSize int) types.OnPluginStartStatus {
	var data []byte
	if configSize > 0 {
		var err error
		data, err = proxywasm.GetPluginConfiguration()
		if err != nil {
			proxywasm.LogCriticalf("stepgate: reading plugin configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	cfg, err := config.Parse(data)
	if err != nil {
		proxywasm.LogCriticalf("stepgate: invalid configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	proxywasm.LogInfof("stepgate %s: configuration loaded", config.Version)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{cfg: p.cfg}
}
