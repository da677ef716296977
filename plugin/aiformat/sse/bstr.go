package sse

import "unsafe"

// bstr views b as a string without copying. The scanner never writes to bytes it has handed
// out until the next Push, which is when returned events are documented to expire.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
