// Package properties evaluates proxy_get_property paths the way Envoy does.
//
// A path is a list of segments separated by NUL bytes ("request\x00headers\x00user-agent").
// The first segment names a top-level attribute; each further segment indexes into a map (by
// key) or a list (by decimal index); indexing anything else, or a missing key, is NOT_FOUND. An
// empty path selects nothing and fails with SERIALIZATION_FAILURE, as in Envoy.
//
// The result is serialized with Envoy's rules (extensions/common/wasm/context.cc serializeValue):
// strings and bytes raw; int64, uint64 and double as 8 little-endian bytes; bool as one byte;
// durations and timestamps as int64 nanoseconds; maps and lists in the header-pairs format
// (a list's items are the keys, with empty values).
//
// The attribute tree itself (request.*, source.*, xds.*, ...) is built by hostsim from a stream's
// state; this package only walks and serializes it.
package properties

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

type kind uint8

const (
	kindNull kind = iota
	kindString
	kindBytes
	kindInt
	kindUint
	kindDouble
	kindBool
	kindDuration
	kindTimestamp
	kindMap
	kindList
)

// Value is a typed attribute value (a CEL value in Envoy).
type Value struct {
	kind kind
	s    string
	b    []byte
	n    uint64
	m    Map
	l    []Value
}

// Map is a map-valued attribute: Get indexes it, Entries lists it for serialization.
type Map interface {
	Get(key string) (Value, bool)
	Entries() []Entry
}

// Entry is one key and value of a Map.
type Entry struct {
	Key   string
	Value Value
}

// Value constructors.
func String(s string) Value          { return Value{kind: kindString, s: s} }
func Bytes(b []byte) Value           { return Value{kind: kindBytes, b: b} }
func Int(i int64) Value              { return Value{kind: kindInt, n: uint64(i)} }
func Uint(u uint64) Value            { return Value{kind: kindUint, n: u} }
func Double(f float64) Value         { return Value{kind: kindDouble, n: math.Float64bits(f)} }
func Bool(b bool) Value              { return Value{kind: kindBool, n: b2u(b)} }
func Duration(d time.Duration) Value { return Value{kind: kindDuration, n: uint64(d)} }
func Timestamp(t time.Time) Value    { return Value{kind: kindTimestamp, n: uint64(t.UnixNano())} }
func MapValue(m Map) Value           { return Value{kind: kindMap, m: m} }
func List(items []Value) Value       { return Value{kind: kindList, l: items} }
func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Lookup resolves a top-level attribute name.
type Lookup func(name string) (Value, bool)

// Get walks path from top and serializes the value it reaches.
func Get(path []byte, top Lookup) ([]byte, abi.Status) {
	var v Value
	first := true
	for start := 0; start < len(path); {
		end := start
		for end < len(path) && path[end] != 0 {
			end++
		}
		part := string(path[start:end])
		start = end + 1
		if first {
			first = false
			var ok bool
			if v, ok = top(part); !ok {
				return nil, abi.NotFound
			}
			continue
		}
		switch v.kind {
		case kindMap:
			next, ok := v.m.Get(part)
			if !ok {
				return nil, abi.NotFound
			}
			v = next
		case kindList:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v.l) {
				return nil, abi.NotFound
			}
			v = v.l[i]
		default:
			return nil, abi.NotFound
		}
	}
	return Serialize(v)
}

// Serialize encodes v as Envoy hands it to a plugin.
func Serialize(v Value) ([]byte, abi.Status) {
	switch v.kind {
	case kindString:
		return []byte(v.s), abi.OK
	case kindBytes:
		return v.b, abi.OK
	case kindInt, kindUint, kindDouble, kindDuration, kindTimestamp:
		return binary.LittleEndian.AppendUint64(nil, v.n), abi.OK
	case kindBool:
		return []byte{byte(v.n)}, abi.OK
	case kindMap:
		entries := v.m.Entries()
		pairs := make([]headermap.Pair, len(entries))
		for i, e := range entries {
			val, st := Serialize(e.Value)
			if st != abi.OK {
				return nil, abi.SerializationFailure
			}
			pairs[i] = headermap.Pair{e.Key, string(val)}
		}
		return headermap.Marshal(pairs), abi.OK
	case kindList:
		pairs := make([]headermap.Pair, len(v.l))
		for i, item := range v.l {
			val, st := Serialize(item)
			if st != abi.OK {
				return nil, abi.SerializationFailure
			}
			pairs[i] = headermap.Pair{string(val), ""}
		}
		return headermap.Marshal(pairs), abi.OK
	}
	return nil, abi.SerializationFailure
}

// Fields is a Map with a fixed set of lazily computed fields, listed in order.
type Fields []Field

// Field is one named field of Fields; Get reports false when the value is unavailable.
type Field struct {
	Name string
	Get  func() (Value, bool)
}

// Get implements Map.
func (f Fields) Get(key string) (Value, bool) {
	for _, fd := range f {
		if fd.Name == key {
			return fd.Get()
		}
	}
	return Value{}, false
}

// Entries implements Map: only the available fields.
func (f Fields) Entries() []Entry {
	var out []Entry
	for _, fd := range f {
		if v, ok := fd.Get(); ok {
			out = append(out, Entry{fd.Name, v})
		}
	}
	return out
}

// Pairs is a Map over string pairs, such as a header map: keys match lower-cased and a
// repeated key reads as its values joined by ",", as Envoy's header attribute does.
type Pairs []headermap.Pair

// Get implements Map.
func (p Pairs) Get(key string) (Value, bool) {
	key = lowerASCII(key)
	var joined string
	found := false
	for _, e := range p {
		if e[0] == key {
			if found {
				joined += "," + e[1]
			} else {
				joined, found = e[1], true
			}
		}
	}
	return String(joined), found
}

// Entries implements Map.
func (p Pairs) Entries() []Entry {
	out := make([]Entry, len(p))
	for i, e := range p {
		out[i] = Entry{e[0], String(e[1])}
	}
	return out
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
