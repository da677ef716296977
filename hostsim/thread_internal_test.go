package hostsim

import (
	"runtime"
	"testing"
)

// The thread runs what it is handed to the end before run returns, hands a panic back to the
// caller, and after stop runs work on the caller's goroutine.
func TestThreadRunsWorkAndHandsPanicsBack(t *testing.T) {
	th := startThread()
	var ran bool
	th.run(func() { ran = true })
	if !ran {
		t.Fatal("run returned before the work ran")
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the work's panic", r)
			}
		}()
		th.run(func() { panic("boom") })
	}()
	th.run(func() { ran = false }) // the thread survived the panic
	if ran {
		t.Fatal("the thread stopped after a panic")
	}
	th.stop()
	th.run(func() { ran = true })
	if !ran {
		t.Fatal("run after stop did not run the work")
	}
}

// The thread's stack is grown once: the same goroutine runs every call.
func TestThreadIsOneGoroutine(t *testing.T) {
	th := startThread()
	defer th.stop()
	var first, second []byte
	th.run(func() { first = goroutineHeader() })
	th.run(func() { second = goroutineHeader() })
	if string(first) != string(second) {
		t.Fatalf("calls ran on %q and %q", first, second)
	}
}

// goroutineHeader is "goroutine N [running]", naming the calling goroutine.
func goroutineHeader() []byte {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	for i, c := range buf {
		if c == '\n' {
			return buf[:i]
		}
	}
	return buf
}
