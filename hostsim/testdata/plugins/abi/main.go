// Command abi is a plugin written straight against the proxy-wasm ABI, with no SDK: its host
// calls are //go:wasmimport declarations and its callbacks //go:wasmexport functions, so
// plain `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared` builds it. It proves that hostsim
// and its test kit serve any module, not only those of proxy-wasm-go-sdk.
//
// It logs "abi: request <method> <path>" at info and "abi: debug line" at debug for each
// request, adds x-abi: request to the request headers and x-abi: response to the response,
// and logs "abi: upstream service time MS" when the response carries Envoy's
// x-envoy-upstream-service-time.
package main

import "unsafe"

func main() {}

//go:wasmimport env proxy_log
func proxyLog(level uint32, msg *byte, size uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(t uint32, key *byte, keySize uint32, retData, retSize *uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(t uint32, key *byte, keySize uint32, value *byte, valueSize uint32) uint32

const (
	requestHeaders  = 0
	responseHeaders = 2
	logDebug        = 1
	logInfo         = 2
)

// allocated keeps every block the host asked for reachable, so the garbage collector never
// frees memory the host is about to fill; the plugin is short-lived in tests.
var allocated = map[uint32][]byte{}

//go:wasmexport proxy_abi_version_0_2_0
func abiVersion() {}

//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) uint32 {
	b := make([]byte, size+1) // never zero-length: the address must be real
	p := uint32(uintptr(unsafe.Pointer(&b[0])))
	allocated[p] = b
	return p
}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, rootID uint32) {}

//go:wasmexport proxy_on_vm_start
func onVMStart(rootID, size uint32) uint32 { return 1 }

//go:wasmexport proxy_on_configure
func onConfigure(rootID, size uint32) uint32 { return 1 }

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	logf(logInfo, "abi: request "+header(requestHeaders, ":method")+" "+header(requestHeaders, ":path"))
	logf(logDebug, "abi: debug line")
	addHeader(requestHeaders, "x-abi", "request")
	return 0
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(id, n, eos uint32) uint32 {
	if t := header(responseHeaders, "x-envoy-upstream-service-time"); t != "" {
		logf(logInfo, "abi: upstream service time "+t)
	}
	addHeader(responseHeaders, "x-abi", "response")
	return 0
}

//go:wasmexport proxy_on_log
func onLog(id uint32) {}

//go:wasmexport proxy_on_done
func onDone(id uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func onDelete(id uint32) {}

func logf(level uint32, msg string) {
	b := []byte(msg)
	proxyLog(level, unsafe.SliceData(b), uint32(len(b)))
}

func header(t uint32, key string) string {
	k := []byte(key)
	var data, size uint32
	if proxyGetHeaderMapValue(t, unsafe.SliceData(k), uint32(len(k)), &data, &size) != 0 {
		return ""
	}
	v := allocated[data]
	delete(allocated, data)
	return string(v[:size])
}

func addHeader(t uint32, key, value string) {
	k, v := []byte(key), []byte(value)
	proxyAddHeaderMapValue(t, unsafe.SliceData(k), uint32(len(k)), unsafe.SliceData(v), uint32(len(v)))
}
