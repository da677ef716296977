package hostsim

import (
	"slices"
	"sync"
	"sync/atomic"
)

// A group is the hosts that stand for one Envoy process: those joined through
// Config.SharedWith. They share shared data and shared queues, so an enqueue on one host's VM
// may post on_queue_ready to another host's VM; draining a group runs such events wherever
// they wait.
type group struct {
	mu      sync.Mutex
	members atomic.Pointer[[]*Host] // copy on write: read on every VM unlock
}

func newGroup(h *Host) *group {
	g := &group{}
	g.members.Store(&[]*Host{h})
	return g
}

func (g *group) join(h *Host) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := append(slices.Clone(*g.members.Load()), h)
	g.members.Store(&m)
}

func (g *group) leave(h *Host) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := slices.DeleteFunc(slices.Clone(*g.members.Load()), func(x *Host) bool { return x == h })
	g.members.Store(&m)
}

// drain runs the events posted to the VMs of every host of the group.
func (g *group) drain() {
	for _, h := range *g.members.Load() {
		h.drainOwn()
	}
}
