package sharedqueue

import (
	"testing"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

func TestQueueLifecycle(t *testing.T) {
	r := New()
	if tok := r.Resolve("vm", "q"); tok != 0 {
		t.Fatalf("Resolve before Register = %d", tok)
	}
	var notified []string
	tok := r.Register("vm", "q", func(uint32) { notified = append(notified, "first") })
	if tok != 1 {
		t.Fatalf("first token = %d, want 1", tok)
	}
	if r.Resolve("vm", "q") != tok || r.Resolve("other", "q") != 0 {
		t.Fatal("Resolve is not keyed by (vm_id, name)")
	}
	if _, st := r.Dequeue(tok); st != abi.Empty {
		t.Fatalf("Dequeue empty = %v", st)
	}
	if st := r.Enqueue(tok, []byte("a")); st != abi.OK {
		t.Fatalf("Enqueue = %v", st)
	}
	// Re-registering (another worker) keeps the data and takes over notifications.
	if again := r.Register("vm", "q", func(uint32) { notified = append(notified, "second") }); again != tok {
		t.Fatalf("re-register token = %d", again)
	}
	r.Enqueue(tok, []byte("b"))
	if len(notified) != 2 || notified[0] != "first" || notified[1] != "second" {
		t.Fatalf("notified = %q", notified)
	}
	for _, want := range []string{"a", "b"} {
		if v, st := r.Dequeue(tok); st != abi.OK || string(v) != want {
			t.Fatalf("Dequeue = %q %v, want %q", v, st, want)
		}
	}
	if st := r.Enqueue(99, nil); st != abi.NotFound {
		t.Fatalf("Enqueue unknown = %v", st)
	}
	if _, st := r.Dequeue(99); st != abi.NotFound {
		t.Fatalf("Dequeue unknown = %v", st)
	}
	if r.Register("vm", "q2", nil) != 2 {
		t.Fatal("second queue token is not 2")
	}
}
