package main

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPUTime is the CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID, to the
// nanosecond: getrusage's per-thread figures move in scheduler ticks).
func threadCPUTime() time.Duration {
	const clockThreadCPUTime = 3
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
