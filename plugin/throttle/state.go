package throttle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
)

// How buckets sit in shared data.
//
// Envoy's shared data never deletes a key, so a limiter that stored one shared-data key per bucket
// key would grow without bound under a flood of distinct keys. Instead each rule owns a fixed table
// of sets, created up front (see tableSets), and a bucket key lives in one of the two sets its hash
// selects, as one of up to `ways` entries. A set is read and written whole with one
// compare-and-swap, so placing a new key, updating it and evicting an idle one are all atomic. A
// new key goes to the set with fewer entries in use, taking a free entry or else an idle one (its
// bucket is full again, it holds no request and has no step-down in force: forgetting it loses
// nothing). When both sets are full of keys in use, the request is charged to the rule's overflow
// bucket, which every such key shares. Because an entry changes hands only while its bucket is
// full, each entry behaves like one bucket over time, whichever keys it serves: the table as a
// whole never admits more than its entries' buckets would.
const ways = 8

// setVersion heads every encoded set. The shared-data key carries the same version, so a plugin
// with another encoding never reads these values.
const setVersion = 1

// emptySet is the value a set starts with.
var emptySet = []byte{setVersion, 0}

// Encoding of one set, little endian:
//
//	u8 version, u8 entry count, then per entry:
//	u16 key length, key bytes,
//	u64 debt, i64 asOf, u64 units per token, u8 step-down percent, i64 cool-down end,
//	u16 queue length, queue length × i64 release times (ascending)
const entryFixed = 8 + 8 + 8 + 1 + 8 + 2

var errCorrupt = errors.New("throttle: corrupt bucket set")

// setView is a decoded set. Entries point into the decoded value; nothing is copied.
type setView struct {
	n   int
	ent [ways]entryView
}

type entryView struct {
	off   int // where the entry starts in the set
	key   []byte
	b     bucket // queue not filled in: see queueInto
	queue []byte // the encoded release times
	raw   []byte // the whole encoded entry, copied verbatim when another entry changes
}

// decodeSet reads v into sv, checking every length and range: a value it accepts can be used
// without further checks.
func decodeSet(v []byte, sv *setView) error {
	sv.n = 0
	if len(v) < 2 || v[0] != setVersion || int(v[1]) > ways {
		return errCorrupt
	}
	n := int(v[1])
	off := 2
	for i := 0; i < n; i++ {
		// One entry, inline: a call per entry costs more in the VM than decoding it.
		e := &sv.ent[i]
		rest := v[off:]
		if len(rest) < 2 {
			return errCorrupt
		}
		kl := int(binary.LittleEndian.Uint16(rest))
		if kl > MaxKeyBytes || len(rest) < 2+kl+entryFixed {
			return errCorrupt
		}
		f := rest[2+kl:]
		debt := binary.LittleEndian.Uint64(f)
		tok := binary.LittleEndian.Uint64(f[16:])
		pen := f[24]
		qn := int(binary.LittleEndian.Uint16(f[33:]))
		if debt > math.MaxInt64/4 || tok == 0 || tok > maxFixed || pen > pctScale || qn > MaxQueueLimit {
			return errCorrupt
		}
		size := 2 + kl + entryFixed + 8*qn
		if len(rest) < size {
			return errCorrupt
		}
		e.off = off
		e.key = rest[2 : 2+kl]
		e.b = bucket{debt: int64(debt), asOf: int64(binary.LittleEndian.Uint64(f[8:])), tok: tok, pen: pen,
			until: int64(binary.LittleEndian.Uint64(f[25:]))}
		e.queue = rest[2+kl+entryFixed : size]
		e.raw = rest[:size]
		for j := 0; j < i; j++ {
			if len(sv.ent[j].key) == kl && bytes.Equal(sv.ent[j].key, e.key) {
				return errCorrupt
			}
		}
		off += size
	}
	if off != len(v) {
		return errCorrupt
	}
	sv.n = n
	return nil
}

// queueInto decodes e's release times into dst.
func (e *entryView) queueInto(dst []int64) []int64 {
	dst = dst[:0]
	if len(e.queue) == 0 {
		return dst
	}
	return e.appendQueue(dst)
}

func (e *entryView) appendQueue(dst []int64) []int64 {
	for q := e.queue; len(q) >= 8; q = q[8:] {
		dst = append(dst, int64(binary.LittleEndian.Uint64(q)))
	}
	return dst
}

// lastRelease is the latest release time in e's queue, or MinInt64 when it is empty.
func (e *entryView) lastRelease() int64 {
	if len(e.queue) < 8 {
		return math.MinInt64
	}
	return int64(binary.LittleEndian.Uint64(e.queue[len(e.queue)-8:]))
}

// find returns the index of key's entry.
func (sv *setView) find(key []byte) (int, bool) {
	for i := 0; i < sv.n; i++ {
		if k := sv.ent[i].key; len(k) == len(key) && (len(k) == 0 || bytes.Equal(k, key)) {
			return i, true
		}
	}
	return -1, false
}

// encodeSet appends sv to dst with entry i replaced by (key, b); i == sv.n appends a new entry.
func encodeSet(dst []byte, sv *setView, i int, key []byte, b *bucket) []byte {
	n := sv.n
	if i >= n {
		i, n = n, n+1
	}
	dst = append(dst, setVersion, byte(n))
	for j := 0; j < n; j++ {
		if j != i {
			dst = append(dst, sv.ent[j].raw...)
			continue
		}
		dst = encodeEntry(dst, key, b)
	}
	return dst
}

func encodeEntry(dst []byte, key []byte, b *bucket) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(key)))
	dst = append(dst, key...)
	dst = append(dst, make([]byte, entryFixed+8*len(b.queue))...)
	putBucket(dst[len(dst)-entryFixed-8*len(b.queue):], b)
	return dst
}

// putBucket writes b's fields, the queue's length and the queue (f has room for them).
func putBucket(f []byte, b *bucket) {
	binary.LittleEndian.PutUint64(f, uint64(b.debt))
	binary.LittleEndian.PutUint64(f[8:], uint64(b.asOf))
	binary.LittleEndian.PutUint64(f[16:], b.tok)
	f[24] = b.pen
	binary.LittleEndian.PutUint64(f[25:], uint64(b.until))
	binary.LittleEndian.PutUint16(f[33:], uint16(len(b.queue)))
	q := f[entryFixed:]
	for i, t := range b.queue {
		binary.LittleEndian.PutUint64(q[8*i:], uint64(t))
	}
}

// patchSet appends to dst the set v, decoded in sv, with the bucket of its entry i replaced by b,
// when that changes no length (as many held requests as before): the bytes encodeSet would
// produce, copied in one piece and patched. It reports false, appending nothing, otherwise.
func patchSet(dst, v []byte, sv *setView, i int, b *bucket) ([]byte, bool) {
	e := &sv.ent[i]
	if 8*len(b.queue) != len(e.queue) {
		return dst, false
	}
	start := len(dst)
	dst = append(dst, v...)
	putBucket(dst[start+e.off+2+len(e.key):], b)
	return dst, true
}
