// Package sharedqueue is proxy-wasm shared queues as proxy-wasm-cpp-host implements them: one
// registry per process, queues keyed by (vm_id, name), tokens from 1, and an enqueue that
// notifies the root context which registered the queue last.
//
// The notification is how on_queue_ready reaches a plugin. cpp-host posts it to the registering
// worker's event loop instead of calling it inline; Notify functions given to Register must
// likewise only schedule work, never run a VM callback directly (the enqueuing VM is busy).
package sharedqueue

import (
	"sync"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

// Notify schedules on_queue_ready(token) on the registering root context.
type Notify func(token uint32)

type key struct{ vmID, name string }

type queue struct {
	items  [][]byte
	notify Notify
}

// Registry holds every queue. The zero value is not usable; call New.
type Registry struct {
	mu     sync.Mutex
	next   uint32
	tokens map[key]uint32
	queues map[uint32]*queue
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{next: 1, tokens: make(map[key]uint32), queues: make(map[uint32]*queue)}
}

// Register returns the token of queue (vmID, name), creating it if needed. The queue's notify
// target becomes the caller's (re-registering from another worker moves it); queued items stay.
func (r *Registry) Register(vmID, name string, notify Notify) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{vmID, name}
	tok, ok := r.tokens[k]
	if !ok {
		tok = r.nextToken()
		r.tokens[k] = tok
	}
	q := r.queues[tok]
	if q == nil {
		q = &queue{}
		r.queues[tok] = q
	}
	q.notify = notify
	return tok
}

func (r *Registry) nextToken() uint32 {
	for {
		t := r.next
		r.next++
		if t == 0 {
			continue
		}
		if _, used := r.queues[t]; !used {
			return t
		}
	}
}

// Resolve returns the token of queue (vmID, name), or 0 when it was never registered.
func (r *Registry) Resolve(vmID, name string) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokens[key{vmID, name}]
}

// Dequeue pops the oldest item: NOT_FOUND for an unknown token, EMPTY for an empty queue.
func (r *Registry) Dequeue(token uint32) ([]byte, abi.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.queues[token]
	if q == nil {
		return nil, abi.NotFound
	}
	if len(q.items) == 0 {
		return nil, abi.Empty
	}
	item := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return item, abi.OK
}

// Enqueue appends a copy of value and notifies the queue's registrant (outside the lock).
func (r *Registry) Enqueue(token uint32, value []byte) abi.Status {
	r.mu.Lock()
	q := r.queues[token]
	if q == nil {
		r.mu.Unlock()
		return abi.NotFound
	}
	q.items = append(q.items, append([]byte(nil), value...))
	notify := q.notify
	r.mu.Unlock()
	if notify != nil {
		notify(token)
	}
	return abi.OK
}

// Len is the number of items waiting in a queue (for tests and inspection).
func (r *Registry) Len(token uint32) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := r.queues[token]; q != nil {
		return len(q.items)
	}
	return 0
}
