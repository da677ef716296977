package hostsim

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/stepgate/stepgate/hostsim/internal/metrics"
)

// vm is one instance of the module: Envoy's WasmBase on one worker thread. Everything in it
// is guarded by mu, which also makes the VM run one callback at a time.
type vm struct {
	h      *Host
	worker int // -1 for the base VM and the configuration canary
	mod    api.Module
	mem    api.Memory
	ctx    context.Context // carries the vm to host functions
	fn     callbacks

	mu sync.Mutex

	failed bool
	closed atomic.Bool
	// allow is cpp-host's restricted-callback set (module -> name); nil means unrestricted.
	allow map[string]map[string]bool

	contexts map[uint32]*pctx
	nextID   uint32
	vmCtx    *pctx
	root     *pctx

	current   *pctx
	effective uint32

	// stopIteration is cpp-host's stop_iteration_: a local reply forces the running callback's
	// result to a stop.
	stopIteration bool
	// after are cpp-host's after-VM-call actions: deferred effects of host calls.
	after []func()

	metrics    *metrics.Table
	httpCallID uint32
	roots      []*pctx // one per plugin, Config's first

	stacks [4][8]uint64
	depth  int

	hostCalls []uint64 // calls per host function, by the engine's ids (engine.callNames)

	mboxMu  sync.Mutex
	mailbox []func()

	thread *thread // a worker VM's own goroutine (nil for the base VM and the canary)
}

type callbacks struct {
	initialize, start, main, mainVoid, malloc api.Function

	onContextCreate, onVMStart, onConfigure, onTick, onQueueReady, onHTTPCallResponse,
	onRequestHeaders, onRequestBody, onRequestTrailers,
	onResponseHeaders, onResponseBody, onResponseTrailers,
	onLog, onDone, onDelete api.Function
}

type ctxKind uint8

const (
	vmContextKind ctxKind = iota
	rootContextKind
	streamContextKind
)

// pctx is a proxy-wasm context: the VM context (id 0), the root context, or a stream.
type pctx struct {
	id     uint32
	kind   ctxKind
	stream *Stream

	// parent is a stream's root context (the plugin it runs through).
	parent *pctx

	// Root context state.
	plugin       *Plugin
	pluginConfig bool // cpp-host's temp_plugin_: plugin configuration readable
	httpResponse *httpCallResponse
	statusCode   uint32
	statusMsg    string
	tickPeriod   time.Duration
	tickDue      time.Duration // on the monotonic clock
	pendingDone  bool          // on_done returned false: proxy_done may finish it
	deleted      bool
}

func newVM(ctx context.Context, h *Host, cm wazero.CompiledModule, worker int) (*vm, error) {
	v := &vm{h: h, worker: worker, contexts: map[uint32]*pctx{}, nextID: 1}
	v.ctx = context.WithValue(context.Background(), vmKey{}, v)
	v.vmCtx = &pctx{id: 0, kind: vmContextKind}
	v.contexts[0] = v.vmCtx
	v.metrics = metrics.NewTable(h.metrics)
	v.hostCalls = make([]uint64, len(h.engine.callNames))
	mod, err := h.engine.rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("hostsim: failed to create new Wasm instance: %w", err)
	}
	v.mod, v.mem = mod, mod.Memory()
	if err := v.getFunctions(); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	return v, nil
}

// getFunctions looks up the exports as cpp-host's WasmBase::getFunctions does.
func (v *vm) getFunctions() error {
	get := v.mod.ExportedFunction
	f := &v.fn
	if f.initialize = get("_initialize"); f.initialize != nil {
		f.main = get("main")
		if !v.h.cfg.LegacyWASI { // __main_void support came with cpp-host #500
			f.mainVoid = get("__main_void")
		}
	} else {
		f.start = get("_start")
	}
	if f.malloc = get("malloc"); f.malloc == nil {
		f.malloc = get("proxy_on_memory_allocate")
	}
	if f.malloc == nil {
		return errors.New("hostsim: Wasm module is missing malloc function (exports neither malloc nor proxy_on_memory_allocate)")
	}
	f.onContextCreate = get("proxy_on_context_create")
	f.onVMStart = get("proxy_on_vm_start")
	f.onConfigure = get("proxy_on_configure")
	f.onTick = get("proxy_on_tick")
	f.onQueueReady = get("proxy_on_queue_ready")
	f.onHTTPCallResponse = get("proxy_on_http_call_response")
	f.onRequestHeaders = get("proxy_on_request_headers")
	f.onRequestBody = get("proxy_on_request_body")
	f.onRequestTrailers = get("proxy_on_request_trailers")
	f.onResponseHeaders = get("proxy_on_response_headers")
	f.onResponseBody = get("proxy_on_response_body")
	f.onResponseTrailers = get("proxy_on_response_trailers")
	f.onLog = get("proxy_on_log")
	f.onDone = get("proxy_on_done")
	f.onDelete = get("proxy_on_delete")
	return nil
}

// invoke calls a module function with c as the current context (cpp-host's
// SaveRestoreContext: the effective context is reset for the call and restored after). A trap
// fails the VM.
func (v *vm) invoke(c *pctx, name string, f api.Function, args ...uint64) (uint64, bool) {
	if v.depth == len(v.stacks) {
		panic("hostsim: module calls nested too deeply")
	}
	stack := v.stacks[v.depth][:]
	v.depth++
	copy(stack, args)
	saved, savedEff := v.current, v.effective
	v.current, v.effective = c, 0
	err := f.CallWithStack(v.ctx, stack)
	v.current, v.effective = saved, savedEff
	v.depth--
	if c != nil && c.stream != nil {
		c.stream.record(name, args, uint32(stack[0]), err != nil)
	}
	if err != nil {
		v.fail(name, err)
		return 0, false
	}
	return uint64(uint32(stack[0])), true // i32 results: the upper bits are undefined
}

// fail marks the VM broken (cpp-host's FailState::RuntimeError) and logs as Envoy does.
func (v *vm) fail(function string, err error) {
	v.failed = true
	v.hostLog(LevelError, fmt.Sprintf("Wasm VM failed Function: %s failed: %v", function, err))
}

// finishCall is cpp-host's DeferAfterCallActions: clear the forced stop and run the deferred
// actions (which may call back into the module, queuing more actions).
func (v *vm) finishCall() {
	v.stopIteration = false
	for len(v.after) > 0 {
		f := v.after[0]
		v.after[0] = nil
		v.after = v.after[1:]
		f()
	}
}

func (v *vm) addAfter(f func()) { v.after = append(v.after, f) }

// Malloc implements abi.Handler: the allocator runs in the VM context with callbacks
// restricted, as cpp-host's allocMemory.
func (v *vm) Malloc(size uint32) (uint32, bool) {
	if v.failed {
		return 0, false
	}
	saved := v.allow
	v.allow = v.h.engine.alloc
	addr, ok := v.invoke(v.vmCtx, "malloc", v.fn.malloc, uint64(size))
	v.allow = saved
	if !ok || uint32(addr) == 0 {
		return 0, false
	}
	if _, inRange := v.mem.Read(uint32(addr), size); !inRange {
		return 0, false
	}
	return uint32(addr), true
}

// Count implements abi.Handler and wasi.Env: one more call of host function id, charged to the
// VM and to the stream whose callback is running. An increment, so that counting costs nothing
// measurable next to the call itself.
func (v *vm) Count(id int) {
	v.hostCalls[id]++
	if c := v.current; c != nil && c.stream != nil {
		c.stream.hostCallCount++
	}
}

// Allowed implements abi.Handler and wasi.Env.
func (v *vm) Allowed(module, name string) bool {
	return v.allow == nil || v.allow[module][name]
}

// active is cpp-host's contextOrEffectiveContext.
func (v *vm) active() *pctx {
	if v.effective != 0 {
		if c := v.contexts[v.effective]; c != nil {
			return c
		}
	}
	if v.current == nil {
		return v.vmCtx
	}
	return v.current
}

func (v *vm) allocContext(kind ctxKind) *pctx {
	c := &pctx{}
	v.registerContext(c, kind)
	return c
}

// registerContext gives c the next unused id (ids are never reused while in use).
func (v *vm) registerContext(c *pctx, kind ctxKind) {
	for v.contexts[v.nextID] != nil {
		v.nextID++
	}
	c.id, c.kind = v.nextID, kind
	v.nextID++
	v.contexts[c.id] = c
}

// startVM runs the module's start functions with cpp-host's start-time restrictions.
func (v *vm) startVM() error {
	v.allow = v.h.engine.start
	defer func() { v.allow = nil }()
	ok := true
	switch {
	case v.fn.initialize != nil:
		_, ok = v.invoke(v.vmCtx, "_initialize", v.fn.initialize)
		if ok && v.fn.main != nil {
			_, ok = v.invoke(v.vmCtx, "main", v.fn.main, 0, 0)
		} else if ok && v.fn.mainVoid != nil {
			_, ok = v.invoke(v.vmCtx, "__main_void", v.fn.mainVoid)
		}
	case v.fn.start != nil:
		_, ok = v.invoke(v.vmCtx, "_start", v.fn.start)
	}
	if !ok {
		return errors.New("failed to initialize Wasm code")
	}
	return nil
}

// startPlugins starts every plugin of the VM in order, each on its own root context.
func (v *vm) startPlugins() error {
	for _, p := range v.h.plugins {
		if err := v.startPlugin(p); err != nil {
			if len(v.h.plugins) > 1 {
				return fmt.Errorf("root_id %q: %w", p.RootID, err)
			}
			return err
		}
	}
	return nil
}

// startPlugin creates a root context (cpp-host's ContextBase::onStart) and configures it
// (onConfigure).
func (v *vm) startPlugin(p *Plugin) error {
	root := v.allocContext(rootContextKind)
	root.plugin = p
	v.roots = append(v.roots, root)
	if v.root == nil {
		v.root = root
	}
	if v.fn.onContextCreate != nil {
		root.pluginConfig = true
		v.invoke(root, "proxy_on_context_create", v.fn.onContextCreate, uint64(root.id), 0)
		root.pluginConfig = false
	}
	started := true
	if !v.failed && v.fn.onVMStart != nil {
		r, ok := v.invoke(root, "proxy_on_vm_start", v.fn.onVMStart, uint64(root.id), uint64(len(v.h.cfg.VMConfig)))
		started = ok && r != 0
	}
	v.finishCall()
	if v.failed {
		return errors.New("failed to start Wasm VM: the module trapped")
	}
	if !started {
		return errors.New("failed to start Wasm VM: proxy_on_vm_start returned false")
	}
	if v.fn.onConfigure == nil {
		return nil
	}
	root.pluginConfig = true
	r, ok := v.invoke(root, "proxy_on_configure", v.fn.onConfigure, uint64(root.id), uint64(len(p.Config)))
	root.pluginConfig = false
	v.finishCall()
	if !ok {
		return errors.New("failed to configure Wasm plugin: the module trapped in proxy_on_configure")
	}
	if r == 0 {
		return errors.New("failed to configure Wasm plugin: proxy_on_configure returned false")
	}
	return nil
}

// Root-context callbacks, each with cpp-host's failure check and after-call actions.

func (v *vm) onTick(root *pctx) {
	if v.failed || v.fn.onTick == nil || root.deleted {
		return
	}
	v.invoke(root, "proxy_on_tick", v.fn.onTick, uint64(root.id))
	v.finishCall()
}

func (v *vm) onQueueReady(rootID, token uint32) {
	c := v.contexts[rootID]
	if v.failed || v.closed.Load() || v.fn.onQueueReady == nil || c == nil {
		return
	}
	v.invoke(c, "proxy_on_queue_ready", v.fn.onQueueReady, uint64(rootID), uint64(token))
	v.finishCall()
}

// onRootDone runs a root's on_done and reports whether it may be deleted now.
func (v *vm) onRootDone(root *pctx) bool {
	if v.failed || v.fn.onDone == nil {
		return true
	}
	r, ok := v.invoke(root, "proxy_on_done", v.fn.onDone, uint64(root.id))
	v.finishCall()
	return !ok || r != 0
}

func (v *vm) onRootDelete(root *pctx) {
	if root.deleted {
		return
	}
	root.deleted = true
	if !v.failed && v.fn.onDelete != nil {
		v.invoke(root, "proxy_on_delete", v.fn.onDelete, uint64(root.id))
		v.finishCall()
	}
}

// rootsDeleted reports whether every root context is gone.
func (v *vm) rootsDeleted() bool {
	for _, r := range v.roots {
		if !r.deleted {
			return false
		}
	}
	return true
}

// setTick arms, re-arms or (period 0) cancels a root context's timer.
func (v *vm) setTick(root *pctx, period time.Duration) {
	root.tickPeriod = period
	if period > 0 {
		root.tickDue = v.h.clock.Monotonic() + period
	}
	v.h.wakeTicks()
}

// post schedules f on this VM's event loop (cpp-host's call_on_thread / dispatcher.post).
func (v *vm) post(f func()) {
	v.mboxMu.Lock()
	if v.closed.Load() {
		v.mboxMu.Unlock()
		return
	}
	v.mailbox = append(v.mailbox, f)
	v.mboxMu.Unlock()
	v.h.mailPending.Add(1)
}

// runMail runs queued events; the caller holds mu.
func (v *vm) runMail() {
	for {
		v.mboxMu.Lock()
		if len(v.mailbox) == 0 {
			v.mboxMu.Unlock()
			return
		}
		f := v.mailbox[0]
		v.mailbox[0] = nil
		v.mailbox = v.mailbox[1:]
		v.mboxMu.Unlock()
		v.h.mailPending.Add(-1)
		if !v.closed.Load() {
			f()
		}
	}
}

func (v *vm) hasMail() bool {
	v.mboxMu.Lock()
	defer v.mboxMu.Unlock()
	return len(v.mailbox) > 0
}

// lock takes the VM; unlock runs its queued events first, then wakes other VMs' events.
func (v *vm) lock() { v.mu.Lock() }

func (v *vm) unlock() {
	v.runMail()
	v.mu.Unlock()
	v.h.drain()
}

// environ is the VM's environment, sorted for determinism (Envoy iterates a hash map).
func (v *vm) environ() []string {
	keys := make([]string, 0, len(v.h.cfg.Env))
	for k := range v.h.cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + v.h.cfg.Env[k]
	}
	return out
}

func (v *vm) close(ctx context.Context) {
	if v.closed.Load() {
		return
	}
	v.closed.Store(true)
	v.mboxMu.Lock()
	v.h.mailPending.Add(-int64(len(v.mailbox)))
	v.mailbox = nil
	v.mboxMu.Unlock()
	if v.thread != nil {
		v.thread.stop()
	}
	v.mod.Close(ctx)
}
