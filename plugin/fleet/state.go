package fleet

import (
	"encoding/binary"
	"errors"
)

// How a lease sits in shared data: one shared-data key per slot, max_keys slots per rule
// (stepgate.fleet.v1/<rule>/<slots>/<i>), created when the plugin starts. A key lives in the slot
// its hash picks; a key that finds its slot held by another takes it over, and the other key's
// unused tokens are dropped. Dropping leased tokens can only admit less than the fleet limit,
// never more, so a collision costs efficiency, not correctness.

// entry is the lease of one key, shared by the worker VMs of one Envoy.
type entry struct {
	key       []byte
	avail     int64 // leased tokens not yet served
	block     int64 // the block size in force
	limit     int64 // the fleet limit the service last reported (0: not yet known)
	remaining int64 // the service's limitRemaining after the last lease, in this window
	resetAt   int64 // ns: when the service's window ends (0: not known)
	overUntil int64 // ns: the service said OVER_LIMIT; no lease before then
	pending   int64 // ns: a lease call is in flight until then (0: none)
	downUntil int64 // ns: the service is unavailable; the next probe after then
	refilled  int64 // ns: when the last lease arrived (adapts the block size)
	down      bool  // the last call failed: the rule is in its fail mode until a call succeeds
}

const (
	entryVersion = 1
	entryFixed   = 1 + 2 + 9*8 + 1
	keyPrefix    = "stepgate.fleet.v1/"
)

var errCorrupt = errors.New("fleet: corrupt lease entry")

// emptyEntry is a slot's value before any key uses it.
var emptyEntry = []byte{entryVersion, 0, 0}

func (e *entry) fields() [9]*int64 {
	return [9]*int64{&e.avail, &e.block, &e.limit, &e.remaining, &e.resetAt, &e.overUntil, &e.pending,
		&e.downUntil, &e.refilled}
}

func (e *entry) encode(dst []byte) []byte {
	dst = append(dst, entryVersion)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(e.key)))
	dst = append(dst, e.key...)
	for _, f := range e.fields() {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(*f))
	}
	if e.down {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// errUnused is decode's answer for a slot no key has used yet.
var errUnused = errors.New("fleet: unused slot")

// decode reads v into e; e.key points into v. A value it accepts has every field in range.
func (e *entry) decode(v []byte) error {
	*e = entry{}
	if len(v) == len(emptyEntry) && v[0] == entryVersion {
		return errUnused
	}
	if len(v) < entryFixed || v[0] != entryVersion {
		return errCorrupt
	}
	kl := int(binary.LittleEndian.Uint16(v[1:]))
	if len(v) != entryFixed+kl {
		return errCorrupt
	}
	e.key = v[3 : 3+kl]
	f := v[3+kl:]
	for i, p := range e.fields() {
		*p = int64(binary.LittleEndian.Uint64(f[8*i:]))
		if *p < 0 {
			return errCorrupt
		}
	}
	e.down = f[72] == 1
	return nil
}
