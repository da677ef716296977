package shareddata

import (
	"errors"
	"sync"
	"testing"
)

func TestMemoryCASRules(t *testing.T) {
	m := NewMemory()
	if _, _, err := m.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get absent: err = %v, want ErrNotFound", err)
	}
	if err := m.Set("k", []byte("a"), 7); err != nil {
		t.Fatalf("Set absent with cas 7: err = %v, want nil (Envoy creates the key)", err)
	}
	v, cas, err := m.Get("k")
	if err != nil || string(v) != "a" || cas != 1 {
		t.Fatalf("Get = %q, %d, %v; want a, 1, nil", v, cas, err)
	}
	if err := m.Set("k", []byte("b"), cas); err != nil {
		t.Fatalf("Set with current cas: %v", err)
	}
	if err := m.Set("k", []byte("c"), cas); !errors.Is(err, ErrCASMismatch) {
		t.Fatalf("Set with stale cas: err = %v, want ErrCASMismatch", err)
	}
	v, cas, _ = m.Get("k")
	if string(v) != "b" || cas != 2 {
		t.Fatalf("Get = %q, %d; want b, 2", v, cas)
	}
}

func TestMemoryConcurrentIncrementsLoseNothing(t *testing.T) {
	m := NewMemory()
	// Seed the key: a Set with cas 0 is unconditional, so two workers racing to create it would
	// legitimately overwrite each other.
	if err := m.Set("n", []byte{0, 0}, 0); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 500
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				for {
					v, cas, _ := m.Get("n")
					n := int(v[0])<<8 | int(v[1])
					n++
					if m.Set("n", []byte{byte(n >> 8), byte(n)}, cas) == nil {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	v, _, _ := m.Get("n")
	if got := int(v[0])<<8 | int(v[1]); got != workers*each {
		t.Fatalf("counter = %d, want %d", got, workers*each)
	}
}
