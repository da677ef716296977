package main

import (
	"strconv"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/stepgate/stepgate/plugin/calllog"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// metrics defines and updates the filter's proxy-wasm metrics. Proxy-wasm metrics have no labels,
// so labels are written into the name as `.tag.value` pairs that Envoy's stats_tags (and hostsim)
// turn back into Prometheus labels; docs/METRICS.md is the contract. A metric is defined the first
// time its full name is seen in this VM and its id cached.
type metrics struct {
	ids map[string]uint32
	buf []byte
}

func (m *metrics) init() { m.ids = make(map[string]uint32) }

const (
	counter   = 0
	gauge     = 1
	histogram = 2
)

// call records a finished call; fromUpstream says whether its status is the provider's answer
// (not one of the filter's local replies).
func (m *metrics) call(r *calllog.Record, fromUpstream bool) {
	model := r.Model
	if r.Provider == "" { // the model did not resolve: never a label from raw client input
		model = "unknown"
	}
	status := strconv.Itoa(r.Status)
	m.add(counter, 1, "stepgate_requests_total", "tenant", orNone(r.Tenant, "anonymous"), "route", orNone(r.Route, "none"),
		"model", model, "provider", orNone(r.Provider, "none"), "step", orNone(r.Step, "none"), "status", status)
	if r.Provider == "" {
		return
	}
	m.add(histogram, r.LatencyMs, "stepgate_request_duration_ms", "provider", r.Provider, "model", model, "status", status)
	if fromUpstream && (r.Status == 429 || r.Status >= 500) {
		m.add(counter, 1, "stepgate_upstream_errors_total", "provider", r.Provider, "status", status)
	}
	tenant := orNone(r.Tenant, "anonymous")
	if r.TokensIn > 0 {
		m.add(counter, r.TokensIn, "stepgate_tokens_total", "tenant", tenant, "model", model, "provider", r.Provider, "direction", "prompt")
	}
	if r.TokensOut > 0 {
		m.add(counter, r.TokensOut, "stepgate_tokens_total", "tenant", tenant, "model", model, "provider", r.Provider, "direction", "completion")
	}
}

// decisions counts each rule's part of a throttle decision.
func (m *metrics) decisions(d *throttle.Decision) {
	outs := d.Reservation.Outcomes()
	for i := range outs {
		o := &outs[i]
		mode := "enforce"
		if o.Shadow {
			mode = "shadow"
		}
		m.add(counter, 1, "stepgate_throttle_decisions_total", "rule", o.Rule(), "step", o.Action.String(), "mode", mode)
	}
}

// shaped moves the gauge of requests a rule holds right now.
func (m *metrics) shaped(rule string, delta int64) {
	m.add(gauge, delta, "stepgate_shaped_requests", "rule", rule)
}

// shapeDelay records how long shaping held a request.
func (m *metrics) shapeDelay(rule, step string, ms int64) {
	m.add(histogram, ms, "stepgate_shape_delay_ms", "rule", rule, "step", step)
}

// firstByte records the time from sending a request upstream to its response headers.
func (m *metrics) firstByte(provider, model string, ms int64) {
	m.add(histogram, ms, "stepgate_upstream_first_byte_ms", "provider", provider, "model", model)
}

// estimateError records how far the up-front token reservation was from the reported usage.
func (m *metrics) estimateError(model, provider string, tokens int64) {
	m.add(histogram, tokens, "stepgate_token_estimate_error_tokens", "model", model, "provider", provider)
}

// add builds the metric's full name and increments (counter), moves (gauge) or records
// (histogram) it.
func (m *metrics) add(kind int, value int64, name string, tags ...string) {
	b := append(m.buf[:0], name...)
	for i := 0; i+1 < len(tags); i += 2 {
		b = append(b, '.')
		b = append(b, tags[i]...)
		b = append(b, '.')
		b = appendTagValue(b, tags[i+1])
	}
	m.buf = b
	// The SDK panics when the host refuses a metric call; a panic would kill the VM and every
	// stream on it, while a lost sample is harmless.
	defer func() { _ = recover() }()
	id, ok := m.ids[string(b)]
	if !ok {
		full := string(b)
		switch kind {
		case histogram:
			id = uint32(proxywasm.DefineHistogramMetric(full))
		case gauge:
			id = uint32(proxywasm.DefineGaugeMetric(full))
		default:
			id = uint32(proxywasm.DefineCounterMetric(full))
		}
		m.ids[full] = id
	}
	switch {
	case kind == histogram:
		proxywasm.MetricHistogram(id).Record(uint64(max(value, 0)))
	case kind == gauge:
		proxywasm.MetricGauge(id).Add(value)
	case value > 0: // counters only go up
		proxywasm.MetricCounter(id).Increment(uint64(value))
	}
}

// appendTagValue writes a label value the way docs/METRICS.md sanitizes it: bytes outside
// [A-Za-z0-9_-] become '_' (a dot would break the name's pairs), at most 64 bytes, never empty.
func appendTagValue(b []byte, v string) []byte {
	if v == "" {
		return append(b, "none"...)
	}
	if len(v) > 64 {
		v = v[:64]
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

func orNone(v, none string) string {
	if v == "" {
		return none
	}
	return v
}
