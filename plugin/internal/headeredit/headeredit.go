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
// u32, then each key and value followed by a NUL byte. Strings are copied whole, not byte by
// byte, and dst's storage is reused: inside the VM both matter.
func Marshal(dst []byte, pairs [][2]string) []byte {
	dst = appendU32(dst, uint32(len(pairs)))
	for _, kv := range pairs {
		dst = appendU32(appendU32(dst, uint32(len(kv[0]))), uint32(len(kv[1])))
	}
	for _, kv := range pairs {
		dst = append(append(dst, kv[0]...), 0)
		dst = append(append(dst, kv[1]...), 0)
	}
	return dst
}

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}
