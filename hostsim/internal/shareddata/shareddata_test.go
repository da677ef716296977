package shareddata

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

func TestCASRules(t *testing.T) {
	s := New()
	if _, _, st := s.Get("vm", "k"); st != abi.NotFound {
		t.Fatalf("Get absent = %v", st)
	}
	// A non-zero cas on an absent key succeeds: cpp-host only compares against an existing entry.
	if st := s.Set("vm", "k", []byte("a"), 42); st != abi.OK {
		t.Fatalf("Set absent with cas = %v", st)
	}
	v, cas, st := s.Get("vm", "k")
	if st != abi.OK || string(v) != "a" || cas != 1 {
		t.Fatalf("Get = %q %d %v, want a 1 OK", v, cas, st)
	}
	if st := s.Set("vm", "k", []byte("b"), 7); st != abi.CasMismatch {
		t.Fatalf("stale cas = %v", st)
	}
	if st := s.Set("vm", "k", []byte("b"), cas); st != abi.OK {
		t.Fatalf("matching cas = %v", st)
	}
	if _, cas2, _ := s.Get("vm", "k"); cas2 != 2 {
		t.Fatalf("cas after set = %d, want 2", cas2)
	}
	if st := s.Set("vm", "k", []byte("c"), 0); st != abi.OK {
		t.Fatalf("cas 0 = %v", st)
	}
	// Partitions by vm_id: same key elsewhere is absent, and the counter is global.
	if _, _, st := s.Get("other", "k"); st != abi.NotFound {
		t.Fatalf("other vm_id sees key: %v", st)
	}
	s.Set("other", "k", nil, 0)
	if _, c, _ := s.Get("other", "k"); c != 4 {
		t.Fatalf("global cas counter: got %d, want 4", c)
	}
}

func TestCASNeverZero(t *testing.T) {
	s := New()
	s.cas = ^uint32(0)
	s.Set("vm", "a", nil, 0)
	s.Set("vm", "b", nil, 0)
	_, ca, _ := s.Get("vm", "a")
	_, cb, _ := s.Get("vm", "b")
	if ca != ^uint32(0) || cb != 1 {
		t.Fatalf("wrap: got %d then %d, want max then 1", ca, cb)
	}
}

func TestRemoveAndKeys(t *testing.T) {
	s := New()
	s.Set("vm", "b", nil, 0)
	s.Set("vm", "a", nil, 0)
	if got := s.Keys("vm"); len(got) != 2 || got[0] != "a" {
		t.Fatalf("Keys = %q", got)
	}
	if st := s.Remove("vm", "a", 99); st != abi.CasMismatch {
		t.Fatalf("Remove stale = %v", st)
	}
	if st := s.Remove("vm", "a", 0); st != abi.OK {
		t.Fatalf("Remove = %v", st)
	}
	if st := s.Remove("vm", "a", 0); st != abi.NotFound {
		t.Fatalf("Remove absent = %v", st)
	}
}

// Concurrent CAS increments from many "workers" never lose an update.
func TestConcurrentCASCounter(t *testing.T) {
	s := New()
	const workers, each = 8, 200
	s.Set("vm", "n", binary.LittleEndian.AppendUint64(nil, 0), 0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				for {
					v, cas, _ := s.Get("vm", "n")
					next := binary.LittleEndian.AppendUint64(nil, binary.LittleEndian.Uint64(v)+1)
					if s.Set("vm", "n", next, cas) == abi.OK {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	v, _, _ := s.Get("vm", "n")
	if got := binary.LittleEndian.Uint64(v); got != workers*each {
		t.Fatalf("counter = %d, want %d", got, workers*each)
	}
}
