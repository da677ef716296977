//go:build stepgate_sdkbridge && wasip1

// This file is copied into the SDK's proxywasm/internal package by build.sh. It exports the
// proxy_on_* callbacks with //go:wasmexport (the SDK marks them with TinyGo's //export, which
// standard Go ignores) and forwards each to the SDK's own handler. Booleans and Go ints cross the
// ABI as 32-bit values, so every export takes uint32 and widens.

package internal

import (
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// mainMain is the plugin's main.main. A reactor (-buildmode=c-shared) never runs it, but plugins
// written for TinyGo register their VM context there, so the first context creation runs it once.
// Plugins that register in init() need nothing: their main is empty.
//
//go:linkname mainMain main.main
func mainMain()

var mainDone bool

// pending holds the blocks handed to the host during the current host call. The host only keeps
// their 32-bit address; holding the slices here keeps the garbage collector from reclaiming them
// before returnData turns the address back into the Go pointer it came from.
var pending [][]byte

//go:wasmexport proxy_on_memory_allocate
func exportOnMemoryAllocate(size uint32) unsafe.Pointer {
	buf := make([]byte, max(size, 1)) // the host may ask for 0 bytes; never hand out a nil block
	pending = append(pending, buf)
	return unsafe.Pointer(&buf[0])
}

// hostAllocated maps an address the host wrote into a return slot back to the block we allocated.
func hostAllocated(addr uint32) *byte {
	if addr == 0 {
		return nil
	}
	for _, buf := range pending {
		if uint32(uintptr(unsafe.Pointer(&buf[0]))) == addr {
			return &buf[0]
		}
	}
	return nil
}

func forgetAllocations() {
	clear(pending)
	pending = pending[:0]
}

//go:wasmexport proxy_abi_version_0_2_0
func exportABIVersion() { proxyABIVersion() }

//go:wasmexport proxy_on_context_create
func exportOnContextCreate(contextID, parentID uint32) {
	if !mainDone {
		mainDone = true
		mainMain()
	}
	proxyOnContextCreate(contextID, parentID)
}

//go:wasmexport proxy_on_vm_start
func exportOnVMStart(rootID, configSize uint32) uint32 {
	return b2u(bool(proxyOnVMStart(rootID, int(configSize))))
}

//go:wasmexport proxy_on_configure
func exportOnConfigure(rootID, configSize uint32) uint32 {
	return b2u(bool(proxyOnConfigure(rootID, int(configSize))))
}

//go:wasmexport proxy_on_tick
func exportOnTick(rootID uint32) { proxyOnTick(rootID) }

//go:wasmexport proxy_on_queue_ready
func exportOnQueueReady(rootID, queueID uint32) { proxyOnQueueReady(rootID, queueID) }

//go:wasmexport proxy_on_new_connection
func exportOnNewConnection(contextID uint32) uint32 {
	return uint32(proxyOnNewConnection(contextID))
}

//go:wasmexport proxy_on_downstream_data
func exportOnDownstreamData(contextID, size, endOfStream uint32) uint32 {
	return uint32(proxyOnDownstreamData(contextID, int(size), endOfStream != 0))
}

//go:wasmexport proxy_on_downstream_connection_close
func exportOnDownstreamConnectionClose(contextID, peer uint32) {
	proxyOnDownstreamConnectionClose(contextID, types.PeerType(peer))
}

//go:wasmexport proxy_on_upstream_data
func exportOnUpstreamData(contextID, size, endOfStream uint32) uint32 {
	return uint32(proxyOnUpstreamData(contextID, int(size), endOfStream != 0))
}

//go:wasmexport proxy_on_upstream_connection_close
func exportOnUpstreamConnectionClose(contextID, peer uint32) {
	proxyOnUpstreamConnectionClose(contextID, types.PeerType(peer))
}

//go:wasmexport proxy_on_request_headers
func exportOnRequestHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(proxyOnRequestHeaders(contextID, int(numHeaders), endOfStream != 0))
}

//go:wasmexport proxy_on_request_body
func exportOnRequestBody(contextID, size, endOfStream uint32) uint32 {
	return uint32(proxyOnRequestBody(contextID, int(size), endOfStream != 0))
}

//go:wasmexport proxy_on_request_trailers
func exportOnRequestTrailers(contextID, numTrailers uint32) uint32 {
	return uint32(proxyOnRequestTrailers(contextID, int(numTrailers)))
}

//go:wasmexport proxy_on_response_headers
func exportOnResponseHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(proxyOnResponseHeaders(contextID, int(numHeaders), endOfStream != 0))
}

//go:wasmexport proxy_on_response_body
func exportOnResponseBody(contextID, size, endOfStream uint32) uint32 {
	return uint32(proxyOnResponseBody(contextID, int(size), endOfStream != 0))
}

//go:wasmexport proxy_on_response_trailers
func exportOnResponseTrailers(contextID, numTrailers uint32) uint32 {
	return uint32(proxyOnResponseTrailers(contextID, int(numTrailers)))
}

//go:wasmexport proxy_on_http_call_response
func exportOnHttpCallResponse(rootID, calloutID, numHeaders, bodySize, numTrailers uint32) {
	proxyOnHttpCallResponse(rootID, calloutID, int(numHeaders), int(bodySize), int(numTrailers))
}

//go:wasmexport proxy_on_log
func exportOnLog(contextID uint32) { proxyOnLog(contextID) }

//go:wasmexport proxy_on_done
func exportOnDone(contextID uint32) uint32 { return b2u(proxyOnDone(contextID)) }

//go:wasmexport proxy_on_delete
func exportOnDelete(contextID uint32) { proxyOnDelete(contextID) }

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
