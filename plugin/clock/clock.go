// Package clock reads the wall clock the filter decides with, in nanoseconds since the Unix epoch.
//
// Inside the VM, time.Now costs two host calls (WASI's realtime and monotonic clocks) and the filter
// only needs the first: every worker VM, and hostsim's virtual clock, share the wall clock, so
// bucket state kept in shared data can be compared across VMs.
package clock
