package report

import "sort"

// minuteTop finds the minutes with the most calls without counting every minute of the input:
// minutes are counted while they are recent (within minuteWindow of the newest record), then
// settled into the top list. A minute whose records arrive much later than their time is
// settled in parts, so its count can come out low; call records are written in near time order,
// so in practice they are exact.
type minuteTop struct {
	open   map[int64]int64 // minute start (ms) → calls
	newest int64
	top    []MinuteCount // at most topMinutes, most calls first
}

// MinuteCount is one minute and its calls.
type MinuteCount struct {
	StartMs int64 `json:"start_ms"`
	Calls   int64 `json:"calls"`
}

const (
	topMinutes   = 10
	minuteWindow = 10 * 60e3
	maxOpen      = 64
)

func (m *minuteTop) init() { m.open = map[int64]int64{} }

func (m *minuteTop) add(ts int64) {
	start := ts - ts%60e3
	m.open[start]++
	if start > m.newest {
		m.newest = start
	}
	if len(m.open) > maxOpen {
		m.settle(m.newest - minuteWindow)
	}
}

// settle moves the minutes before limit to the top list.
func (m *minuteTop) settle(limit int64) {
	for start, n := range m.open {
		if start >= limit {
			continue
		}
		delete(m.open, start)
		m.push(MinuteCount{start, n})
	}
	if len(m.open) > maxOpen { // records far out of order: settle the oldest half
		starts := make([]int64, 0, len(m.open))
		for s := range m.open {
			starts = append(starts, s)
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
		for _, s := range starts[:len(starts)/2] {
			m.push(MinuteCount{s, m.open[s]})
			delete(m.open, s)
		}
	}
}

func (m *minuteTop) push(c MinuteCount) {
	for i := range m.top {
		if m.top[i].StartMs == c.StartMs {
			m.top[i].Calls += c.Calls
			m.sort()
			return
		}
	}
	if len(m.top) == topMinutes && !busier(c, m.top[topMinutes-1]) {
		return
	}
	m.top = append(m.top, c)
	m.sort()
	if len(m.top) > topMinutes {
		m.top = m.top[:topMinutes]
	}
}

func (m *minuteTop) sort() {
	sort.Slice(m.top, func(i, j int) bool { return busier(m.top[i], m.top[j]) })
}

// busier orders minutes: more calls first, then the earlier one. Settling order must not
// matter, so ties are broken the same way everywhere.
func busier(a, b MinuteCount) bool {
	if a.Calls != b.Calls {
		return a.Calls > b.Calls
	}
	return a.StartMs < b.StartMs
}

// result settles every minute and returns the top list.
func (m *minuteTop) result() []MinuteCount {
	m.settle(1 << 62)
	return append([]MinuteCount(nil), m.top...)
}
