// Command tcponly is a network (TCP) filter written against the ABI: it exports the L4
// callbacks (proxy_on_new_connection, proxy_on_downstream_data, ...) and none of the HTTP ones.
// hostsim runs HTTP filters only and must refuse it when it loads. Build it with plain
// `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`.
package main

import "unsafe"

func main() {}

var allocated = map[uint32][]byte{}

//go:wasmexport proxy_abi_version_0_2_0
func abiVersion() {}

//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) uint32 {
	b := make([]byte, size+1)
	p := uint32(uintptr(unsafe.Pointer(&b[0])))
	allocated[p] = b
	return p
}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, rootID uint32) {}

//go:wasmexport proxy_on_new_connection
func onNewConnection(id uint32) uint32 { return 0 }

//go:wasmexport proxy_on_downstream_data
func onDownstreamData(id, size, eos uint32) uint32 { return 0 }

//go:wasmexport proxy_on_upstream_data
func onUpstreamData(id, size, eos uint32) uint32 { return 0 }
