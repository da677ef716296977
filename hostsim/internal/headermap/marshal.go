package headermap

import "encoding/binary"

// Limits cpp-host applies when it decodes pairs coming from a plugin (include/proxy-wasm/limits.h).
const (
	MaxPairsBytes = 1024 * 1024
	MaxPairsCount = 1024
)

// Size is the length of the serialized form of pairs.
func Size(pairs []Pair) int {
	n := 4
	for _, p := range pairs {
		n += 8 + len(p[0]) + 1 + len(p[1]) + 1
	}
	return n
}

// MarshalTo writes pairs in the proxy-wasm format into dst, which must be Size(pairs) long:
// a little-endian u32 count, a u32 key length and u32 value length per pair, then every key
// and value each followed by a NUL byte.
func MarshalTo(dst []byte, pairs []Pair) {
	binary.LittleEndian.PutUint32(dst, uint32(len(pairs)))
	pos := 4
	for _, p := range pairs {
		binary.LittleEndian.PutUint32(dst[pos:], uint32(len(p[0])))
		binary.LittleEndian.PutUint32(dst[pos+4:], uint32(len(p[1])))
		pos += 8
	}
	for _, p := range pairs {
		pos += copy(dst[pos:], p[0])
		dst[pos] = 0
		pos++
		pos += copy(dst[pos:], p[1])
		dst[pos] = 0
		pos++
	}
}

// Marshal returns the proxy-wasm serialization of pairs.
func Marshal(pairs []Pair) []byte {
	b := make([]byte, Size(pairs))
	MarshalTo(b, pairs)
	return b
}

// Unmarshal decodes the proxy-wasm format the way cpp-host's PairsUtil::toPairs does: anything
// malformed (truncated, a missing NUL, trailing bytes, over the size or count limits) yields no
// pairs at all rather than an error, so a bad map reaches Envoy as an empty one.
func Unmarshal(b []byte) []Pair {
	if len(b) > MaxPairsBytes || len(b) < 4 {
		return nil
	}
	n := binary.LittleEndian.Uint32(b)
	if n > MaxPairsCount {
		return nil
	}
	pos := 4
	if uint64(pos)+uint64(n)*8 > uint64(len(b)) {
		return nil
	}
	sizes := b[pos : pos+int(n)*8]
	pos += int(n) * 8
	// One copy of the whole text (b is usually the VM's memory); every key and value is a
	// substring of it, so a map costs two allocations however many entries it has.
	text := string(b)
	pairs := make([]Pair, n)
	for i := range pairs {
		kl := int(binary.LittleEndian.Uint32(sizes[i*8:]))
		vl := int(binary.LittleEndian.Uint32(sizes[i*8+4:]))
		var ok bool
		if pairs[i][0], pos, ok = field(text, pos, kl); !ok {
			return nil
		}
		if pairs[i][1], pos, ok = field(text, pos, vl); !ok {
			return nil
		}
	}
	if pos != len(b) {
		return nil
	}
	return pairs
}

// field reads a NUL-terminated string of length n at pos.
func field(text string, pos, n int) (string, int, bool) {
	if n < 0 || n > len(text)-pos-1 || text[pos+n] != 0 {
		return "", 0, false
	}
	return text[pos : pos+n], pos + n + 1, true
}
