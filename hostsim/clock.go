package hostsim

import (
	"sync"
	"time"
)

// Clock is the time a Host shows its plugin: wall time for wasi clock_time_get(REALTIME) and
// proxy_get_current_time_nanoseconds, monotonic time for clock_time_get(MONOTONIC), and the
// schedule of proxy_on_tick.
//
// Use RealClock, or a *VirtualClock to make time (and ticks) move only when a test says so.
type Clock interface {
	// Now is the wall-clock time.
	Now() time.Time
	// Monotonic is the time elapsed since an arbitrary fixed origin.
	Monotonic() time.Duration

	// attach lets the clock drive the host's tick timers; only this package's clocks exist.
	attach(h *Host) (detach func())
	// afterFunc runs f once the monotonic time reaches at (a stream's timeouts), from the
	// clock's own goroutine or Advance; stop cancels it if it has not run.
	afterFunc(at time.Duration, f func()) (stop func())
}

// RealClock returns the system clock. Ticks fire from a goroutine of each Host.
func RealClock() Clock { return realClock{origin: time.Now()} }

type realClock struct{ origin time.Time }

func (c realClock) Now() time.Time                 { return time.Now() }
func (c realClock) Monotonic() time.Duration       { return time.Since(c.origin) }
func (c realClock) attach(h *Host) (detach func()) { return h.runTickLoop() }

func (c realClock) afterFunc(at time.Duration, f func()) (stop func()) {
	t := time.AfterFunc(at-c.Monotonic(), f)
	return func() { t.Stop() }
}

// VirtualClock is a manual clock for tests. Time stands still until Advance moves it; Advance
// fires every tick and stream timeout that falls due on every attached Host, in time order and
// synchronously, so a test that advances past a throttling delay sees the resumed stream (or one
// that advances past Config.StreamIdleTimeout sees the 408) as soon as Advance returns.
type VirtualClock struct {
	mu     sync.Mutex
	wall   time.Time
	mono   time.Duration
	hosts  []*Host
	timers []*virtualTimer
	busy   sync.Mutex // one Advance at a time
}

// virtualTimer is a pending afterFunc of a VirtualClock.
type virtualTimer struct {
	at time.Duration
	f  func()
}

// virtualMonotonicOrigin is where a VirtualClock's monotonic time starts. Not zero: the Go
// runtime aborts at start ("nanotime returning zero") on a monotonic clock reading 0, and
// Envoy's steady clock never does.
const virtualMonotonicOrigin = time.Hour

// NewVirtualClock returns a clock showing wall time start and monotonic time one hour.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{wall: start, mono: virtualMonotonicOrigin}
}

// Now implements Clock.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

// Monotonic implements Clock.
func (c *VirtualClock) Monotonic() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *VirtualClock) attach(h *Host) (detach func()) {
	c.mu.Lock()
	c.hosts = append(c.hosts, h)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.hosts {
			if x == h {
				c.hosts = append(c.hosts[:i], c.hosts[i+1:]...)
				return
			}
		}
	}
}

// Advance moves wall and monotonic time forward by d, firing due ticks and stream timeouts on
// the way: each runs with the clock showing its due time. Ticks a plugin arms from on_tick fire too if they
// fall within d.
func (c *VirtualClock) Advance(d time.Duration) {
	if d < 0 {
		panic("hostsim: VirtualClock.Advance with a negative duration")
	}
	c.busy.Lock()
	defer c.busy.Unlock()
	c.mu.Lock()
	target := c.mono + d
	c.mu.Unlock()
	for {
		c.mu.Lock()
		hosts := append([]*Host(nil), c.hosts...)
		c.mu.Unlock()
		var next timer
		var due time.Duration
		for _, h := range hosts {
			if t, at, ok := h.nextTick(); ok && at <= target && (next.v == nil || at < due) {
				next, due = t, at
			}
		}
		if t := c.nextTimer(); t != nil && t.at <= target && (next.v == nil || t.at < due) {
			c.set(t.at)
			c.stopTimer(t)
			t.f()
			continue
		}
		if next.v == nil {
			break
		}
		c.set(due)
		next.v.h.fireTick(next, due)
	}
	c.set(target)
}

// AdvanceLate moves wall and monotonic time forward by d without firing ticks, as when a busy
// worker's timer runs late: the ticks that fell due fire at the next Advance, all at once, with
// the clock showing the later time.
func (c *VirtualClock) AdvanceLate(d time.Duration) {
	if d < 0 {
		panic("hostsim: VirtualClock.AdvanceLate with a negative duration")
	}
	c.busy.Lock()
	defer c.busy.Unlock()
	c.mu.Lock()
	target := c.mono + d
	c.mu.Unlock()
	c.set(target)
}

func (c *VirtualClock) set(mono time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if mono > c.mono {
		c.wall = c.wall.Add(mono - c.mono)
		c.mono = mono
	}
}

func (c *VirtualClock) afterFunc(at time.Duration, f func()) (stop func()) {
	t := &virtualTimer{at: at, f: f}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	return func() { c.stopTimer(t) }
}

// nextTimer is the earliest pending timer (the first armed among equals).
func (c *VirtualClock) nextTimer() *virtualTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *virtualTimer
	for _, t := range c.timers {
		if best == nil || t.at < best.at {
			best = t
		}
	}
	return best
}

func (c *VirtualClock) stopTimer(t *virtualTimer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}
