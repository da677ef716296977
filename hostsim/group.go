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

func newGroup() *group {
	g := &group{}
	g.members.Store(&[]*Host{})
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

// drain runs the events posted to self's VMs, then to those of the other hosts of the group.
// A host joins once its VMs exist, so that others never read its VM list while it grows.
func (g *group) drain(self *Host) {
	self.drainOwn()
	for _, h := range *g.members.Load() {
		if h != self {
			h.drainOwn()
		}
	}
}
