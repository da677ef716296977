package aiformat

import (
	"unsafe"

	"github.com/stepgate/stepgate/plugin/internal/vmsync"
)

// spareBody is storage for the next body the package writes: an upstream request (Router) or a
// translated answer (ResponseTranslator). The caller hands a body back once the host has copied
// it, so that a translated request neither allocates a buffer of its body's size nor leaves one
// for the VM's garbage collector: inside the VM both are a large part of a big request's cost.
type spareBody struct {
	mu  vmsync.Mutex
	buf []byte
}

// maxSpareBody bounds the storage kept between requests.
const maxSpareBody = 1 << 20

// take returns empty storage of at least size bytes, the spare when it is large enough.
func (s *spareBody) take(size int) []byte {
	s.mu.Lock()
	b := s.buf
	s.buf = nil
	s.mu.Unlock()
	if cap(b) < size {
		return make([]byte, 0, size)
	}
	return b[:0]
}

// put keeps b as the spare if it is larger than the one kept.
func (s *spareBody) put(b []byte) {
	if cap(b) == 0 || cap(b) > maxSpareBody {
		return
	}
	s.mu.Lock()
	if cap(b) > cap(s.buf) {
		s.buf = b
	}
	s.mu.Unlock()
}

// overlaps reports whether a and b share storage.
func overlaps(a, b []byte) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return a0 < b0+uintptr(cap(b)) && b0 < a0+uintptr(cap(a))
}
