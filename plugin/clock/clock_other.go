//go:build !wasip1

package clock

import "time"

// Now is the wall clock in nanoseconds.
func Now() int64 { return time.Now().UnixNano() }
