// Package buffer is a proxy-wasm buffer (request/response body, http-call response body,
// configuration) with the read and write rules Envoy applies in proxy_get_buffer_bytes and
// proxy_set_buffer_bytes.
//
// Reads clamp the requested range to the data (cpp-host's get_buffer_bytes). Writes follow
// Envoy's Buffer::copyFrom, which is narrower than the ABI text: on a mutable buffer,
// start 0 with length 0 prepends, start 0 with a length covering the whole buffer replaces it,
// a start at or past the end appends, and every other range is BAD_ARGUMENT. Read-only buffers
// (configuration, http-call responses) reject every write with BAD_ARGUMENT.
package buffer

// Buffer is a view of bytes a plugin may read and, when mutable, write.
// The zero Buffer is an absent mutable buffer: empty, and writes fail with BAD_ARGUMENT
// (what Envoy does when the body pointer it would expose is null).
type Buffer struct {
	data *[]byte // mutable storage, owned by the stream
	ro   []byte  // read-only content
}

// Mutable returns a buffer that reads and writes *p.
func Mutable(p *[]byte) Buffer { return Buffer{data: p} }

// ReadOnly returns a buffer over b that rejects writes.
func ReadOnly(b []byte) Buffer { return Buffer{ro: b} }

// Bytes returns the whole content.
func (b Buffer) Bytes() []byte {
	if b.data != nil {
		return *b.data
	}
	return b.ro
}

// Len is the content length.
func (b Buffer) Len() int { return len(b.Bytes()) }

// Slice returns at most length bytes from start, clamped to the content; it is empty when start
// is past the end. The result aliases the buffer.
func (b Buffer) Slice(start, length uint64) []byte {
	all := b.Bytes()
	size := uint64(len(all))
	if start > size {
		return nil
	}
	if length > size-start {
		length = size - start
	}
	return all[start : start+length]
}

// Write applies proxy_set_buffer_bytes(start, length, data) with Envoy's rules; false means
// the write was refused (BAD_ARGUMENT).
func (b Buffer) Write(start, length uint64, data []byte) bool {
	if b.data == nil {
		return false
	}
	cur := *b.data
	size := uint64(len(cur))
	switch {
	case start == 0 && length == 0:
		out := make([]byte, 0, len(data)+len(cur))
		*b.data = append(append(out, data...), cur...)
	case start == 0 && length >= size && len(data) <= cap(cur):
		// The storage is the stream's alone (nothing else holds it), so a replacement that fits
		// reuses it: a rewritten body costs no allocation.
		*b.data = append(cur[:0], data...)
	case start == 0 && length >= size:
		*b.data = append(cur[:0:0], data...)
	case start == 0:
		return false
	case start >= size:
		*b.data = append(cur, data...)
	default:
		return false
	}
	return true
}
