package main

import (
	"fmt"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/stepgate/stepgate/plugin/config"
)

// logf writes one of the filter's own diagnostic lines, unless level is below the configured
// log.level. The call record does not go through here: log.access_log alone decides it.
func (p *pluginContext) logf(level config.Level, format string, args ...any) {
	if p.cfg != nil && level < p.cfg.Log.Level {
		return
	}
	msg := fmt.Sprintf(format, args...)
	switch level {
	case config.LevelTrace:
		proxywasm.LogTrace(msg)
	case config.LevelDebug:
		proxywasm.LogDebug(msg)
	case config.LevelInfo:
		proxywasm.LogInfo(msg)
	case config.LevelWarn:
		proxywasm.LogWarn(msg)
	case config.LevelError:
		proxywasm.LogError(msg)
	default:
		proxywasm.LogCritical(msg)
	}
}
