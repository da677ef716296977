// Package shareddata is the domain packages' view of proxy-wasm shared data: a key-value store
// shared by every worker VM of one Envoy, where each write is conditional on a compare-and-swap
// token. Domain logic (throttle buckets, circuit breakers) is written against Store so it can be
// tested natively with Memory; inside the VM the filter adapts the SDK's GetSharedData and
// SetSharedData to it.
//
// It is not a cache and not a database: values are small, keys are bounded by their users.
package shareddata

import (
	"errors"
	"sync"
)

// ErrNotFound is returned by Get for a key that was never set.
var ErrNotFound = errors.New("shareddata: not found")

// ErrCASMismatch is returned by Set when the key changed since the cas the caller read.
var ErrCASMismatch = errors.New("shareddata: cas mismatch")

// Store is proxy-wasm shared data as Envoy implements it: cas values start at 1 and are never 0;
// Set with cas 0 always succeeds; a stale non-zero cas on an existing key fails with
// ErrCASMismatch, while a Set of an absent key always succeeds (cpp-host's SharedData::set
// creates it whatever the cas); every successful Set issues a new cas. Get of an absent key
// returns ErrNotFound.
type Store interface {
	Get(key string) (value []byte, cas uint32, err error)
	Set(key string, value []byte, cas uint32) error
}

// Memory is an in-process Store with Envoy's semantics, safe for concurrent use. Tests use it to
// stand in for the host; several goroutines sharing one Memory behave like several worker VMs.
type Memory struct {
	mu      sync.Mutex
	nextCAS uint32
	entries map[string]entry
}

type entry struct {
	value []byte
	cas   uint32
}

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{entries: make(map[string]entry)} }

// Get returns a copy of the value and its cas.
func (m *Memory) Get(key string) ([]byte, uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, 0, ErrNotFound
	}
	return append([]byte(nil), e.value...), e.cas, nil
}

// Set stores a copy of value if the key is absent, cas is 0, or cas matches the key's current cas.
func (m *Memory) Set(key string, value []byte, cas uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if ok && cas != 0 && e.cas != cas {
		return ErrCASMismatch
	}
	m.nextCAS++
	if m.nextCAS == 0 { // wrapped: cas is never 0
		m.nextCAS = 1
	}
	m.entries[key] = entry{value: append([]byte(nil), value...), cas: m.nextCAS}
	return nil
}
