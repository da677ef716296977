//go:build stepgate_sdkbridge && wasip1

// This file is copied into the SDK's proxywasm/internal package by build.sh, in place of the SDK's
// in-process mock (abi_hostcalls_mock.go). It binds every Proxy* host call the SDK makes to the real
// proxy-wasm import in module "env".
//
// Why wrappers instead of declaring the SDK's functions as imports directly: the SDK's signatures
// use Go's int, *byte and **byte, which are 8 bytes in wasm, while the ABI passes 32-bit values and
// the host writes 32-bit little-endian addresses and sizes into return slots. Each wrapper passes
// 32-bit values and reads the host's answers from zeroed uint32 locals, then widens them.

package internal

import "unsafe"

//go:wasmimport env proxy_log
func hostLog(level uint32, msg unsafe.Pointer, msgSize uint32) uint32

//go:wasmimport env proxy_send_local_response
func hostSendLocalResponse(status uint32, details unsafe.Pointer, detailsSize uint32,
	body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) uint32

//go:wasmimport env proxy_get_shared_data
func hostGetSharedData(key unsafe.Pointer, keySize uint32, retData *uint32, retSize *uint32, retCAS *uint32) uint32

//go:wasmimport env proxy_set_shared_data
func hostSetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) uint32

//go:wasmimport env proxy_register_shared_queue
func hostRegisterSharedQueue(name unsafe.Pointer, nameSize uint32, retID *uint32) uint32

//go:wasmimport env proxy_resolve_shared_queue
func hostResolveSharedQueue(vmID unsafe.Pointer, vmIDSize uint32, name unsafe.Pointer, nameSize uint32, retID *uint32) uint32

//go:wasmimport env proxy_dequeue_shared_queue
func hostDequeueSharedQueue(queueID uint32, retData *uint32, retSize *uint32) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func hostEnqueueSharedQueue(queueID uint32, value unsafe.Pointer, valueSize uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func hostGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, retData *uint32, retSize *uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func hostAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func hostReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func hostRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func hostGetHeaderMapPairs(mapType uint32, retData *uint32, retSize *uint32) uint32

//go:wasmimport env proxy_set_header_map_pairs
func hostSetHeaderMapPairs(mapType uint32, data unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func hostGetBufferBytes(bufferType uint32, start uint32, maxSize uint32, retData *uint32, retSize *uint32) uint32

//go:wasmimport env proxy_set_buffer_bytes
func hostSetBufferBytes(bufferType uint32, start uint32, maxSize uint32, data unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_continue_stream
func hostContinueStream(streamType uint32) uint32

//go:wasmimport env proxy_close_stream
func hostCloseStream(streamType uint32) uint32

//go:wasmimport env proxy_http_call
func hostHttpCall(upstream unsafe.Pointer, upstreamSize uint32, headers unsafe.Pointer, headersSize uint32,
	body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeout uint32, retID *uint32) uint32

//go:wasmimport env proxy_call_foreign_function
func hostCallForeignFunction(name unsafe.Pointer, nameSize uint32, param unsafe.Pointer, paramSize uint32,
	retData *uint32, retSize *uint32) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func hostSetTickPeriodMilliseconds(period uint32) uint32

//go:wasmimport env proxy_set_effective_context
func hostSetEffectiveContext(contextID uint32) uint32

//go:wasmimport env proxy_done
func hostDone() uint32

//go:wasmimport env proxy_define_metric
func hostDefineMetric(metricType uint32, name unsafe.Pointer, nameSize uint32, retID *uint32) uint32

//go:wasmimport env proxy_increment_metric
func hostIncrementMetric(metricID uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func hostRecordMetric(metricID uint32, value uint64) uint32

//go:wasmimport env proxy_get_metric
func hostGetMetric(metricID uint32, retValue *uint64) uint32

//go:wasmimport env proxy_get_property
func hostGetProperty(path unsafe.Pointer, pathSize uint32, retData *uint32, retSize *uint32) uint32

//go:wasmimport env proxy_set_property
func hostSetProperty(path unsafe.Pointer, pathSize uint32, value unsafe.Pointer, valueSize uint32) uint32

// The host writes its answers into these slots. They are package variables because a local whose
// address goes to a wasm import escapes to the heap, which would cost an allocation per call. The
// VM runs one call at a time, and the allocator callback that runs inside a call (the host placing
// the data) makes no host call of its own, so the slots are never in use twice.
var slotData, slotSize, slotCAS uint32

func ProxyLog(logLevel LogLevel, messageData *byte, messageSize int) Status {
	return Status(hostLog(uint32(logLevel), unsafe.Pointer(messageData), uint32(messageSize)))
}

func ProxySendLocalResponse(statusCode uint32, statusCodeDetailData *byte, statusCodeDetailsSize int,
	bodyData *byte, bodySize int, headersData *byte, headersSize int, grpcStatus int32) Status {
	return Status(hostSendLocalResponse(statusCode, unsafe.Pointer(statusCodeDetailData), uint32(statusCodeDetailsSize),
		unsafe.Pointer(bodyData), uint32(bodySize), unsafe.Pointer(headersData), uint32(headersSize), grpcStatus))
}

func ProxyGetSharedData(keyData *byte, keySize int, returnValueData **byte, returnValueSize *int, returnCas *uint32) Status {
	slotData, slotSize, slotCAS = 0, 0, 0
	st := Status(hostGetSharedData(unsafe.Pointer(keyData), uint32(keySize), &slotData, &slotSize, &slotCAS))
	returnData(slotData, slotSize, returnValueData, returnValueSize)
	*returnCas = slotCAS
	return st
}

func ProxySetSharedData(keyData *byte, keySize int, valueData *byte, valueSize int, cas uint32) Status {
	return Status(hostSetSharedData(unsafe.Pointer(keyData), uint32(keySize), unsafe.Pointer(valueData), uint32(valueSize), cas))
}

func ProxyRegisterSharedQueue(nameData *byte, nameSize int, returnID *uint32) Status {
	return Status(hostRegisterSharedQueue(unsafe.Pointer(nameData), uint32(nameSize), returnID))
}

func ProxyResolveSharedQueue(vmIDData *byte, vmIDSize int, nameData *byte, nameSize int, returnID *uint32) Status {
	return Status(hostResolveSharedQueue(unsafe.Pointer(vmIDData), uint32(vmIDSize), unsafe.Pointer(nameData), uint32(nameSize), returnID))
}

func ProxyDequeueSharedQueue(queueID uint32, returnValueData **byte, returnValueSize *int) Status {
	slotData, slotSize = 0, 0
	st := Status(hostDequeueSharedQueue(queueID, &slotData, &slotSize))
	returnData(slotData, slotSize, returnValueData, returnValueSize)
	return st
}

func ProxyEnqueueSharedQueue(queueID uint32, valueData *byte, valueSize int) Status {
	return Status(hostEnqueueSharedQueue(queueID, unsafe.Pointer(valueData), uint32(valueSize)))
}

func ProxyGetHeaderMapValue(mapType MapType, keyData *byte, keySize int, returnValueData **byte, returnValueSize *int) Status {
	slotData, slotSize = 0, 0
	st := Status(hostGetHeaderMapValue(uint32(mapType), unsafe.Pointer(keyData), uint32(keySize), &slotData, &slotSize))
	returnData(slotData, slotSize, returnValueData, returnValueSize)
	return st
}

func ProxyAddHeaderMapValue(mapType MapType, keyData *byte, keySize int, valueData *byte, valueSize int) Status {
	return Status(hostAddHeaderMapValue(uint32(mapType), unsafe.Pointer(keyData), uint32(keySize), unsafe.Pointer(valueData), uint32(valueSize)))
}

func ProxyReplaceHeaderMapValue(mapType MapType, keyData *byte, keySize int, valueData *byte, valueSize int) Status {
	return Status(hostReplaceHeaderMapValue(uint32(mapType), unsafe.Pointer(keyData), uint32(keySize), unsafe.Pointer(valueData), uint32(valueSize)))
}

func ProxyRemoveHeaderMapValue(mapType MapType, keyData *byte, keySize int) Status {
	return Status(hostRemoveHeaderMapValue(uint32(mapType), unsafe.Pointer(keyData), uint32(keySize)))
}

func ProxyGetHeaderMapPairs(mapType MapType, returnValueData **byte, returnValueSize *int) Status {
	slotData, slotSize = 0, 0
	st := Status(hostGetHeaderMapPairs(uint32(mapType), &slotData, &slotSize))
	returnData(slotData, slotSize, returnValueData, returnValueSize)
	return st
}

func ProxySetHeaderMapPairs(mapType MapType, mapData *byte, mapSize int) Status {
	return Status(hostSetHeaderMapPairs(uint32(mapType), unsafe.Pointer(mapData), uint32(mapSize)))
}

func ProxyGetBufferBytes(bufferType BufferType, start int, maxSize int, returnBufferData **byte, returnBufferSize *int) Status {
	slotData, slotSize = 0, 0
	st := Status(hostGetBufferBytes(uint32(bufferType), uint32(start), uint32(maxSize), &slotData, &slotSize))
	returnData(slotData, slotSize, returnBufferData, returnBufferSize)
	return st
}

func ProxySetBufferBytes(bufferType BufferType, start int, maxSize int, bufferData *byte, bufferSize int) Status {
	return Status(hostSetBufferBytes(uint32(bufferType), uint32(start), uint32(maxSize), unsafe.Pointer(bufferData), uint32(bufferSize)))
}

func ProxyContinueStream(streamType StreamType) Status {
	return Status(hostContinueStream(uint32(streamType)))
}

func ProxyCloseStream(streamType StreamType) Status {
	return Status(hostCloseStream(uint32(streamType)))
}

func ProxyHttpCall(upstreamData *byte, upstreamSize int, headerData *byte, headerSize int, bodyData *byte,
	bodySize int, trailersData *byte, trailersSize int, timeout uint32, calloutIDPtr *uint32) Status {
	return Status(hostHttpCall(unsafe.Pointer(upstreamData), uint32(upstreamSize), unsafe.Pointer(headerData), uint32(headerSize),
		unsafe.Pointer(bodyData), uint32(bodySize), unsafe.Pointer(trailersData), uint32(trailersSize), timeout, calloutIDPtr))
}

func ProxyCallForeignFunction(funcNamePtr *byte, funcNameSize int, paramPtr *byte, paramSize int, returnData_ **byte, returnSize *int) Status {
	slotData, slotSize = 0, 0
	st := Status(hostCallForeignFunction(unsafe.Pointer(funcNamePtr), uint32(funcNameSize), unsafe.Pointer(paramPtr), uint32(paramSize), &slotData, &slotSize))
	returnData(slotData, slotSize, returnData_, returnSize)
	return st
}

func ProxySetTickPeriodMilliseconds(period uint32) Status {
	return Status(hostSetTickPeriodMilliseconds(period))
}

func ProxySetEffectiveContext(contextID uint32) Status {
	return Status(hostSetEffectiveContext(contextID))
}

func ProxyDone() Status {
	return Status(hostDone())
}

func ProxyDefineMetric(metricType MetricType, metricNameData *byte, metricNameSize int, returnMetricIDPtr *uint32) Status {
	return Status(hostDefineMetric(uint32(metricType), unsafe.Pointer(metricNameData), uint32(metricNameSize), returnMetricIDPtr))
}

func ProxyIncrementMetric(metricID uint32, offset int64) Status {
	return Status(hostIncrementMetric(metricID, offset))
}

func ProxyRecordMetric(metricID uint32, value uint64) Status {
	return Status(hostRecordMetric(metricID, value))
}

func ProxyGetMetric(metricID uint32, returnMetricValue *uint64) Status {
	return Status(hostGetMetric(metricID, returnMetricValue))
}

func ProxyGetProperty(pathData *byte, pathSize int, returnValueData **byte, returnValueSize *int) Status {
	slotData, slotSize = 0, 0
	st := Status(hostGetProperty(unsafe.Pointer(pathData), uint32(pathSize), &slotData, &slotSize))
	returnData(slotData, slotSize, returnValueData, returnValueSize)
	return st
}

func ProxySetProperty(pathData *byte, pathSize int, valueData *byte, valueSize int) Status {
	return Status(hostSetProperty(unsafe.Pointer(pathData), uint32(pathSize), unsafe.Pointer(valueData), uint32(valueSize)))
}

// returnData hands the SDK the block the host allocated (through proxy_on_memory_allocate) and
// wrote into, then lets the allocator forget it: from here on the SDK's slice keeps it alive.
func returnData(addr, size uint32, data **byte, dataSize *int) {
	*data = hostAllocated(addr)
	*dataSize = int(size)
	forgetAllocations()
}
