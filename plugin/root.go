package main

import (
	"math"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/clock"
	"github.com/stepgate/stepgate/plugin/config"
	"github.com/stepgate/stepgate/plugin/estimate"
	"github.com/stepgate/stepgate/plugin/fleet"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// tickPeriod is how often held (shaped) requests are looked at. It bounds how late a held request
// leaves after its tokens are due; the tick only runs while something is held (with fleet rules it
// never stops, see fleetIdleTick).
const tickPeriod = 5 * time.Millisecond

// fleetIdleTick is the tick period of a VM with fleet rules and nothing held or waiting: how often
// leases at half their block are refilled.
const fleetIdleTick = 20 * time.Millisecond

// pluginContext is the root context of one plugin instance in one VM. It holds the parsed
// configuration and the per-VM engines every stream of this VM uses, and the streams that
// shaping holds until their tokens are due.
type pluginContext struct {
	types.DefaultPluginContext
	cfg       *config.Config
	throttler *throttle.Throttler // nil without rules
	router    *aiformat.Router    // nil without providers/models
	fleet     *fleet.Fleet        // nil without fleet rules
	learner   *estimate.Learner   // nil unless throttle.learn_completion
	metrics   metrics

	// headerBuf is reused for the throttle's response headers: streams of one VM never run at
	// the same time, and the values it points to outlive it (see throttle.Decision.ResponseHeaders).
	headerBuf []throttle.Header

	free      []*httpContext          // finished stream contexts, for reuse
	held      map[uint32]held         // stream context id → its hold
	nextDue   int64                   // the earliest release time in held
	waiting   map[uint32]*httpContext // streams waiting for a fleet lease
	ticking   bool
	tick      time.Duration // the tick period in force
	needsBody bool          // some throttle rule needs the request body
}

// OnPluginStart parses the configuration. A bad configuration fails the plugin start (Envoy then
// refuses the listener update), with a log line that names the field.
func (p *pluginContext) OnPluginStart(configSize int) types.OnPluginStartStatus {
	var data []byte
	if configSize > 0 {
		var err error
		data, err = proxywasm.GetPluginConfiguration()
		if err != nil {
			p.logf(config.LevelCritical, "stepgate: reading plugin configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	cfg, err := config.Parse(data)
	if err != nil {
		p.logf(config.LevelCritical, "stepgate: invalid configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	if len(cfg.Throttle.Rules) > 0 {
		cfg.Throttle.ReleaseSlack = tickPeriod // held requests leave on the tick: up to a period late
		t, err := throttle.New(cfg.Throttle, hostStore{})
		if err != nil {
			p.logf(config.LevelCritical, "stepgate: invalid configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.throttler = t
		p.needsBody = t.NeedsBody()
		if cfg.Throttle.LearnCompletion {
			p.learner = estimate.New(hostStore{})
		}
	}
	if len(cfg.Fleet.Rules) > 0 {
		f, err := fleet.New(cfg.Fleet, hostStore{})
		if err != nil {
			p.logf(config.LevelCritical, "stepgate: invalid configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.fleet, p.needsBody = f, p.needsBody || f.NeedsBody()
		p.waiting = make(map[uint32]*httpContext)
		p.setTick(fleetIdleTick)
	}
	if cfg.AI != nil {
		p.router = aiformat.NewRouter(cfg.AI, hostStore{})
	}
	p.held = make(map[uint32]held)
	p.metrics.init()
	p.logf(config.LevelInfo, "stepgate %s: configuration loaded (%d throttle rules, %d providers, %d API keys, %d prompts)",
		config.Version, len(cfg.Throttle.Rules), providerCount(cfg.AI), keyCount(cfg), promptCount(cfg))
	return types.OnPluginStartStatusOK
}

func keyCount(cfg *config.Config) int {
	if cfg.Governance == nil {
		return 0
	}
	return cfg.Governance.KeyCount()
}

func promptCount(cfg *config.Config) int {
	if cfg.Prompts == nil {
		return 0
	}
	return len(cfg.Prompts.Prompts)
}

func providerCount(ai *aiformat.Config) int {
	if ai == nil {
		return 0
	}
	return len(ai.Providers)
}

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	var h *httpContext
	if n := len(p.free); n > 0 {
		h, p.free = p.free[n-1], p.free[:n-1]
	} else {
		h = new(httpContext)
	}
	*h = httpContext{root: p, id: contextID, req: h.req.recycled(false), resp: h.resp.recycled(true), store: h.store}
	return h
}

// maxFree bounds the stream contexts kept for reuse: enough for the streams one worker finishes
// between two of its new ones, whatever the burst.
const maxFree = 64

// recycle keeps a finished stream's context for the next stream. Envoy's last call for a stream
// is proxy_on_log (OnHttpStreamDone); proxy_on_done and proxy_on_delete follow, and the SDK only
// drops its map entry for them, never calling the context again. Inside the VM, reusing the
// context saves allocating and later collecting about 1 KB per request.
func (p *pluginContext) recycle(h *httpContext) {
	if len(p.free) < maxFree {
		p.free = append(p.free, h)
	}
}

// held is a stream parked by shaping.
type held struct {
	since, until int64 // ns
	rule, step   string
	stream       *httpContext
}

// hold parks a stream until its shaping delay has passed; the tick continues it.
func (p *pluginContext) hold(contextID uint32, hd held) {
	if len(p.held) == 0 || hd.until < p.nextDue {
		p.nextDue = hd.until
	}
	p.held[contextID] = hd
	p.metrics.shaped(hd.rule, 1)
	p.startTick()
}

// startTick makes the tick run at tickPeriod: something is held or waiting.
func (p *pluginContext) startTick() { p.setTick(tickPeriod) }

// setTick sets the tick period (0 stops it) when it changes.
func (p *pluginContext) setTick(d time.Duration) {
	if p.tick == d {
		return
	}
	p.tick, p.ticking = d, d > 0
	if err := proxywasm.SetTickPeriodMilliSeconds(uint32(d / time.Millisecond)); err != nil {
		p.logf(config.LevelError, "stepgate: setting the tick: %v", err)
	}
}

// forget drops a held stream that ended before it was continued (the client went away).
func (p *pluginContext) forget(contextID uint32) {
	if hd, ok := p.held[contextID]; ok {
		delete(p.held, contextID)
		p.metrics.shaped(hd.rule, -1)
	}
}

// OnTick continues every held stream whose time has come.
func (p *pluginContext) OnTick() {
	now := clock.Now()
	p.releaseDue(now)
	if p.fleet != nil {
		p.fleet.Tick(now)
		p.dispatchLeases()
		p.wakeWaiting(now)
		if len(p.held) == 0 && len(p.waiting) == 0 {
			p.setTick(fleetIdleTick) // leases are refilled from the tick: it keeps running
		}
		return
	}
	if len(p.held) == 0 && p.ticking {
		p.setTick(0)
	}
}

// releaseDue continues every held stream whose time has come — all of them at once when it runs
// late — and reports whether it continued any. The tick calls it, and so does every new request:
// a busy worker runs its tick late, while its callbacks keep coming. Order among streams due
// together does not matter for fairness: each one's tokens were reserved, in arrival order, when
// it was held. Each continued stream then frees its place in its buckets' queues: until that
// moment it counts against max_queue, however late.
func (p *pluginContext) releaseDue(now int64) bool {
	if len(p.held) == 0 || p.nextDue > now {
		return false
	}
	next := int64(math.MaxInt64)
	for id, hd := range p.held {
		if hd.until > now {
			next = min(next, hd.until)
			continue
		}
		delete(p.held, id)
		p.metrics.shaped(hd.rule, -1)
		p.metrics.shapeDelay(hd.rule, hd.step, (now-hd.since)/int64(time.Millisecond))
		// Continuing takes effect when the current callback returns (proxy_continue_stream).
		if err := proxywasm.SetEffectiveContext(id); err == nil {
			if err := proxywasm.ResumeHttpRequest(); err != nil {
				p.logf(config.LevelWarn, "stepgate: continuing held stream %d: %v", id, err)
			}
		}
		_ = p.throttler.Resume(now, &hd.stream.decision.Reservation)
		if m := hd.stream.mcp; m != nil {
			for i := range m.extra { // a batch's other held messages share this stream's hold
				_ = p.throttler.Resume(now, &m.extra[i].Reservation)
			}
		}
	}
	p.nextDue = next
	return true
}
