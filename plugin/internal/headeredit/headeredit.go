// Package headeredit collects the header changes the filter decides on during a callback, so
// that the glue can send them to the host together: one proxy_set_header_map_pairs call for
// the whole map instead of one replace or remove call per header (each call crosses the VM
// boundary, and most of a small request's cost is such crossings).
//
// Apply gives the map the host would hold had each change been made by its own call, as Envoy
// makes them: a set replaces the value of the first entry of its name (Envoy's setCopy, which
// proxy_replace_header_map_value uses; later entries of the name stay) or appends one, and a
// remove drops every entry of its name. Envoy's proxy_set_header_map_pairs removes every
// entry of the map, then adds the given pairs in order; pseudo-headers (":status", ":path")
// go back in front of the others wherever they are in the list, so a whole map written back
// keeps them. Names are lower case on both sides, as the host holds them.
//
// It does not talk to the host: it is plain Go, tested natively.
package headeredit

import (
	"encoding/binary"
	"slices"
	"unsafe"
)

// Op is one change: set Name to Value, or remove every entry of Name. Names are lower case.
type Op struct {
	Name, Value string
	Remove      bool
}

// Edits is the list of changes to one header map, in order. The zero value is empty.
type Edits struct{ ops []Op }

// Set records a replace of name's value (added when absent). name must be lower case, as the
// host's map holds names: the filter's own names are constants, and its configuration
// lower-cases or refuses the names it takes. (Lower-casing each name here, a byte loop inside
// the VM, cost as much as the rest of Apply.)
func (e *Edits) Set(name, value string) {
	e.ops = append(e.ops, Op{Name: name, Value: value})
}

// Remove records the removal of every entry of name (lower case).
func (e *Edits) Remove(name string) { e.ops = append(e.ops, Op{Name: name, Remove: true}) }

// Ops are the changes recorded since the last Reset. The slice is the Edits' own.
func (e *Edits) Ops() []Op { return e.ops }

// Reset forgets the changes and keeps the storage for the next ones.
func (e *Edits) Reset() {
	clear(e.ops)
	e.ops = e.ops[:0]
}

// Apply returns pairs with the changes in ops made one after the other, written into dst's
// storage (dst must not share storage with pairs, which is never modified). n counts the
// changes that changed something (removing an absent name, or setting the value the name
// already has, does not), and last is the last of them: when n is 1, that one change made
// alone gives the same map.
func Apply(dst, pairs [][2]string, ops []Op) (out [][2]string, n int, last Op) {
	out = append(dst[:0], pairs...)
	// names has the bit of every name in out (bits are never cleared: a removed name's bit
	// only costs a scan). A request's changes are mostly removals of headers it does not have
	// and a response's mostly additions: with a clear bit both are settled without a scan.
	names := Names(out)
	lastAt := -1
	for k := range ops {
		op := &ops[k] // not a copy: inside the VM each word of an Op copied is a load and a store
		bit := NameBit(op.Name)
		i := -1
		if names&bit != 0 {
			i = index(out, op.Name)
		}
		switch {
		case op.Remove && i < 0, !op.Remove && i >= 0 && out[i][1] == op.Value:
			continue
		case op.Remove:
			out = removeAll(out, i, op.Name)
		case i >= 0:
			out[i][1] = op.Value
		default:
			out = append(out, [2]string{op.Name, op.Value})
			names |= bit
		}
		n++
		lastAt = k
	}
	if lastAt >= 0 {
		last = ops[lastAt]
	}
	return out, n, last
}

// Names is the union of the NameBits of the names in pairs: a name whose bit it lacks is
// certainly not among them.
func Names(pairs [][2]string) uint64 {
	var names uint64
	for i := range pairs {
		names |= NameBit(pairs[i][0])
	}
	return names
}

// Names is the union of the NameBits of the names the recorded changes set.
func (e *Edits) Names() uint64 {
	var names uint64
	for i := range e.ops {
		if !e.ops[i].Remove {
			names |= NameBit(e.ops[i].Name)
		}
	}
	return names
}

// NameBit digests a name into one of 64 bits, from its length and its first and last bytes.
func NameBit(s string) uint64 {
	h := uint(len(s))
	if len(s) > 0 {
		h += uint(s[0])*7 + uint(s[len(s)-1])*31
	}
	return 1 << (h & 63)
}

// Get returns the first value of name in pairs (name lower case).
func Get(pairs [][2]string, name string) (string, bool) {
	if i := index(pairs, name); i >= 0 {
		return pairs[i][1], true
	}
	return "", false
}

func index(pairs [][2]string, name string) int {
	for i := range pairs {
		if pairs[i][0] == name {
			return i
		}
	}
	return -1
}

// removeAll drops every entry of name, the first of which is at from.
func removeAll(pairs [][2]string, from int, name string) [][2]string {
	out := pairs[:from]
	for _, kv := range pairs[from+1:] {
		if kv[0] != name {
			out = append(out, kv)
		}
	}
	clear(pairs[len(out):])
	return out
}

// Marshal appends pairs to dst in proxy-wasm's header map serialization (what
// proxy_set_header_map_pairs takes): the count, each key's and value's length as little-endian
// u32, then each key and value followed by a NUL byte. dst's storage is reused, and strings are
// copied eight bytes at a time rather than by a memmove call each: inside the VM a call costs
// more than a header name's copy.
func Marshal(dst []byte, pairs [][2]string) []byte {
	size := 4 + 8*len(pairs)
	for i := range pairs {
		size += len(pairs[i][0]) + len(pairs[i][1]) + 2
	}
	start := len(dst)
	dst = slices.Grow(dst, size)[:start+size]
	out := dst[start:]
	binary.LittleEndian.PutUint32(out, uint32(len(pairs)))
	at := 4
	for i := range pairs {
		binary.LittleEndian.PutUint32(out[at:], uint32(len(pairs[i][0])))
		binary.LittleEndian.PutUint32(out[at+4:], uint32(len(pairs[i][1])))
		at += 8
	}
	for i := range pairs {
		at = putString(out, at, pairs[i][0])
		at = putString(out, at, pairs[i][1])
	}
	return dst
}

// putString writes s and a NUL at out[at:], which has room for them, and returns the offset
// after. Strings of eight bytes or more go a word at a time, the last word overlapping the one
// before (out has room for it: the NUL follows); shorter ones a byte at a time.
func putString(out []byte, at int, s string) int {
	n := len(s)
	dst := out[at : at+n+1 : at+n+1] // the bounds check for the whole string, once
	if n >= 8 {
		d, src := unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.StringData(s))
		for i := 0; i+8 <= n; i += 8 {
			*(*uint64)(unsafe.Add(d, i)) = *(*uint64)(unsafe.Add(src, i))
		}
		*(*uint64)(unsafe.Add(d, n-8)) = *(*uint64)(unsafe.Add(src, n-8))
	} else {
		for i := 0; i < n; i++ {
			dst[i] = s[i]
		}
	}
	dst[n] = 0
	return at + n + 1
}
