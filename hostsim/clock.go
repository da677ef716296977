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
}

// RealClock returns the system clock. Ticks fire from a goroutine of each Host.
func RealClock() Clock { return realClock{origin: time.Now()} }

type realClock struct{ origin time.Time }

func (c realClock) Now() time.Time                 { return time.Now() }
func (c realClock) Monotonic() time.Duration       { return time.Since(c.origin) }
func (c realClock) attach(h *Host) (detach func()) { return h.runTickLoop() }

// VirtualClock is a manual clock for tests. Time stands still until Advance moves it; Advance
// fires every tick that falls due on every attached Host, in time order and synchronously, so a
// test that advances past a throttling delay sees the resumed stream as soon as Advance returns.
type VirtualClock struct {
	mu    sync.Mutex
	wall  time.Time
	mono  time.Duration
	hosts []*Host
	busy  sync.Mutex // one Advance at a time
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

// Advance moves wall and monotonic time forward by d, firing due ticks on the way: each tick
// runs with the clock showing its due time. Ticks a plugin arms from on_tick fire too if they
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
		if next.v == nil {
			break
		}
		c.set(due)
		next.v.h.fireTick(next, due)
	}
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
