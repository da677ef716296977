package governance

import "testing"

// The reference vectors of the SipHash paper (appendix A): key 00 01 … 0f, messages 00 01 … of
// each length.
func TestSip64ReferenceVectors(t *testing.T) {
	k := sipKey{0x0706050403020100, 0x0f0e0d0c0b0a0908}
	msg := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return string(b)
	}
	for n, want := range map[int]uint64{0: 0x726fdb47dd0e0e31, 15: 0xa129ca6149be45e5} {
		if got := sip64(k, msg(n)); got != want {
			t.Errorf("%d bytes: %#x, want %#x", n, got, want)
		}
	}
}
