// Command queues is both ends of a proxy-wasm shared queue, chosen by its plugin
// configuration:
//
//	receiver NAME          registers queue NAME at start and logs "queues: received ITEM" for
//	                       every item on_queue_ready lets it dequeue
//	sender VM_ID NAME      resolves queue NAME of vm_id VM_ID for each request and enqueues
//	                       the request's :path ("queues: no queue" when it cannot resolve)
package main

import (
	"strings"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vmContext{}) }

func main() {}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	role, vmID, queue string
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	b, err := proxywasm.GetPluginConfiguration()
	if err != nil {
		return types.OnPluginStartStatusFailed
	}
	f := strings.Fields(string(b))
	switch {
	case len(f) == 2 && f[0] == "receiver":
		p.role, p.queue = f[0], f[1]
		if _, err := proxywasm.RegisterSharedQueue(p.queue); err != nil {
			proxywasm.LogCriticalf("queues: register: %v", err)
			return types.OnPluginStartStatusFailed
		}
	case len(f) == 3 && f[0] == "sender":
		p.role, p.vmID, p.queue = f[0], f[1], f[2]
	default:
		proxywasm.LogCriticalf("queues: bad configuration %q", b)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnQueueReady(id uint32) {
	for {
		item, err := proxywasm.DequeueSharedQueue(id)
		if err == types.ErrorStatusEmpty {
			return
		}
		if err != nil {
			proxywasm.LogCriticalf("queues: dequeue: %v", err)
			return
		}
		proxywasm.LogInfof("queues: received %s", item)
	}
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	if p.role != "sender" {
		return &types.DefaultHttpContext{}
	}
	return &sender{p: p}
}

type sender struct {
	types.DefaultHttpContext
	p *pluginContext
}

func (s *sender) OnHttpRequestHeaders(int, bool) types.Action {
	id, err := proxywasm.ResolveSharedQueue(s.p.vmID, s.p.queue)
	if err != nil {
		proxywasm.LogWarnf("queues: no queue %s/%s: %v", s.p.vmID, s.p.queue, err)
		return types.ActionContinue
	}
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	if err := proxywasm.EnqueueSharedQueue(id, []byte(path)); err != nil {
		proxywasm.LogWarnf("queues: enqueue: %v", err)
	}
	return types.ActionContinue
}
