package hostsim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/metrics"
	"github.com/stepgate/stepgate/hostsim/internal/shareddata"
	"github.com/stepgate/stepgate/hostsim/internal/sharedqueue"
)

// Host is one Envoy running one plugin: a compiled module, one VM per worker thread, and the
// process-wide state the VMs share (shared data, shared queues, metrics).
type Host struct {
	cfg     Config
	plugins []*Plugin // Config's plugin first, then Config.Plugins
	engine  *engine
	clock   Clock
	detach  func()

	vms  []*vm
	next atomic.Uint32 // round-robin worker choice

	shared  *shareddata.Store
	queues  *sharedqueue.Registry
	group   *group // the hosts sharing shared data and queues with this one
	metrics *metrics.Registry

	logMu sync.Mutex
	logs  []LogEntry

	mailPending atomic.Int64
	calls       sync.WaitGroup // outstanding proxy_http_call requests
	callCancel  context.CancelFunc
	callCtx     context.Context

	tickWake chan struct{}
	closed   atomic.Bool
	streams  atomic.Int64 // started and not yet ended
}

// New loads the module and starts the plugin as Envoy does: a base VM runs the module's start
// functions, a configuration canary VM starts and configures the plugin (a plugin that refuses
// its configuration fails New, with the plugin's warning and error log lines in the error), then
// one VM per worker is started and configured.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if len(cfg.Module) == 0 {
		return nil, errors.New("hostsim: Config.Module is empty")
	}
	cfg.withDefaults()
	plugins, err := pluginsOf(cfg)
	if err != nil {
		return nil, err
	}
	mod, err := abi.Inspect(cfg.Module)
	if err != nil {
		return nil, fmt.Errorf("hostsim: %w", err)
	}
	switch mod.Version {
	case abi.VersionUnknown:
		return nil, errors.New("hostsim: missing or unknown Proxy-Wasm ABI version (no proxy_abi_version_* export)")
	case abi.Version010:
		return nil, errors.New("hostsim: Proxy-Wasm ABI 0.1.0 is not supported (only 0.2.0 and 0.2.1)")
	}
	eng, err := getEngine(engineKey{version: mod.Version, legacy: cfg.LegacyWASI, cacheDir: cfg.CompilationCacheDir})
	if err != nil {
		return nil, err
	}
	cm, err := eng.compile(ctx, cfg.Module)
	if err != nil {
		return nil, err
	}
	if err := eng.check(mod, cm); err != nil {
		return nil, err
	}
	h := &Host{
		cfg: cfg, plugins: plugins, engine: eng, clock: cfg.Clock,
		shared: shareddata.New(), queues: sharedqueue.New(), metrics: metrics.NewRegistry(),
		tickWake: make(chan struct{}, 1),
	}
	if prev := cfg.SharedWith; prev != nil {
		h.shared, h.queues, h.group = prev.shared, prev.queues, prev.group
		// Only the stores and the group are shared: holding prev would keep every earlier host
		// (and its VMs' memory) alive through a chain of reloads.
		h.cfg.SharedWith = nil
	} else {
		h.group = newGroup()
	}
	h.callCtx, h.callCancel = context.WithCancel(context.Background())

	// The base VM only initializes; the canary proves the configuration and is discarded.
	if err := h.throwaway(ctx, cm, false); err != nil {
		return nil, h.startError(err)
	}
	if err := h.throwaway(ctx, cm, true); err != nil {
		return nil, h.startError(err)
	}
	for i := 0; i < cfg.Workers; i++ {
		v, err := newVM(ctx, h, cm, i)
		if err == nil {
			v.lock()
			if err = v.startVM(); err == nil {
				err = v.startPlugins()
			}
			v.mu.Unlock()
		}
		if err != nil {
			h.closeVMs(ctx)
			return nil, h.startError(fmt.Errorf("worker %d: %w", i, err))
		}
		v.thread = startThread()
		h.vms = append(h.vms, v)
	}
	h.group.join(h)
	h.detach = h.clock.attach(h)
	h.drain()
	return h, nil
}

// throwaway runs a VM Envoy creates and discards: the base VM (start functions only) or the
// configuration canary (started and configured too).
func (h *Host) throwaway(ctx context.Context, cm wazero.CompiledModule, configure bool) error {
	v, err := newVM(ctx, h, cm, -1)
	if err != nil {
		return err
	}
	v.lock()
	defer v.mu.Unlock()
	defer v.close(ctx)
	if err := v.startVM(); err != nil {
		return err
	}
	if configure {
		return v.startPlugins()
	}
	return nil
}

// startError names the plugin and appends what it logged at warn level and above, which is
// how a plugin explains a refused configuration.
func (h *Host) startError(err error) error {
	var lines []string
	for _, e := range h.Logs() {
		if e.Level >= LevelWarn {
			lines = append(lines, e.Message)
		}
	}
	msg := fmt.Sprintf("hostsim: plugin %q: %v", h.cfg.PluginName, err)
	if len(lines) > 0 {
		msg += ": " + strings.Join(lines, "; ")
	}
	return errors.New(msg)
}

// Close shuts the plugin down as Envoy does on drain: each root context gets proxy_on_done, and
// one that answers false stays alive (its ticks and callouts keep running) until it calls
// proxy_done or ctx ends; then proxy_on_delete runs and the VMs are released.
func (h *Host) Close(ctx context.Context) error {
	if h.closed.Swap(true) {
		return nil
	}
	for _, v := range h.vms {
		v.lock()
		for _, root := range v.roots {
			if v.onRootDone(root) {
				v.onRootDelete(root)
			} else {
				root.pendingDone = true
			}
		}
		v.unlock()
	}
	var err error
	for _, v := range h.vms {
		for {
			v.lock()
			done := v.rootsDeleted() || v.failed
			v.unlock()
			if done {
				break
			}
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(time.Millisecond):
				continue
			}
			break
		}
	}
	if h.detach != nil {
		h.detach()
	}
	h.callCancel()
	h.calls.Wait()
	h.closeVMs(context.Background())
	h.group.leave(h)
	return err
}

func (h *Host) closeVMs(ctx context.Context) {
	for _, v := range h.vms {
		v.mu.Lock()
		v.close(ctx)
		v.mu.Unlock()
	}
}

// ActiveStreams is the number of streams started (NewStream) that have not ended yet.
func (h *Host) ActiveStreams() int { return int(h.streams.Load()) }

// MemorySizes is the size in bytes of each worker VM's linear memory, in worker order (0 for a
// VM that has been closed). A Go module's memory only grows, so this is its high-water mark.
func (h *Host) MemorySizes() []uint64 {
	out := make([]uint64, len(h.vms))
	for i, v := range h.vms {
		v.mu.Lock()
		if !v.closed.Load() && v.mem != nil {
			out[i] = uint64(v.mem.Size())
		}
		v.mu.Unlock()
	}
	return out
}

// HostCalls counts the host functions the plugin called on every worker VM since it started
// (including proxy_on_vm_start and proxy_on_configure), by module and name: "env.proxy_log",
// "wasi_snapshot_preview1.clock_time_get". Functions never called are absent. Two snapshots
// subtracted give what a stretch of traffic called; Stream.HostCalls is one stream's total.
func (h *Host) HostCalls() map[string]uint64 {
	out := map[string]uint64{}
	for _, v := range h.vms {
		v.mu.Lock()
		for id, n := range v.hostCalls {
			if n > 0 {
				out[h.engine.callNames[id]] += n
			}
		}
		v.mu.Unlock()
	}
	return out
}

// Workers is the number of worker VMs.
func (h *Host) Workers() int { return len(h.vms) }

// Failed reports whether the VM of a worker has failed (trapped).
func (h *Host) Failed(worker int) bool {
	v := h.vms[worker]
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.failed
}

// drain runs the events posted to the VMs of every host sharing queues with h.
func (h *Host) drain() { h.group.drain(h) }

// drainOwn runs events posted to h's VMs (queue notifications, http-call responses) until none
// is left.
func (h *Host) drainOwn() {
	for h.mailPending.Load() > 0 {
		ran := false
		for _, v := range h.vms {
			if v.hasMail() && v.mu.TryLock() {
				v.runMail()
				v.mu.Unlock()
				ran = true
			}
		}
		if !ran {
			return // the VMs with mail are busy; their holders run it on unlock
		}
	}
}

// WaitIdle waits until every proxy_http_call has been answered and delivered, and no event is
// queued, or ctx ends. Tests call it after a plugin dispatched a callout.
func (h *Host) WaitIdle(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.calls.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	for h.mailPending.Load() > 0 {
		for _, v := range h.vms {
			if v.hasMail() {
				v.lock()
				v.unlock()
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// Logs returns the captured log lines, oldest first; with levels, only those levels.
func (h *Host) Logs(levels ...LogLevel) []LogEntry {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	kept := h.logs
	if len(kept) > h.cfg.LogCapacity {
		kept = kept[len(kept)-h.cfg.LogCapacity:]
	}
	if len(levels) == 0 {
		return append([]LogEntry(nil), kept...)
	}
	var out []LogEntry
	for _, e := range kept {
		for _, l := range levels {
			if e.Level == l {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// ClearLogs drops the captured log lines.
func (h *Host) ClearLogs() {
	h.logMu.Lock()
	h.logs = nil
	h.logMu.Unlock()
}

func (h *Host) addLog(e LogEntry) {
	if e.Level < h.cfg.LogLevel {
		return // below Envoy's wasm logger level: Envoy never writes it
	}
	e.Time = h.clock.Now()
	h.logMu.Lock()
	if len(h.logs) >= 2*h.cfg.LogCapacity { // drop the older half at once: amortized O(1)
		n := copy(h.logs, h.logs[len(h.logs)-h.cfg.LogCapacity:])
		clear(h.logs[n:])
		h.logs = h.logs[:n]
	}
	h.logs = append(h.logs, e)
	h.logMu.Unlock()
	if h.cfg.OnLog != nil {
		h.cfg.OnLog(e)
	}
}

// Metric is a custom metric as the stats store holds it (aggregated over workers).
type Metric struct {
	Name string
	// Type is "counter", "gauge" or "histogram".
	Type string
	// Value is the counter or gauge value.
	Value uint64
	// Count and Sum cover every value recorded into a histogram; Buckets[i] counts those
	// ≤ HistogramBounds[i] (cumulative, as Prometheus buckets).
	Count, Sum uint64
	Buckets    []uint64
	// Samples are the most recent values recorded into a histogram (at most
	// MaxHistogramSamples), oldest first.
	Samples []uint64
}

// HistogramBounds are the bucket bounds of histograms: Envoy's defaults
// (stats_config.histogram_bucket_settings unset), in the histogram's unit.
var HistogramBounds = append([]float64(nil), metrics.Bounds[:]...)

// MaxHistogramSamples is how many recent values a histogram keeps for inspection.
const MaxHistogramSamples = metrics.MaxSamples

// Metric returns the custom metric named name (as the plugin defined it, without Envoy's
// "wasmcustom." stats prefix).
func (h *Host) Metric(name string) (Metric, bool) {
	m, ok := h.metrics.Lookup(name)
	if !ok {
		return Metric{}, false
	}
	return exportMetric(m), true
}

// Metrics lists every custom metric.
func (h *Host) Metrics() []Metric {
	var out []Metric
	for _, m := range h.metrics.All() {
		out = append(out, exportMetric(m))
	}
	return out
}

func exportMetric(m *metrics.Metric) Metric {
	names := [...]string{"counter", "gauge", "histogram"}
	h := m.Histogram()
	return Metric{Name: m.Name, Type: names[m.Type], Value: m.Value(),
		Count: h.Count, Sum: h.Sum, Buckets: h.Buckets, Samples: h.Samples}
}

// SharedData returns the value and cas of key in the plugin's vm_id partition.
func (h *Host) SharedData(key string) (value []byte, cas uint32, ok bool) {
	v, c, st := h.shared.Get(h.cfg.VMID, key)
	return v, c, st == abi.OK
}

// SetSharedData writes key unconditionally, as another plugin on the same vm_id could.
func (h *Host) SetSharedData(key string, value []byte) {
	h.shared.Set(h.cfg.VMID, key, value, 0)
}

// Enqueue pushes value onto the shared queue (vmID, name) as another VM would; it reports
// false when no plugin registered that queue.
func (h *Host) Enqueue(vmID, name string, value []byte) bool {
	tok := h.queues.Resolve(vmID, name)
	if tok == 0 {
		return false
	}
	h.queues.Enqueue(tok, value)
	h.drain()
	return true
}

// Tick periods and firing.

func (h *Host) wakeTicks() {
	select {
	case h.tickWake <- struct{}{}:
	default:
	}
}

// A timer is one root context's tick timer on one worker.
type timer struct {
	v    *vm
	root *pctx
}

// nextTick finds the earliest armed tick of any root context of any worker.
func (h *Host) nextTick() (timer, time.Duration, bool) {
	var best timer
	var due time.Duration
	for _, v := range h.vms {
		v.mu.Lock()
		for _, r := range v.roots {
			if r.tickPeriod > 0 && !v.closed.Load() && (best.v == nil || r.tickDue < due) {
				best, due = timer{v, r}, r.tickDue
			}
		}
		v.mu.Unlock()
	}
	return best, due, best.v != nil
}

// fireTick runs on_tick on t's root context if its timer is still due at due, then re-arms it
// one period from now, as Envoy's tickHandler does.
func (h *Host) fireTick(t timer, due time.Duration) {
	v, r := t.v, t.root
	v.lock()
	if r.tickPeriod > 0 && r.tickDue == due && !v.closed.Load() {
		v.onTick(r)
		if r.tickPeriod > 0 { // Envoy re-enables the timer for one period after the tick
			r.tickDue = h.clock.Monotonic() + r.tickPeriod
		}
	}
	v.unlock()
}

// runTickLoop fires ticks on the real clock from a goroutine.
func (h *Host) runTickLoop() (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for {
			wait := time.Hour
			if v, due, ok := h.nextTick(); ok {
				if now := h.clock.Monotonic(); due <= now {
					h.fireTick(v, due)
					continue
				} else {
					wait = due - now
				}
			}
			timer.Reset(wait)
			select {
			case <-quit:
				return
			case <-h.tickWake:
			case <-timer.C:
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}()
	return func() { close(quit); <-done }
}
