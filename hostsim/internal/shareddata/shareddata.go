// Package shareddata is proxy-wasm shared data as proxy-wasm-cpp-host implements it: one store
// per process, partitioned by vm_id, shared by every worker VM and protected by one mutex.
//
// CAS rules (cpp-host's SharedData): a single counter issues cas values starting at 1 and
// skipping 0 when it wraps; every successful set takes the next value; set with cas 0 always
// succeeds; set with a non-zero cas succeeds when the key is absent or its cas matches, and
// otherwise fails with CAS_MISMATCH.
package shareddata

import (
	"sort"
	"sync"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

type entry struct {
	value []byte
	cas   uint32
}

// Store holds the shared data of every vm_id. The zero value is not usable; call New.
type Store struct {
	mu   sync.Mutex
	cas  uint32
	data map[string]map[string]entry
}

// New returns an empty store.
func New() *Store { return &Store{cas: 1, data: make(map[string]map[string]entry)} }

func (s *Store) nextCAS() uint32 {
	c := s.cas
	s.cas++
	if s.cas == 0 {
		s.cas++
	}
	return c
}

// Get returns a copy of the value of key in vmID's partition and its cas.
func (s *Store) Get(vmID, key string) ([]byte, uint32, abi.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[vmID][key]
	if !ok {
		return nil, 0, abi.NotFound
	}
	return append([]byte(nil), e.value...), e.cas, abi.OK
}

// Set stores a copy of value under key when cas is 0, the key is absent, or cas matches.
func (s *Store) Set(vmID, key string, value []byte, cas uint32) abi.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.data[vmID]
	if m == nil {
		m = make(map[string]entry)
		s.data[vmID] = m
	}
	if e, ok := m[key]; ok && cas != 0 && cas != e.cas {
		return abi.CasMismatch
	}
	m[key] = entry{value: append([]byte(nil), value...), cas: s.nextCAS()}
	return abi.OK
}

// Remove deletes key under the same cas rule as Set (cpp-host's SharedData::remove).
func (s *Store) Remove(vmID, key string, cas uint32) abi.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[vmID][key]
	if !ok {
		return abi.NotFound
	}
	if cas != 0 && cas != e.cas {
		return abi.CasMismatch
	}
	delete(s.data[vmID], key)
	return abi.OK
}

// Keys lists vmID's keys in sorted order.
func (s *Store) Keys(vmID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.data[vmID]))
	for k := range s.data[vmID] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
