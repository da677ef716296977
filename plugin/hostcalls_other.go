//go:build !wasip1

package main

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

// setHeaderMap replaces the request's or the response's whole header map with pairs. Outside
// the VM (native builds of the package, for vet and tests) the SDK's call does it.
func setHeaderMap(response bool, pairs [][2]string) {
	if response {
		_ = proxywasm.ReplaceHttpResponseHeaders(pairs)
	} else {
		_ = proxywasm.ReplaceHttpRequestHeaders(pairs)
	}
}

// incrementMetric and recordMetric are the SDK's metric calls outside the VM.
func incrementMetric(id uint32, offset int64) {
	defer func() { _ = recover() }()      // the SDK panics when the host refuses the call
	proxywasm.MetricGauge(id).Add(offset) // proxy_increment_metric, for counters and gauges
}

func recordMetric(id uint32, value uint64) {
	defer func() { _ = recover() }()
	proxywasm.MetricHistogram(id).Record(value)
}
