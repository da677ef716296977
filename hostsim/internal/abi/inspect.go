package abi

import (
	"errors"
	"fmt"
)

// ExternKind is the kind of an import or export.
type ExternKind byte

// Extern kinds.
const (
	KindFunc   ExternKind = 0
	KindTable  ExternKind = 1
	KindMemory ExternKind = 2
	KindGlobal ExternKind = 3
)

func (k ExternKind) String() string {
	switch k {
	case KindFunc:
		return "function"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	}
	return fmt.Sprintf("kind %d", byte(k))
}

// Import is one entry of a module's import section.
type Import struct {
	Module, Name string
	Kind         ExternKind
}

// Module is what Inspect reads from a .wasm file without compiling it.
type Module struct {
	Version Version
	Imports []Import
	Exports map[string]ExternKind
}

var errCorrupt = errors.New("failed to parse corrupted Wasm module")

// Inspect reads the import and export sections of a binary module and its proxy-wasm ABI
// version, which, as cpp-host's BytecodeUtil::getAbiVersion decides, is the first exported
// function named like proxy_abi_version_X_Y_Z.
func Inspect(wasm []byte) (Module, error) {
	m := Module{Exports: make(map[string]ExternKind)}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return m, errors.New("not a WebAssembly binary module (bad magic or version)")
	}
	r := reader{b: wasm, pos: 8}
	for r.pos < len(r.b) {
		id := r.byte()
		size := int(r.u32())
		if r.err != nil || size > len(r.b)-r.pos {
			return m, errCorrupt
		}
		sec := reader{b: r.b[:r.pos+size], pos: r.pos}
		switch id {
		case 2:
			m.Imports = sec.imports()
		case 7:
			sec.exports(&m)
		}
		if sec.err != nil {
			return m, errCorrupt
		}
		r.pos += size
	}
	return m, r.err
}

type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.err = errCorrupt
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errCorrupt
	return 0
}

func (r *reader) name() string {
	n := int(r.u32())
	if r.err != nil || n > len(r.b)-r.pos {
		r.err = errCorrupt
		return ""
	}
	s := string(r.b[r.pos : r.pos+n])
	r.pos += n
	return s
}

func (r *reader) limits() {
	flags := r.byte()
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}

func (r *reader) imports() []Import {
	n := r.u32()
	var out []Import
	for i := uint32(0); i < n && r.err == nil; i++ {
		imp := Import{Module: r.name(), Name: r.name(), Kind: ExternKind(r.byte())}
		switch imp.Kind {
		case KindFunc:
			r.u32()
		case KindTable:
			r.byte()
			r.limits()
		case KindMemory:
			r.limits()
		case KindGlobal:
			r.byte()
			r.byte()
		default:
			r.err = errCorrupt
		}
		out = append(out, imp)
	}
	return out
}

func (r *reader) exports(m *Module) {
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		name := r.name()
		kind := ExternKind(r.byte())
		r.u32()
		if r.err != nil {
			return
		}
		m.Exports[name] = kind
		if v, ok := VersionMarkers[name]; ok && kind == KindFunc && m.Version == VersionUnknown {
			m.Version = v
		}
	}
}
