// Package headermap is Envoy's HTTP header map as a proxy-wasm plugin sees it, and the proxy-wasm
// serialization of header pairs.
//
// Map follows Envoy's HeaderMapImpl rather than net/http: keys are lower-cased on the way in,
// a key may repeat (each value is its own entry), pseudo-headers (":path", ":status", ...) are
// kept in front of ordinary headers, Get returns the first value, Set replaces the value of the
// first entry only (later duplicates stay, as Envoy's setCopy does), and Remove drops every entry
// of a key. It is not safe for concurrent use; hostsim guards it with the owning VM's lock.
package headermap

import "strings"

// Pair is one header entry: key and value.
type Pair = [2]string

// Map is an ordered multi-map of header entries.
type Map struct {
	entries []Pair
	pseudo  int // entries[:pseudo] are the pseudo-headers
}

// New returns a map holding pairs in Envoy's order (keys lower-cased, pseudo-headers first).
func New(pairs []Pair) *Map {
	m := &Map{entries: make([]Pair, 0, len(pairs))}
	for _, p := range pairs {
		m.Add(p[0], p[1])
	}
	return m
}

// Len is the number of entries, the count Envoy passes to proxy_on_*_headers.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.entries)
}

// Pairs returns the entries in iteration order. The slice is the map's own: do not modify it.
func (m *Map) Pairs() []Pair {
	if m == nil {
		return nil
	}
	return m.entries
}

// Clone returns an independent copy.
func (m *Map) Clone() *Map {
	if m == nil {
		return nil
	}
	return &Map{entries: append([]Pair(nil), m.entries...), pseudo: m.pseudo}
}

// Get returns the first value of key (compared lower-cased).
func (m *Map) Get(key string) (string, bool) {
	if m == nil {
		return "", false
	}
	key = lower(key)
	for _, e := range m.entries {
		if e[0] == key {
			return e[1], true
		}
	}
	return "", false
}

// Values returns every value of key in order.
func (m *Map) Values(key string) []string {
	if m == nil {
		return nil
	}
	key = lower(key)
	var vs []string
	for _, e := range m.entries {
		if e[0] == key {
			vs = append(vs, e[1])
		}
	}
	return vs
}

// Add appends an entry (Envoy's addCopy): duplicates are kept.
func (m *Map) Add(key, value string) {
	key = lower(key)
	if isPseudo(key) {
		m.entries = append(m.entries, Pair{})
		copy(m.entries[m.pseudo+1:], m.entries[m.pseudo:])
		m.entries[m.pseudo] = Pair{key, value}
		m.pseudo++
		return
	}
	m.entries = append(m.entries, Pair{key, value})
}

// Set replaces the value of the first entry of key, or adds one (Envoy's setCopy).
func (m *Map) Set(key, value string) {
	key = lower(key)
	for i := range m.entries {
		if m.entries[i][0] == key {
			m.entries[i][1] = value
			return
		}
	}
	m.Add(key, value)
}

// Remove drops every entry of key; removing an absent key is not an error.
func (m *Map) Remove(key string) {
	key = lower(key)
	out := m.entries[:0]
	pseudo := 0
	for i, e := range m.entries {
		if e[0] == key {
			continue
		}
		if i < m.pseudo {
			pseudo++
		}
		out = append(out, e)
	}
	clear(m.entries[len(out):])
	m.entries = out
	m.pseudo = pseudo
}

// Reset replaces every entry with pairs (proxy_set_header_map_pairs).
func (m *Map) Reset(pairs []Pair) {
	clear(m.entries)
	m.entries = m.entries[:0]
	m.pseudo = 0
	for _, p := range pairs {
		m.Add(p[0], p[1])
	}
}

// ByteSize is the sum of key and value lengths (Envoy's HeaderMap::byteSize).
func (m *Map) ByteSize() int {
	if m == nil {
		return 0
	}
	n := 0
	for _, e := range m.entries {
		n += len(e[0]) + len(e[1])
	}
	return n
}

func isPseudo(key string) bool { return len(key) > 0 && key[0] == ':' }

// lower avoids an allocation when the key is already lower case, the common case.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
