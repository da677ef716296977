package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/stepgate/stepgate/plugin/config"
)

// httpContext handles one HTTP stream.
type httpContext struct {
	types.DefaultHttpContext
	cfg *config.Config

	method, path string
	status       string
}

func (h *httpContext) OnHttpRequestHeaders(numHeaders int, endOfStream bool) types.Action {
	h.method, _ = proxywasm.GetHttpRequestHeader(":method")
	h.path, _ = proxywasm.GetHttpRequestHeader(":path")
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(numHeaders int, endOfStream bool) types.Action {
	h.status, _ = proxywasm.GetHttpResponseHeader(":status")
	if h.cfg.ResponseHeaders.Version {
		_ = proxywasm.ReplaceHttpResponseHeader("x-stepgate", config.Version)
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpStreamDone() {
	if h.cfg.Log.AccessLog {
		proxywasm.LogInfof(`{"msg":"stream done","method":%q,"path":%q,"status":%q}`, h.method, h.path, h.status)
	}
}
