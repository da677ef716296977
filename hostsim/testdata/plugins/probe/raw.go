package main

import (
	"bytes"
	"encoding/binary"
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
)

// Direct imports of host functions, to observe the exact statuses the SDK hides.

//go:wasmimport env proxy_log
func rawLogImport(level uint32, msg unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func rawGetHeaderMapValue(t uint32, key unsafe.Pointer, keySize uint32, retData, retSize *uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func rawGetHeaderMapPairs(t uint32, retData, retSize *uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func rawAddHeaderMapValue(t uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

//go:wasmimport env proxy_get_header_map_size
func rawGetHeaderMapSize(t uint32, ret *uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func rawGetBufferBytes(t, start, length uint32, retData, retSize *uint32) uint32

//go:wasmimport env proxy_get_buffer_status
func rawGetBufferStatus(t uint32, retLen, retFlags *uint32) uint32

//go:wasmimport env proxy_set_buffer_bytes
func rawSetBufferBytes(t, start, length uint32, data unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_continue_stream
func rawContinueStream(t uint32) uint32

//go:wasmimport env proxy_close_stream
func rawCloseStreamImport(t uint32) uint32

//go:wasmimport env proxy_define_metric
func rawDefineMetric(t uint32, name unsafe.Pointer, size uint32, ret *uint32) uint32

//go:wasmimport env proxy_increment_metric
func rawIncrementMetric(id uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func rawRecordMetric(id uint32, value uint64) uint32

//go:wasmimport env proxy_get_metric
func rawGetMetric(id uint32, ret *uint64) uint32

//go:wasmimport env proxy_set_effective_context
func rawSetEffectiveContext(id uint32) uint32

//go:wasmimport env proxy_done
func rawDone() uint32

//go:wasmimport env proxy_call_foreign_function
func rawCallForeign(name unsafe.Pointer, nameSize uint32, args unsafe.Pointer, argsSize uint32, retData, retSize *uint32) uint32

//go:wasmimport env proxy_http_call
func rawHTTPCall(cluster unsafe.Pointer, clusterSize uint32, headers unsafe.Pointer, headersSize uint32,
	body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeout uint32, ret *uint32) uint32

//go:wasmimport env proxy_get_property
func rawGetProperty(path unsafe.Pointer, size uint32, retData, retSize *uint32) uint32

//go:wasmimport env proxy_set_shared_data
func rawSetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) uint32

//go:wasmimport env proxy_get_shared_data
func rawGetSharedData(key unsafe.Pointer, keySize uint32, retData, retSize, retCAS *uint32) uint32

//go:wasmimport env proxy_resolve_shared_queue
func rawResolveQueue(vmID unsafe.Pointer, vmIDSize uint32, name unsafe.Pointer, nameSize uint32, ret *uint32) uint32

//go:wasmimport env proxy_dequeue_shared_queue
func rawDequeue(id uint32, retData, retSize *uint32) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func rawEnqueue(id uint32, data unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_grpc_call
func rawGrpcCall(a, b, c, d, e, f, g, h, i, j, k uint32, ret *uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func rawNow(ret *uint64) uint32

//go:wasmimport env proxy_get_status
func rawGetStatus(code *uint32, retData, retSize *uint32) uint32

func ptr(s string) unsafe.Pointer {
	if s == "" {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

func bptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func rawCloseStream(t uint32) uint32 { return rawCloseStreamImport(t) }

func rawSetBuffer(t, start, length uint32, data string) uint32 {
	return rawSetBufferBytes(t, start, length, ptr(data), uint32(len(data)))
}

func pairs(kv ...string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(kv)/2))
	for _, s := range kv {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	}
	for _, s := range kv {
		b = append(append(b, s...), 0)
	}
	return b
}

// rawBattery logs "raw <case> <status>" for host calls whose statuses the tests pin down.
func rawBattery() {
	var d, n, c uint32
	var u uint64
	st := func(name string, status uint32) { logf("raw %s %d", name, status) }

	st("log-level-6", rawLogImport(6, ptr("x"), 1))
	st("log-level-5", rawLogImport(5, ptr("critical line"), 13))
	st("map-type-8", rawGetHeaderMapValue(8, ptr("a"), 1, &d, &n))
	st("map-missing-key", rawGetHeaderMapValue(0, ptr("x-absent"), 8, &d, &n))
	st("map-callout-pairs", rawGetHeaderMapPairs(6, &d, &n))
	st("map-callout-pairs-size", n)
	st("map-callout-value", rawGetHeaderMapValue(6, ptr("a"), 1, &d, &n))
	st("map-callout-add", rawAddHeaderMapValue(6, ptr("a"), 1, ptr("b"), 1))
	st("map-resp-headers-value", rawGetHeaderMapValue(2, ptr(":status"), 7, &d, &n))
	st("map-size", rawGetHeaderMapSize(0, &n))
	st("buffer-type-9", rawGetBufferBytes(9, 0, 1, &d, &n))
	st("buffer-plugin-config", rawGetBufferBytes(7, 0, 10, &d, &n))
	st("buffer-callout-body", rawGetBufferBytes(4, 0, 10, &d, &n))
	st("buffer-vm-config", rawGetBufferBytes(6, 0, 100, &d, &n))
	st("buffer-vm-config-write", rawSetBuffer(6, 0, 0, "x"))
	st("buffer-status-request", rawGetBufferStatus(0, &n, &c))
	st("buffer-request-body-empty", rawGetBufferBytes(0, 0, 10, &d, &n))
	st("buffer-request-body-write", rawSetBuffer(0, 0, 0, "x"))
	st("continue-type-4", rawContinueStream(4))
	st("continue-upstream", rawContinueStream(3))
	st("continue-downstream", rawContinueStream(2))
	st("close-downstream", rawCloseStream(2))
	name := "raw_counter"
	st("define-type-3", rawDefineMetric(3, ptr(name), uint32(len(name)), &d))
	rawDefineMetric(0, ptr(name), uint32(len(name)), &c)
	st("counter-id", c)
	st("counter-inc-0", rawIncrementMetric(c, 0))
	st("counter-inc-neg", rawIncrementMetric(c, -1))
	st("counter-inc-5", rawIncrementMetric(c, 5))
	st("counter-record-2", rawRecordMetric(c, 2))
	rawGetMetric(c, &u)
	st("counter-value", uint32(u))
	var g, h uint32
	rawDefineMetric(1, ptr("raw_gauge"), 9, &g)
	rawDefineMetric(2, ptr("raw_hist"), 8, &h)
	st("gauge-id", g)
	st("hist-id", h)
	st("gauge-inc-neg", rawIncrementMetric(g, -3))
	rawGetMetric(g, &u)
	st("gauge-value-low32", uint32(u))
	st("gauge-record", rawRecordMetric(g, 7))
	rawGetMetric(g, &u)
	st("gauge-value", uint32(u))
	st("hist-inc", rawIncrementMetric(h, 1))
	st("hist-get", rawGetMetric(h, &u))
	st("hist-record", rawRecordMetric(h, 9))
	st("metric-unknown-inc", rawIncrementMetric(1000, 1))
	st("metric-unknown-get", rawGetMetric(1000, &u))
	st("metric-unknown-record", rawRecordMetric(1001, 1))
	st("effective-unknown", rawSetEffectiveContext(9999))
	st("effective-zero", rawSetEffectiveContext(0))
	st("done-not-pending", rawDone())
	st("foreign-unknown", rawCallForeign(ptr("nope"), 4, nil, 0, &d, &n))
	st("foreign-sign", rawCallForeign(ptr("sign"), 4, nil, 0, &d, &n))
	in := "hello hello hello hello"
	st("foreign-compress", rawCallForeign(ptr("compress"), 8, ptr(in), uint32(len(in)), &d, &n))
	compressed := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(d))), n)
	comp := append([]byte(nil), compressed...)
	st("foreign-uncompress", rawCallForeign(ptr("uncompress"), 10, bptr(comp), uint32(len(comp)), &d, &n))
	out := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(d))), n)
	st("foreign-roundtrip-equal", b2u(bytes.Equal(out, []byte(in))))
	hdrs := pairs(":method", "GET", ":path", "/", ":authority", "a")
	st("http-call-unknown-cluster", rawHTTPCall(ptr("nope"), 4, bptr(hdrs), uint32(len(hdrs)), nil, 0, nil, 0, 100, &d))
	noAuth := pairs(":method", "GET", ":path", "/")
	st("http-call-no-authority", rawHTTPCall(ptr("callout"), 7, bptr(noAuth), uint32(len(noAuth)), nil, 0, nil, 0, 100, &d))
	st("http-call-negative-timeout", rawHTTPCall(ptr("callout"), 7, bptr(hdrs), uint32(len(hdrs)), nil, 0, nil, 0, 0x80000000, &d))
	st("property-empty", rawGetProperty(nil, 0, &d, &n))
	st("property-unknown", rawGetProperty(ptr("nope"), 4, &d, &n))
	st("property-bad-memory", rawGetProperty(unsafe.Pointer(uintptr(0xfffffff0)), 100, &d, &n))
	key := "raw-key"
	rawSetSharedData(ptr(key), 7, ptr("v1"), 2, 0)
	rawGetSharedData(ptr(key), 7, &d, &n, &c)
	st("shared-stale-cas", rawSetSharedData(ptr(key), 7, ptr("v2"), 2, c+1000))
	st("shared-good-cas", rawSetSharedData(ptr(key), 7, ptr("v2"), 2, c))
	st("shared-missing", rawGetSharedData(ptr("raw-none"), 8, &d, &n, &c))
	st("queue-resolve-unknown", rawResolveQueue(nil, 0, ptr("nope"), 4, &d))
	st("queue-dequeue-unknown", rawDequeue(9999, &d, &n))
	st("queue-enqueue-unknown", rawEnqueue(9999, ptr("x"), 1))
	st("grpc-call", rawGrpcCall(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, &d))
	st("now", rawNow(&u))
	logf("raw now-value %d", u)
	st("get-status", rawGetStatus(&c, &d, &n))
	proxywasm.LogDebug("probe: raw done")
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
