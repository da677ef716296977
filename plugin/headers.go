package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/stepgate/stepgate/plugin/internal/headeredit"
)

// headerMap is one of a stream's header maps (request or response) as the host holds it, and
// the changes the filter has decided on since it last wrote them. Every header change of the
// filter goes through it: changes are collected during a callback and written at its end
// (flush), two or more as one proxy_set_header_map_pairs call, so that a request that sets the
// provider's path, host and credentials and a response that gets five RateLimit headers each
// cross the VM boundary once instead of once per header.
type headerMap struct {
	response bool
	pairs    [][2]string // the host's map as last read or written; nil when not read
	owned    bool        // pairs is storage of ours (written), not the read's (which others keep)
	edits    headeredit.Edits
	buf      [][2]string // storage the next write builds the map in
}

// recycled is an empty map for the next stream of a recycled context, with this one's storage.
func (m *headerMap) recycled(response bool) headerMap {
	m.edits.Reset()
	buf := m.buf
	if m.owned && cap(m.pairs) > cap(buf) {
		buf = m.pairs
	}
	clear(buf[:cap(buf)])
	return headerMap{response: response, edits: m.edits, buf: buf[:0]}
}

// use takes pairs, read from the host by the caller, as the map the host holds.
func (m *headerMap) use(pairs [][2]string) { m.pairs, m.owned = pairs, false }

func (m *headerMap) set(name, value string) { m.edits.Set(name, value) }
func (m *headerMap) remove(name string)     { m.edits.Remove(name) }

// removeEach records the removal of every entry of each of names that the map may hold. A
// name the map certainly does not hold (its digest matches none of the map's names as last
// read or written, nor of the changes recorded since) costs its digest, not a change to record
// and apply: a provider's list of client headers to remove is long, and a request carries few.
func (m *headerMap) removeEach(names []string) {
	held := ^uint64(0) // a map never read may hold anything
	if m.pairs != nil {
		held = headeredit.Names(m.pairs) | m.edits.Names()
	}
	for _, name := range names {
		if held&headeredit.NameBit(name) != 0 {
			m.edits.Remove(name)
		}
	}
}

// get returns the first value of name (lower case) in the map as last read or written.
func (m *headerMap) get(name string) string {
	v, _ := headeredit.Get(m.pairs, name)
	return v
}

// has reports whether the map as last read or written has name (lower case).
func (m *headerMap) has(name string) bool {
	_, ok := headeredit.Get(m.pairs, name)
	return ok
}

// read takes the map the host holds now (one host call).
func (m *headerMap) read() {
	var err error
	if m.response {
		m.pairs, err = proxywasm.GetHttpResponseHeaders()
	} else {
		m.pairs, err = proxywasm.GetHttpRequestHeaders()
	}
	if err != nil {
		m.pairs = nil
	}
	m.owned = false
}

// forget drops what is known of the host's map (another map takes its place), keeping changes.
func (m *headerMap) forget() { m.pairs, m.owned = nil, false }

// flush writes the collected changes: nothing when none changes the map, one replace or remove
// call for a single change, else the whole map in one call. A map never read gets one call per
// change, as its other entries are unknown. The host refuses changes to a map it no longer
// holds (BAD_ARGUMENT), as it refused single calls; that is not an error of the filter's.
func (m *headerMap) flush() {
	if ops := m.edits.Ops(); len(ops) > 0 {
		m.apply(ops)
		m.edits.Reset() // not deferred: inside the VM a deferred call costs more than the call
	}
}

// apply sends ops to the host (see flush).
func (m *headerMap) apply(ops []headeredit.Op) {
	if m.pairs == nil {
		for _, op := range ops {
			m.write(op)
		}
		return
	}
	// Build into the spare storage, then swap: m.pairs may be the storage of the previous write.
	out, n, last := headeredit.Apply(m.buf, m.pairs, ops)
	switch {
	case n == 0:
		m.buf = out
		return
	case n == 1:
		m.write(last)
	default:
		setHeaderMap(m.response, out)
	}
	m.buf = nil
	if m.owned {
		m.buf = m.pairs[:0]
	}
	m.pairs, m.owned = out, true
}

func (m *headerMap) write(op headeredit.Op) {
	switch {
	case m.response && op.Remove:
		_ = proxywasm.RemoveHttpResponseHeader(op.Name)
	case m.response:
		_ = proxywasm.ReplaceHttpResponseHeader(op.Name, op.Value)
	case op.Remove:
		_ = proxywasm.RemoveHttpRequestHeader(op.Name)
	default:
		_ = proxywasm.ReplaceHttpRequestHeader(op.Name, op.Value)
	}
}
