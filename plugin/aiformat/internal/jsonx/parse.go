package jsonx

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/internal/vmsync"
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
	src      string
	nodes    []node
	stack    []uint32 // open containers while parsing
	stackBuf [16]uint32

	// For ParseNext: the previous document and the parser states recorded in it.
	prev []byte
	cps  []checkpoint
}

// checkpoint is the parser's state at offset i of a document, where a member's value is due:
// n nodes made and the open containers on the stack. (States are recorded after member names
// only: that is where events of a stream start to differ, in the text or arguments they
// carry, and recording more often costs more than it saves.)
type checkpoint struct {
	i, n  uint32
	depth uint32
	stack [maxCheckpointDepth]uint32
}

const (
	maxCheckpoints     = 32
	maxCheckpointDepth = 6
)

func record(cps *[]checkpoint, i int, nodes []node, stack []uint32) {
	l := *cps
	if len(l) >= maxCheckpoints || len(stack) > maxCheckpointDepth {
		return
	}
	if len(l) == cap(l) {
		l = append(l, checkpoint{})[:len(l)]
	}
	l = l[:len(l)+1]
	c := &l[len(l)-1]
	c.i, c.n, c.depth = uint32(i), uint32(len(nodes)), uint32(len(stack))
	copy(c.stack[:], stack)
	*cps = l
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
	esc   bool  // a string with backslash escapes
	tag   uint8 // strings: a digest of length and content (tagOf), to skip most key comparisons
}

// tagOf digests a string's content from its length and its first and last bytes: keys that
// differ in any of them are told apart without a comparison call.
func tagOf(s string) uint8 {
	if len(s) == 0 {
		return 0
	}
	return uint8(len(s)) ^ s[0]<<2 ^ s[len(s)-1]<<5
}

// docs are Docs kept for reuse. A free list under a mutex rather than a sync.Pool: inside the
// VM, where a decoder takes and returns a Doc for every answer, sync.Pool's per-processor
// bookkeeping costs several times more, and its contents are dropped at every collection.
var docs struct {
	vmsync.Mutex
	free []*Doc
}

// The Docs kept are at most maxFreeDocs, more than the answers being decoded at once on one
// VM, each with at most maxKeptNodes nodes (256 KB): a larger one is left to the collector.
const (
	maxFreeDocs  = 16
	maxKeptNodes = 1 << 14
)

// GetDoc returns an empty Doc, a reused one when there is one; PutDoc gives it back.
func GetDoc() *Doc {
	docs.Lock()
	var d *Doc
	if n := len(docs.free); n > 0 {
		d = docs.free[n-1]
		docs.free[n-1] = nil
		docs.free = docs.free[:n-1]
	}
	docs.Unlock()
	if d == nil {
		d = new(Doc)
	}
	return d
}

// PutDoc gives d back for reuse. Values of d must not be used afterwards.
func PutDoc(d *Doc) {
	d.src = ""
	if cap(d.nodes) > maxKeptNodes || cap(d.prev) > 16*maxKeptNodes {
		return // an outsized document: let it go rather than keep its index alive
	}
	docs.Lock()
	if len(docs.free) < maxFreeDocs {
		docs.free = append(docs.free, d)
	}
	docs.Unlock()
}

// Parse indexes src and reports whether it is valid JSON. Values of a previous Parse become
// invalid. src is referenced, not copied.
func (d *Doc) Parse(src string) bool {
	d.src = src
	d.nodes = d.nodes[:0]
	d.cps, d.prev = d.cps[:0], d.prev[:0] // ParseNext starts afresh after a Parse
	if cap(d.stack) <= len(d.stackBuf) {
		d.stack = d.stackBuf[:0] // no allocation for the usual shallow document
	}
	d.stack = d.stack[:0]
	if uint64(len(src)) >= 1<<32-1 {
		return false
	}
	if want := len(src)/64 + 16; cap(d.nodes) < want {
		d.nodes = make([]node, 0, want)
	}
	var ok bool
	d.nodes, d.stack, ok = parse(src, unsafe.Slice(unsafe.StringData(src), len(src)), d.nodes, d.stack, 0, nil)
	if !ok {
		d.nodes = d.nodes[:0]
	}
	return ok
}

// ParseNext is Parse for the next of a series of similar documents, such as the events of a
// stream, whose first bytes (ids, model, event type) repeat: the nodes of the longest prefix
// it shares with the previous document are kept, and parsing resumes from the last parser
// state recorded within that prefix. The result is the same as Parse's.
func (d *Doc) ParseNext(src string) bool {
	b := unsafe.Slice(unsafe.StringData(src), len(src))
	same := commonPrefix(d.prev, b)
	k := -1
	for j := range d.cps { // the parser reads one byte past a state before recording it
		if int(d.cps[j].i) >= same {
			break
		}
		k = j
	}
	d.src = src
	if uint64(len(src)) >= 1<<32-1 {
		d.nodes, d.cps, d.prev = d.nodes[:0], d.cps[:0], d.prev[:0]
		return false
	}
	var ok bool
	if k < 0 {
		d.cps = d.cps[:0]
		d.nodes, d.stack, ok = parse(src, b, d.nodes[:0], d.stackBuf[:0], 0, &d.cps)
	} else {
		c := &d.cps[k]
		stack := append(d.stackBuf[:0], c.stack[:c.depth]...)
		d.cps = d.cps[:k+1] // states after c are recorded again
		d.nodes, d.stack, ok = parse(src, b, d.nodes[:c.n], stack, int(c.i), &d.cps)
	}
	if !ok {
		d.nodes, d.cps, d.prev = d.nodes[:0], d.cps[:0], d.prev[:0]
		return false
	}
	d.prev = append(d.prev[:0], src...)
	return true
}

// commonPrefix is the length of the longest common prefix of a and b, eight bytes at a time.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)>>3
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// Holds reports whether src is the very text (same bytes in memory) the Doc last parsed, so
// that an index built earlier can be reused.
func (d *Doc) Holds(src string) bool {
	return len(src) == len(d.src) && unsafe.StringData(src) == unsafe.StringData(d.src)
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

// add appends a node, written in place: a node built on the stack and copied in stalls on
// store forwarding (narrow stores read back as one wide load).
func add(nodes []node, start, end int, k Kind) ([]node, *node) {
	if len(nodes) == cap(nodes) {
		nodes = append(nodes, node{})[:len(nodes)]
	}
	nodes = nodes[:len(nodes)+1]
	nd := &nodes[len(nodes)-1]
	*nd = node{start: uint32(start), end: uint32(end), next: uint32(len(nodes)), kind: k}
	return nodes, nd
}

// parse is an iterative recursive-descent parser; the stack holds the open containers. It is
// shaped for Go's wasm backend, where the parser spends most of its time: the state lives in
// locals rather than behind a pointer, whitespace is skipped by a call only when there is
// some, and the byte loops live in small leaf functions (scanString, scanNumber), because in a
// large function every jump of a loop goes through the function's dispatch table.
//
// parse starts at offset i with a value due (the document's, or a member's when resuming from
// a checkpoint). With cps set it records a checkpoint after each member name, for ParseNext.
func parse(src string, b []byte, nodes []node, stack []uint32, i int, cps *[]checkpoint) ([]node, []uint32, bool) {
	if i < len(b) && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	for {
		// A value starts at i.
		if i >= len(b) {
			return nodes, stack, false
		}
		switch c := b[i]; c {
		case '{', '[':
			k, closer := Object, byte('}')
			if c == '[' {
				k, closer = Array, ']'
			}
			stack = append(stack, uint32(len(nodes)))
			nodes, _ = add(nodes, i, 0, k)
			i++
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			if i < len(b) && b[i] == closer { // empty
				nodes[len(nodes)-1].end = uint32(i + 1)
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if k == Object {
				goto key
			}
			continue
		case '"':
			end, esc := scanString(b, i)
			if end < 0 {
				return nodes, stack, false
			}
			var nd *node
			nodes, nd = add(nodes, i, end, String)
			if nd.esc = esc; !esc {
				nd.tag = tagOf(src[i+1 : end-1])
			}
			i = end
		case 't', 'f', 'n':
			lit, k := "true", True
			if c == 'f' {
				lit, k = "false", False
			} else if c == 'n' {
				lit, k = "null", Null
			}
			if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
				return nodes, stack, false
			}
			nodes, _ = add(nodes, i, i+len(lit), k)
			i += len(lit)
		default:
			end := scanNumber(b, i)
			if end < 0 {
				return nodes, stack, false
			}
			nodes, _ = add(nodes, i, end, Number)
			i = end
		}
		// A value ended at i: close containers until another value is due.
		for {
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			if len(stack) == 0 {
				return nodes, stack, i == len(b)
			}
			if i >= len(b) {
				return nodes, stack, false
			}
			top := stack[len(stack)-1]
			inObj := nodes[top].kind == Object
			c := b[i]
			if c == ',' {
				i++
				if i < len(b) && b[i] <= ' ' {
					i = skipWS(b, i)
				}
				if inObj {
					goto key
				}
				break
			}
			if (c == '}' && inObj) || (c == ']' && !inObj) {
				stack = stack[:len(stack)-1]
				nodes[top].end = uint32(i + 1)
				nodes[top].next = uint32(len(nodes))
				i++
				continue
			}
			return nodes, stack, false
		}
		continue
	key: // a member name at i, then its colon
		if i >= len(b) || b[i] != '"' {
			return nodes, stack, false
		}
		if end, esc := scanString(b, i); end < 0 {
			return nodes, stack, false
		} else {
			var nd *node
			nodes, nd = add(nodes, i, end, String)
			if nd.esc = esc; !esc {
				nd.tag = tagOf(src[i+1 : end-1])
			}
			i = end
		}
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= len(b) || b[i] != ':' {
			return nodes, stack, false
		}
		i++
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if cps != nil {
			record(cps, i, nodes, stack)
		}
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString checks the string literal whose opening quote is at i and returns the offset
// after its closing quote (-1 if it is malformed) and whether it has escapes.
func scanString(b []byte, i int) (int, bool) {
	i++
	esc := false
	for {
		i = plain(b, i)
		if i >= len(b) {
			return -1, esc
		}
		switch b[i] {
		case '"':
			return i + 1, esc
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return -1, esc
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, esc
				}
				i += 6
			default:
				return -1, esc
			}
		default: // a control byte
			return -1, esc
		}
	}
}

// special flags, in the high bit of each byte, the bytes of x a string scan must stop at:
// '"', '\\' and control bytes, with the "has a zero byte" bit trick applied to x^'"', x^'\\'
// and x-0x20. Flags can be false only above a true one, so the lowest is exact.
func special(x uint64) uint64 {
	q := x ^ (lsb * '"')
	e := x ^ (lsb * '\\')
	return (((q - lsb) &^ q) | ((e - lsb) &^ e) | ((x - lsb*0x20) &^ x)) & msb
}

// plain returns the offset of the first '"', '\\' or control byte at or after i (len(b) if
// none): eight bytes at first, which settles the usual short string, then 32 bytes a loop turn
// (inside wasm a loop turn costs more than the four extra words).
func plain(b []byte, i int) int {
	if i+8 <= len(b) {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
		for i+32 <= len(b) {
			w := b[i : i+32 : i+32]
			if special(binary.LittleEndian.Uint64(w))|special(binary.LittleEndian.Uint64(w[8:]))|
				special(binary.LittleEndian.Uint64(w[16:]))|special(binary.LittleEndian.Uint64(w[24:])) != 0 {
				break
			}
			i += 32
		}
		for i+8 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				return i + bits.TrailingZeros64(m)>>3
			}
			i += 8
		}
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
		i++
	}
	return i
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

// scanNumber checks the number at i, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and
// returns the offset after it, or -1.
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) || !isDigit(b[i]) {
		return -1
	}
	if b[i] == '0' {
		i++
	} else {
		i = digits(b, i)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = digits(b, i)
	}
	return i
}

// Value is one value of a Doc, or Missing. Its methods mirror gjson.Result's: Str is the
// unescaped text of a string (empty for other kinds), Raw the value's JSON text, Get finds an
// object member by name (the first, as gjson does) or an array element by decimal index.
// Get on a string, number or literal is Missing, where gjson's Result.Get would look for a
// '{' or '[' inside a string's text; the codecs never meant that, and the differential runs
// against the gjson-based codecs (millions of mutated documents) found no output it changed.
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
	if v.d != nil {
		if n := v.n(); n.kind == String && !n.esc {
			return v.d.src[n.start+1 : n.end-1]
		}
	}
	return v.strSlow()
}

func (v Value) strSlow() string {
	if v.Kind() != String {
		return ""
	}
	return gjson.Parse(v.Raw()).Str
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
	if n.esc {
		return gjson.Parse(v.d.src[n.start:n.end]).Str == s
	}
	return n.end-n.start-2 == uint32(len(s)) && n.tag == tagOf(s) && v.d.src[n.start+1:n.end-1] == s
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
	if v.d != nil {
		if n := v.n(); n.kind == Number && n.end-n.start <= 15 {
			if x, ok := smallInt(v.d.src[n.start:n.end]); ok {
				return x
			}
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
	if v.d != nil && v.n().kind == Object {
		return v.member(key, uint32(len(key)), tagOf(key))
	}
	return v.getSlow(key)
}

func (v Value) getSlow(key string) Value {
	if v.Kind() == Array {
		if i, ok := index(key); ok {
			return v.Index(i)
		}
	}
	return Value{}
}

// member finds a key by its length and tag first, so that most keys are passed over without
// a comparison call.
func (v Value) member(key string, n uint32, tag uint8) Value {
	d := v.d
	nodes := d.nodes
	end := nodes[v.i].next
	for k := v.i + 1; k < end && int(k+1) < len(nodes); k = nodes[k+1].next {
		kn := &nodes[k]
		if kn.esc {
			if gjson.Parse(d.src[kn.start:kn.end]).Str == key {
				return Value{d, k + 1}
			}
		} else if kn.end-kn.start-2 == n && kn.tag == tag && d.src[kn.start+1:kn.end-1] == key {
			return Value{d, k + 1}
		}
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

// Names is a fixed list of member names prepared for one-pass lookups: Fields finds several
// members of an object in a single walk over it, and Iter.KeyIndex names the current member,
// where a Get per name (or a string switch) would compare keys again and again. Inside wasm
// each of those comparisons is a call.
type Names struct {
	names []string
	slot  [256]uint8 // by key tag: index+1 of the only name with that tag, 0 none, 255 several
}

// NewNames prepares a list of distinct names.
func NewNames(names ...string) *Names {
	n := &Names{names: names}
	for i, name := range names {
		t := tagOf(name)
		switch {
		case n.slot[t] != 0 || i >= 254:
			n.slot[t] = 255
		default:
			n.slot[t] = uint8(i + 1)
		}
	}
	return n
}

// index is the position in n of the name of key node k, or -1.
func (n *Names) index(d *Doc, k uint32) int {
	kn := &d.nodes[k]
	if kn.esc {
		return n.find(gjson.Parse(d.src[kn.start:kn.end]).Str)
	}
	key := d.src[kn.start+1 : kn.end-1]
	switch s := n.slot[kn.tag]; s {
	case 0:
		return -1
	case 255:
		return n.find(key)
	default:
		if n.names[s-1] == key {
			return int(s - 1)
		}
		return -1
	}
}

func (n *Names) find(key string) int {
	for i, name := range n.names {
		if name == key {
			return i
		}
	}
	return -1
}

// Fields sets out[i] to the first member of object v named n's i-th name (Missing when there
// is none, or when v is not an object), as Get would, in one pass. out must be as long as
// the list of names.
func (v Value) Fields(n *Names, out []Value) {
	for i := range out {
		out[i] = Value{}
	}
	if v.Kind() != Object {
		return
	}
	d := v.d
	end := d.nodes[v.i].next
	for k := v.i + 1; k < end; k = d.nodes[k+1].next {
		if j := n.index(d, k); j >= 0 && j < len(out) && out[j].d == nil {
			out[j] = Value{d, k + 1}
		}
	}
}

// Name is the i-th name.
func (n *Names) Name(i int) string { return n.names[i] }

// In is the position in n of the string v, or -1 (also for anything not a string).
func (v Value) In(n *Names) int {
	if v.Kind() != String {
		return -1
	}
	return n.index(v.d, v.i)
}

// KeyIndex is the position in n of the current member's name, or -1 (always -1 in an array).
func (it *Iter) KeyIndex(n *Names) int {
	if !it.obj {
		return -1
	}
	return n.index(it.d, it.key)
}
