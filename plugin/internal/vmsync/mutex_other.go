//go:build !wasip1

package vmsync

import "sync"

// Mutex is sync.Mutex outside the VM.
type Mutex = sync.Mutex
