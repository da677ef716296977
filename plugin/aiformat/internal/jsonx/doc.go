package jsonx

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Doc is a JSON document indexed in one pass: every value (and every object key) becomes a
// node holding its extent in the source and the index of the node after it, so that lookups
// and iteration hop from node to node instead of scanning the text again. gjson rescans the
// text for every Get and every nested ForEach; inside wasm, where a byte loop is slow, that is
// most of the cost of a translation.
//
// Parse accepts exactly what gjson.Valid accepts (RFC 8259 JSON; strings are not checked for
// valid UTF-8), and the accessors of Value mirror gjson.Result's, so codecs written against
// gjson keep their behaviour. A Doc may be reused; it keeps its storage.
type Doc struct {
	src   string
	nodes []node
	stack []uint32
}

// Kind is the JSON type of a Value.
type Kind uint8

// Kinds. Missing is the kind of a Value that does not exist.
const (
	Missing Kind = iota
	Null
	False
	True
	Number
	String
	Array
	Object
)

type node struct {
	start uint32 // offset of the value's first byte
	end   uint32 // offset after its last byte
	next  uint32 // index of the node after this value and everything inside it
	kind  Kind
	esc   bool // a string with backslash escapes
}

var docPool = sync.Pool{New: func() any { return new(Doc) }}

// GetDoc returns an empty Doc from a pool; PutDoc gives it back.
func GetDoc() *Doc { return docPool.Get().(*Doc) }

// PutDoc returns d to the pool. Values of d must not be used afterwards.
func PutDoc(d *Doc) {
	d.src = ""
	if cap(d.nodes) > 1<<20 {
		return // an outsized document: let it go rather than keep its index alive
	}
	docPool.Put(d)
}

// Parse indexes src and reports whether it is valid JSON. Values of a previous Parse become
// invalid. src is referenced, not copied.
func (d *Doc) Parse(src string) bool {
	d.src = src
	d.nodes = d.nodes[:0]
	d.stack = d.stack[:0]
	if uint64(len(src)) >= 1<<32-1 {
		return false
	}
	if want := len(src)/24 + 8; cap(d.nodes) < want {
		d.nodes = make([]node, 0, want)
	}
	ok := d.parse(unsafe.Slice(unsafe.StringData(src), len(src)))
	if !ok {
		d.nodes = d.nodes[:0]
	}
	return ok
}

// Root is the document's top-level value (Missing if the last Parse failed).
func (d *Doc) Root() Value {
	if len(d.nodes) == 0 {
		return Value{}
	}
	return Value{d: d}
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isWS(b[i]) {
		i++
	}
	return i
}

// parse is an iterative recursive-descent parser: the stack holds the open containers.
func (d *Doc) parse(b []byte) bool {
	i := skipWS(b, 0)
	for {
		// A value starts at i.
		if i >= len(b) {
			return false
		}
		switch c := b[i]; c {
		case '{', '[':
			k, closer := Object, byte('}')
			if c == '[' {
				k, closer = Array, ']'
			}
			d.stack = append(d.stack, uint32(len(d.nodes)))
			d.nodes = append(d.nodes, node{start: uint32(i), kind: k})
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == closer {
				i = d.close(i)
				break
			}
			if k == Object {
				if i = d.key(b, i); i < 0 {
					return false
				}
			}
			continue
		case '"':
			end, esc, ok := scanString(b, i+1)
			if !ok {
				return false
			}
			d.nodes = append(d.nodes, node{start: uint32(i), end: uint32(end), next: uint32(len(d.nodes) + 1), kind: String, esc: esc})
			i = end
		case 't', 'f', 'n':
			lit, k := "true", True
			if c == 'f' {
				lit, k = "false", False
			} else if c == 'n' {
				lit, k = "null", Null
			}
			if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
				return false
			}
			d.nodes = append(d.nodes, node{start: uint32(i), end: uint32(i + len(lit)), next: uint32(len(d.nodes) + 1), kind: k})
			i += len(lit)
		default:
			end, ok := scanNumber(b, i)
			if !ok {
				return false
			}
			d.nodes = append(d.nodes, node{start: uint32(i), end: uint32(end), next: uint32(len(d.nodes) + 1), kind: Number})
			i = end
		}
		// A value ended at i: close containers until another value is due.
		for {
			if len(d.stack) == 0 {
				return skipWS(b, i) == len(b)
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return false
			}
			top := &d.nodes[d.stack[len(d.stack)-1]]
			c := b[i]
			if c == ',' {
				i = skipWS(b, i+1)
				if top.kind == Object {
					if i = d.key(b, i); i < 0 {
						return false
					}
				}
				break
			}
			if (c == '}' && top.kind == Object) || (c == ']' && top.kind == Array) {
				i = d.close(i)
				continue
			}
			return false
		}
	}
}

// close ends the innermost container at its closing byte b[i] and returns i+1.
func (d *Doc) close(i int) int {
	top := d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	n := &d.nodes[top]
	n.end = uint32(i + 1)
	n.next = uint32(len(d.nodes))
	return i + 1
}

// key reads a member name at i and the colon after it, returning where the value starts, or
// -1.
func (d *Doc) key(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	end, esc, ok := scanString(b, i+1)
	if !ok {
		return -1
	}
	d.nodes = append(d.nodes, node{start: uint32(i), end: uint32(end), next: uint32(len(d.nodes) + 1), kind: String, esc: esc})
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipWS(b, i+1)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain returns the index of the first '"', '\\' or control byte at or after i (len(b) if
// none). It tests eight bytes at a time: the usual "has a zero byte" bit trick applied to x
// xor '"', x xor '\\' and x minus 0x20. The lowest flagged byte is always a true match
// (false flags can only appear above a true one), so the first special byte is exact.
func plain(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lsb * '"')
		s := x ^ (lsb * '\\')
		m := ((q - lsb) &^ q) | ((s - lsb) &^ s) | ((x - lsb*0x20) &^ x)
		if m &= msb; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
		i++
	}
	return i
}

// scanString checks a string literal whose content starts at i and returns the offset after
// its closing quote and whether it has escapes.
func scanString(b []byte, i int) (end int, esc, ok bool) {
	for {
		i = plain(b, i)
		if i >= len(b) {
			return i, esc, false
		}
		switch b[i] {
		case '"':
			return i + 1, esc, true
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return i, esc, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, esc, false
				}
				i += 6
			default:
				return i, esc, false
			}
		default: // a control character
			return i, esc, false
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// scanNumber checks the number at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) || !isDigit(b[i]) {
		return i, false
	}
	if b[i] == '0' {
		i++
	} else {
		i = digits(b, i)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		i = digits(b, i)
	}
	return i, true
}

// Value is one value of a Doc, or Missing. Its methods mirror gjson.Result's: Str is the
// unescaped text of a string (empty for other kinds), Raw the value's JSON text, Get finds an
// object member by name (the first, as gjson does) or an array element by decimal index.
type Value struct {
	d *Doc
	i uint32
}

func (v Value) n() *node { return &v.d.nodes[v.i] }

// Exists reports whether the value is present.
func (v Value) Exists() bool { return v.d != nil }

// Kind is the value's JSON type.
func (v Value) Kind() Kind {
	if v.d == nil {
		return Missing
	}
	return v.n().kind
}

// IsObject reports whether the value is an object.
func (v Value) IsObject() bool { return v.Kind() == Object }

// IsArray reports whether the value is an array.
func (v Value) IsArray() bool { return v.Kind() == Array }

// IsString reports whether the value is a string.
func (v Value) IsString() bool { return v.Kind() == String }

// IsNumber reports whether the value is a number.
func (v Value) IsNumber() bool { return v.Kind() == Number }

// IsNull reports whether the value is null.
func (v Value) IsNull() bool { return v.Kind() == Null }

// IsTrue reports whether the value is true.
func (v Value) IsTrue() bool { return v.Kind() == True }

// IsBool reports whether the value is true or false.
func (v Value) IsBool() bool { k := v.Kind(); return k == True || k == False }

// Raw is the value's JSON text ("" when Missing).
func (v Value) Raw() string {
	if v.d == nil {
		return ""
	}
	n := v.n()
	if v.i == 0 && n.kind >= Array {
		return v.d.src[n.start:] // gjson.Parse keeps what follows a top-level object or array
	}
	return v.d.src[n.start:n.end]
}

// Str is the text of a string value, unescaped; "" for other kinds.
func (v Value) Str() string {
	if v.d == nil {
		return ""
	}
	n := v.n()
	if n.kind != String {
		return ""
	}
	if !n.esc {
		return v.d.src[n.start+1 : n.end-1]
	}
	return gjson.Parse(v.d.src[n.start:n.end]).Str
}

// StrIs reports whether the value is a string equal to s, without unescaping when it has no
// escapes.
func (v Value) StrIs(s string) bool {
	if v.d == nil {
		return false
	}
	n := v.n()
	if n.kind != String {
		return false
	}
	if !n.esc {
		return v.d.src[n.start+1:n.end-1] == s
	}
	return gjson.Parse(v.d.src[n.start:n.end]).Str == s
}

// Result is the value as a gjson.Result, for the rarely used conversions (String, Bool on
// strings, ...) whose exact gjson semantics matter.
func (v Value) Result() gjson.Result {
	if v.d == nil {
		return gjson.Result{}
	}
	return gjson.Parse(v.Raw())
}

// String is gjson's String of the value.
func (v Value) String() string { return v.Result().String() }

// Int is gjson's Int of the value: numbers truncated toward zero, numeric strings parsed,
// true is 1, anything else 0.
func (v Value) Int() int64 {
	if v.d == nil {
		return 0
	}
	if n := v.n(); n.kind == Number {
		if x, ok := smallInt(v.d.src[n.start:n.end]); ok {
			return x
		}
	}
	return v.Result().Int()
}

// Num is the value of a number (0 for other kinds).
func (v Value) Num() float64 {
	if v.Kind() != Number {
		return 0
	}
	if x, ok := smallInt(v.Raw()); ok {
		return float64(x)
	}
	return v.Result().Num
}

// smallInt parses an integer of at most 15 digits, which float64 holds exactly, so the result
// is what gjson's float-first conversion gives.
func smallInt(s string) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 15 {
		return 0, false
	}
	var x int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + int64(c-'0')
	}
	if neg {
		x = -x
	}
	return x, true
}

// Get returns the first member named key of an object, or the element at decimal index key
// of an array; Missing otherwise.
func (v Value) Get(key string) Value {
	switch v.Kind() {
	case Object:
		return v.member(key)
	case Array:
		if i, ok := index(key); ok {
			return v.Index(i)
		}
	}
	return Value{}
}

func (v Value) member(key string) Value {
	d := v.d
	end := d.nodes[v.i].next
	for k := v.i + 1; k < end; {
		kn := &d.nodes[k]
		if kn.end-kn.start-2 == uint32(len(key)) && !kn.esc {
			if d.src[kn.start+1:kn.end-1] == key {
				return Value{d, k + 1}
			}
		} else if kn.esc && gjson.Parse(d.src[kn.start:kn.end]).Str == key {
			return Value{d, k + 1}
		}
		k = d.nodes[k+1].next
	}
	return Value{}
}

func index(key string) (int, bool) {
	if len(key) == 0 || len(key) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(key); i++ {
		if key[i] < '0' || key[i] > '9' {
			return 0, false
		}
		n = n*10 + int(key[i]-'0')
	}
	return n, true
}

// Index returns element i of an array (Missing if there is none).
func (v Value) Index(i int) Value {
	if v.Kind() != Array || i < 0 {
		return Value{}
	}
	d := v.d
	end := d.nodes[v.i].next
	for k := v.i + 1; k < end; k = d.nodes[k].next {
		if i == 0 {
			return Value{d, k}
		}
		i--
	}
	return Value{}
}

// Path follows keys one after another: v.Path("function", "name") is gjson's
// Get("function.name").
func (v Value) Path(keys ...string) Value {
	for _, k := range keys {
		v = v.Get(k)
	}
	return v
}

// NonEmpty reports whether the value is an array with at least one element.
func (v Value) NonEmpty() bool {
	return v.Kind() == Array && v.i+1 < v.d.nodes[v.i].next
}

// Len is the number of elements of an array or members of an object (1 for a scalar, as
// Iter visits it).
func (v Value) Len() int {
	n := 0
	for it := v.Iter(); it.Next(); {
		n++
	}
	return n
}

// Iter walks the elements of an array or the members of an object, with gjson's ForEach
// semantics: any other existing value is visited once, as itself (with an empty key).
//
//	for it := v.Iter(); it.Next(); { use(it.Key(), it.Value()) }
type Iter struct {
	d        *Doc
	cur, end uint32
	key, val uint32
	obj      bool
}

// Iter starts an iteration over v.
func (v Value) Iter() Iter {
	switch v.Kind() {
	case Missing:
		return Iter{}
	case Array:
		return Iter{d: v.d, cur: v.i + 1, end: v.d.nodes[v.i].next}
	case Object:
		return Iter{d: v.d, cur: v.i + 1, end: v.d.nodes[v.i].next, obj: true}
	}
	return Iter{d: v.d, cur: v.i, end: v.i + 1}
}

// Next moves to the next element or member.
func (it *Iter) Next() bool {
	if it.cur >= it.end {
		return false
	}
	if it.obj {
		it.key, it.val = it.cur, it.cur+1
	} else {
		it.val = it.cur
	}
	it.cur = it.d.nodes[it.val].next
	return true
}

// Value is the current element or member value.
func (it *Iter) Value() Value { return Value{it.d, it.val} }

// Key is the current member's name, unescaped ("" in an array).
func (it *Iter) Key() string {
	if !it.obj {
		return ""
	}
	return Value{it.d, it.key}.Str()
}

// KeyIs reports whether the current member is named k.
func (it *Iter) KeyIs(k string) bool { return it.obj && Value{it.d, it.key}.StrIs(k) }
