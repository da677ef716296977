//go:build !linux

package main

import "time"

// threadCPUTime falls back to the process's CPU time where no per-thread clock is at hand.
func threadCPUTime() time.Duration { return cpuTime() }
