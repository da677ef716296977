//go:build wasip1

package main

import (
	"unsafe"

	"github.com/stepgate/stepgate/plugin/internal/headeredit"
)

// Host calls the filter makes itself rather than through the SDK, where the SDK's wrapper costs
// more inside the VM than the call it wraps.
//
// The SDK's ReplaceHttp*Headers serialize the map byte by byte into a new buffer on every call:
// inside the VM that costs several times the host call it feeds (about 2 µs for a response with
// the RateLimit headers). The filter serializes with whole-string copies into a buffer it keeps,
// and calls the host function itself.

//go:wasmimport env proxy_set_header_map_pairs
func hostSetHeaderMapPairs(mapType uint32, data unsafe.Pointer, size uint32) uint32

// pairsBuf is kept between calls; the VM runs one callback at a time.
var pairsBuf []byte

// proxy-wasm's map types.
const (
	requestHeadersMap  = 0
	responseHeadersMap = 2
)

// setHeaderMap replaces the request's or the response's whole header map with pairs.
func setHeaderMap(response bool, pairs [][2]string) {
	pairsBuf = headeredit.Marshal(pairsBuf[:0], pairs)
	t := uint32(requestHeadersMap)
	if response {
		t = responseHeadersMap
	}
	_ = hostSetHeaderMapPairs(t, unsafe.Pointer(&pairsBuf[0]), uint32(len(pairsBuf)))
}

//go:wasmimport env proxy_increment_metric
func hostIncrementMetric(id uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func hostRecordMetric(id uint32, value uint64) uint32

// incrementMetric adds offset to a counter or gauge, recordMetric a value to a histogram. The
// SDK's calls panic when the host refuses one, which a filter must then recover from on every
// call; a refused sample is simply lost here (the host has logged why).
func incrementMetric(id uint32, offset int64) { _ = hostIncrementMetric(id, offset) }
func recordMetric(id uint32, value uint64)    { _ = hostRecordMetric(id, value) }
