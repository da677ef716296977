package main

import (
	"strconv"
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/stepgate/stepgate/plugin/calllog"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// metrics defines and updates the filter's proxy-wasm metrics. Proxy-wasm metrics have no labels,
// so labels are written into the name as `.tag.value` pairs that Envoy's stats_tags (and hostsim)
// turn back into Prometheus labels; docs/METRICS.md is the contract. A metric is defined the first
// time its full name is seen in this VM and its id cached.
type metrics struct {
	ids  map[string]uint32
	last [len(metricDefs)]lastUse
	buf  []byte

	mcpTools map[string]bool // the tool names used as labels so far (see mcpToolLabel)
}

// lastUse remembers a metric's most recent label values and id: steady traffic repeats them, and
// comparing a few short strings is much cheaper inside the VM than building and hashing the name.
type lastUse struct {
	values [maxTags]string
	id     uint32
	ok     bool
}

const maxTags = 6

type metricKind uint8

const (
	counter metricKind = iota
	gauge
	histogram
)

type metricID int

const (
	requestsTotal metricID = iota
	requestDuration
	upstreamErrors
	promptTokens // stepgate_tokens_total, direction prompt
	completionTokens
	throttleDecisions
	shapedRequests
	shapeDelay
	firstByte
	estimateError
	throttleOverflow
	mcpRequests
	keyRequests
	fleetCalls
	fleetUnavailable
	costTotal
	failoverAttempts
)

// metricDefs are the metrics of docs/METRICS.md with their tags in order.
var metricDefs = [...]struct {
	name string
	kind metricKind
	tags []string
}{
	requestsTotal:   {"stepgate_requests_total", counter, []string{"tenant", "route", "model", "provider", "step", "status"}},
	requestDuration: {"stepgate_request_duration_ms", histogram, []string{"provider", "model", "status"}},
	upstreamErrors:  {"stepgate_upstream_errors_total", counter, []string{"provider", "status"}},
	// One entry per direction, so that each keeps its own last-labels cache.
	promptTokens:      {"stepgate_tokens_total", counter, []string{"tenant", "model", "provider", "direction"}},
	completionTokens:  {"stepgate_tokens_total", counter, []string{"tenant", "model", "provider", "direction"}},
	throttleDecisions: {"stepgate_throttle_decisions_total", counter, []string{"rule", "step", "mode"}},
	shapedRequests:    {"stepgate_shaped_requests", gauge, []string{"rule"}},
	shapeDelay:        {"stepgate_shape_delay_ms", histogram, []string{"rule", "step"}},
	firstByte:         {"stepgate_upstream_first_byte_ms", histogram, []string{"provider", "model"}},
	estimateError:     {"stepgate_token_estimate_error_tokens", histogram, []string{"model", "provider"}},
	throttleOverflow:  {"stepgate_throttle_overflow_total", counter, []string{"rule", "step"}},
	mcpRequests:       {"stepgate_mcp_requests_total", counter, []string{"tenant", "route", "mcp_method", "tool", "step"}},
	keyRequests:       {"stepgate_key_requests_total", counter, []string{"tenant", "key", "status"}},
	fleetCalls:        {"stepgate_fleet_calls_total", counter, []string{"rule", "status"}},
	fleetUnavailable:  {"stepgate_fleet_unavailable_total", counter, []string{"rule", "step"}},
	costTotal:         {"stepgate_cost_total", counter, []string{"tenant", "model", "provider"}},
	failoverAttempts:  {"stepgate_failover_attempts_total", counter, []string{"from", "to", "outcome"}},
}

func (m *metrics) init() { m.ids = make(map[string]uint32) }

// call records a finished call. upstream is the provider's own status (0: no answer from it),
// which labels upstream errors: the client may have seen another (a translated 529, a 502 for
// an answer that could not be translated). fault: the answer could not be translated or was cut.
func (m *metrics) call(r *calllog.Record, upstream int, fault bool) {
	model := r.Model
	if r.Provider == "" { // the model did not resolve: never a label from raw client input
		model = "unknown"
	}
	status := statusText(r.Status)
	tenant := orNone(r.Tenant, "anonymous")
	m.add(requestsTotal, 1, tenant, orNone(r.Route, "none"), model, orNone(r.Provider, "none"), orNone(r.Step, "none"), status)
	if r.KeyID != "" {
		m.add(keyRequests, 1, tenant, r.KeyID, status)
	}
	if r.Provider == "" {
		return
	}
	m.add(requestDuration, r.LatencyMs, r.Provider, model, status)
	if upstream != 0 && (upstream == 429 || upstream >= 500 || fault) {
		m.add(upstreamErrors, 1, r.Provider, statusText(upstream))
	}
	if r.TokensIn > 0 {
		m.add(promptTokens, r.TokensIn, tenant, model, r.Provider, "prompt")
	}
	if r.TokensOut > 0 {
		m.add(completionTokens, r.TokensOut, tenant, model, r.Provider, "completion")
	}
	if r.CostMicros > 0 {
		m.add(costTotal, r.CostMicros, tenant, model, r.Provider)
	}
}

// statusText avoids an allocation for the statuses that make up nearly all traffic.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 429:
		return "429"
	}
	return strconv.Itoa(code)
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
		m.add(throttleDecisions, 1, o.Rule(), o.Action.String(), mode)
		if o.Overflow {
			m.add(throttleOverflow, 1, o.Rule(), o.Action.String())
		}
	}
}

// shaped moves the gauge of requests a rule holds right now.
func (m *metrics) shaped(rule string, delta int64) { m.add(shapedRequests, delta, rule) }

// shapeDelay records how long shaping held a request.
func (m *metrics) shapeDelay(rule, step string, ms int64) { m.add(shapeDelay, ms, rule, step) }

// firstByte records the time from sending a request upstream to its response headers.
func (m *metrics) firstByte(provider, model string, ms int64) { m.add(firstByte, ms, provider, model) }

// estimateError records how far the up-front token reservation was from the reported usage.
func (m *metrics) estimateError(model, provider string, tokens int64) {
	m.add(estimateError, tokens, model, provider)
}

// fleetCall counts a lease call by the service's HTTP status (none when the call failed).
func (m *metrics) fleetCall(rule string, status int) {
	s := "none"
	if status > 0 {
		s = statusText(status)
	}
	m.add(fleetCalls, 1, rule, s)
}

// failoverAttempt counts a fallback sent (or skipped) for a request whose backend at provider
// from failed, by the fallback's provider and what became of it.
func (m *metrics) failoverAttempt(from, to, outcome string) {
	m.add(failoverAttempts, 1, from, to, outcome)
}

// fleetUnavailable counts a request a fleet rule's fail mode decided, by the step taken: reject
// when it fails closed, the fallback bucket's step when it fails open.
func (m *metrics) fleetUnavailable(rule, step string) { m.add(fleetUnavailable, 1, rule, step) }

// add increments (counter), moves (gauge) or records (histogram) metric id with the given label
// values, in the order of its tags.
func (m *metrics) add(id metricID, value int64, values ...string) {
	def := &metricDefs[id]
	last := &m.last[id]
	if !last.ok || !sameValues(last.values[:len(values)], values) {
		var ok bool
		if last.id, ok = m.define(def.name, def.kind, def.tags, values); !ok {
			return
		}
		copy(last.values[:], values)
		last.ok = true
	}
	// A refused sample is lost, never a panic: one would kill the VM and every stream on it.
	switch {
	case def.kind == histogram:
		recordMetric(last.id, uint64(max(value, 0)))
	case def.kind == gauge:
		incrementMetric(last.id, value)
	case value > 0: // counters only go up
		incrementMetric(last.id, value)
	}
}

func sameValues(a, b []string) bool {
	for i := range b {
		// Most values are the very strings of last time (configuration, constants): comparing
		// where they point first spares a comparison call, which inside the VM costs more than
		// the rest of this loop.
		if len(a[i]) != len(b[i]) || unsafe.StringData(a[i]) != unsafe.StringData(b[i]) && a[i] != b[i] {
			return false
		}
	}
	return true
}

// define returns the id of the metric with this full name, defining it the first time; ok is
// false when the host refused to define it.
func (m *metrics) define(name string, kind metricKind, tags, values []string) (id uint32, ok bool) {
	b := append(m.buf[:0], name...)
	for i, tag := range tags {
		b = append(b, '.')
		b = append(b, tag...)
		b = append(b, '.')
		b = appendTagValue(b, values[i])
	}
	m.buf = b
	if id, ok := m.ids[string(b)]; ok {
		return id, true
	}
	// The SDK panics when the host refuses a definition; a panic would kill the VM.
	defer func() {
		if recover() != nil {
			id, ok = 0, false
		}
	}()
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
	return id, true
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
