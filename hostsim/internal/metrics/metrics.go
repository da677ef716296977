// Package metrics is proxy-wasm custom metrics as Envoy implements them.
//
// A Registry stands for Envoy's stats store: metrics are identified by type and name, so the
// same counter defined by every worker VM is one counter (values aggregate across workers, as
// in Envoy's shared stats scope). A Table is one VM's id space: every proxy_define_metric call
// returns a fresh id (counters 4, 8, ...; gauges 5, 9, ...; histograms 6, 10, ...: the low two
// bits carry the type) bound to the shared metric.
//
// Envoy's rules: counter increments must be positive (else BAD_ARGUMENT); a gauge increment adds
// or subtracts; record adds to a counter, sets a gauge and records a histogram sample; get works
// on counters and gauges only (BAD_ARGUMENT for histograms); unknown ids are NOT_FOUND.
package metrics

import (
	"sort"
	"sync"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

// Metric is one shared stat.
type Metric struct {
	Type abi.MetricType
	Name string

	mu    sync.Mutex
	value uint64
	hist  *histogram // histograms only
}

// Bounds are Envoy's default histogram bucket bounds (stats_config.histogram_bucket_settings
// unset), in the histogram's unit (milliseconds for the _ms metrics).
var Bounds = [...]float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
	60000, 300000, 600000, 1800000, 3600000}

// MaxSamples is how many of a histogram's most recent values are kept for inspection. Count, sum
// and buckets cover every value; keeping every value would grow without bound in a long-running
// dev gateway.
const MaxSamples = 4096

// histogram summarises every recorded value, as Envoy's histograms do, and keeps the most recent
// ones in a ring.
type histogram struct {
	count, sum uint64
	buckets    [len(Bounds)]uint64 // buckets[i] counts values ≤ Bounds[i] (cumulative, as Prometheus)
	ring       []uint64
	next       int // where the next value goes once the ring is full
}

func (h *histogram) record(v uint64) {
	h.count++
	h.sum += v
	for i, le := range Bounds {
		if float64(v) <= le {
			h.buckets[i]++
		}
	}
	if len(h.ring) < MaxSamples {
		h.ring = append(h.ring, v)
		return
	}
	h.ring[h.next] = v
	h.next = (h.next + 1) % MaxSamples
}

// Histogram is a copy of a histogram's state.
type Histogram struct {
	Count, Sum uint64
	Buckets    []uint64 // per Bounds, cumulative
	Samples    []uint64 // the most recent values (at most MaxSamples), oldest first
}

// Histogram is the histogram's state; the zero Histogram for other metrics and before any value.
func (m *Metric) Histogram() Histogram {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.hist
	if h == nil {
		return Histogram{}
	}
	return Histogram{Count: h.count, Sum: h.sum, Buckets: append([]uint64(nil), h.buckets[:]...),
		Samples: append(append([]uint64(nil), h.ring[h.next:]...), h.ring[:h.next]...)}
}

// Value is the counter or gauge value (gauges are uint64 and wrap, as in Envoy).
func (m *Metric) Value() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.value
}

type key struct {
	t    abi.MetricType
	name string
}

// Registry is the process-wide set of custom metrics.
type Registry struct {
	mu      sync.Mutex
	metrics map[key]*Metric
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{metrics: make(map[key]*Metric)} }

func (r *Registry) get(t abi.MetricType, name string) *Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{t, name}
	m := r.metrics[k]
	if m == nil {
		m = &Metric{Type: t, Name: name}
		r.metrics[k] = m
	}
	return m
}

// Lookup finds a metric by name, trying counter, gauge then histogram.
func (r *Registry) Lookup(name string) (*Metric, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range []abi.MetricType{abi.Counter, abi.Gauge, abi.Histogram} {
		if m := r.metrics[key{t, name}]; m != nil {
			return m, true
		}
	}
	return nil, false
}

// All lists every metric sorted by name then type.
func (r *Registry) All() []*Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Metric, 0, len(r.metrics))
	for _, m := range r.metrics {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Type < out[j].Type
	})
	return out
}

const (
	typeMask  = 0x3
	increment = 0x4
)

// Table is one VM's metric ids. It is used under the VM's lock only.
type Table struct {
	reg  *Registry
	next [3]uint32
	ids  map[uint32]*Metric
}

// NewTable returns an empty id table bound to reg.
func NewTable(reg *Registry) *Table {
	return &Table{reg: reg, next: [3]uint32{0, 1, 2}, ids: make(map[uint32]*Metric)}
}

// Define binds a new id to the metric (t, name).
func (t *Table) Define(mt abi.MetricType, name string) (uint32, abi.Status) {
	if mt > abi.Histogram {
		return 0, abi.BadArgument
	}
	t.next[mt] += increment
	id := t.next[mt]
	t.ids[id] = t.reg.get(mt, name)
	return id, abi.OK
}

// Increment applies proxy_increment_metric.
func (t *Table) Increment(id uint32, offset int64) abi.Status {
	switch abi.MetricType(id & typeMask) {
	case abi.Counter:
		m := t.ids[id]
		if m == nil {
			return abi.NotFound
		}
		if offset <= 0 {
			return abi.BadArgument
		}
		m.mu.Lock()
		m.value += uint64(offset)
		m.mu.Unlock()
		return abi.OK
	case abi.Gauge:
		m := t.ids[id]
		if m == nil {
			return abi.NotFound
		}
		m.mu.Lock()
		m.value += uint64(offset) // two's complement: a negative offset subtracts
		m.mu.Unlock()
		return abi.OK
	}
	return abi.BadArgument
}

// Record applies proxy_record_metric.
func (t *Table) Record(id uint32, v uint64) abi.Status {
	m := t.ids[id]
	if m == nil || m.Type != abi.MetricType(id&typeMask) {
		return abi.NotFound
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.Type {
	case abi.Counter:
		m.value += v
	case abi.Gauge:
		m.value = v
	case abi.Histogram:
		if m.hist == nil {
			m.hist = &histogram{}
		}
		m.hist.record(v)
	}
	return abi.OK
}

// Get applies proxy_get_metric.
func (t *Table) Get(id uint32) (uint64, abi.Status) {
	switch abi.MetricType(id & typeMask) {
	case abi.Counter, abi.Gauge:
		m := t.ids[id]
		if m == nil {
			return 0, abi.NotFound
		}
		return m.Value(), abi.OK
	}
	return 0, abi.BadArgument
}
