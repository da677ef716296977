//go:build wasip1

package clock

import "time"

// clockRealtime is WASI's CLOCKID_REALTIME.
const clockRealtime = 0

//go:wasmimport wasi_snapshot_preview1 clock_time_get
func clockTimeGet(id uint32, precision uint64, time *uint64) uint32

// slot receives the host's answer. A local would escape to the heap (its address goes to the
// import), costing an allocation per read; the VM runs one call at a time.
var slot uint64

// Now is the wall clock in nanoseconds: one host call.
func Now() int64 {
	if clockTimeGet(clockRealtime, 1, &slot) != 0 {
		return time.Now().UnixNano() // not expected from Envoy; the runtime's own path then decides
	}
	return int64(slot)
}
