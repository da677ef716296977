// Package vmsync is the mutex of state that native code (tests, tools) may share between
// goroutines, but that inside the VM only one goroutine ever touches: a proxy-wasm VM runs one
// callback at a time on its one thread, and the filter starts no goroutine. Inside the VM,
// sync.Mutex's atomic operations are function calls, which cost more than the few instructions
// each section guards (a Doc taken from a cache, a buffer from a spare); there Mutex does nothing.
package vmsync
