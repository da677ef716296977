// Package jsonx holds the JSON reading and writing the aiformat codecs share: Doc, a document
// validated and indexed in one pass (parse.go), a comma-tracking Writer that appends to a byte
// slice, string escaping, and the handling of JSON string literals copied verbatim from one
// document into another.
//
// The codecs read with Doc and write with Writer, so text moves between dialects as raw
// string literals (quotes and escapes included) without being unescaped and escaped again.
// Both are shaped for Go compiled to wasm, where the filter runs (see docs/AI-FORMAT.md,
// "Performance").
package jsonx

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Writer appends JSON to Buf, inserting commas between members and elements. It does not check
// nesting: callers write well-formed sequences (Key before every member value).
type Writer struct {
	Buf   []byte
	comma bool
}

func (w *Writer) sep() {
	if w.comma {
		w.Buf = append(w.Buf, ',')
	}
}

// Obj opens an object.
func (w *Writer) Obj() { w.sep(); w.Buf = append(w.Buf, '{'); w.comma = false }

// Arr opens an array.
func (w *Writer) Arr() { w.sep(); w.Buf = append(w.Buf, '['); w.comma = false }

// End closes an object.
func (w *Writer) End() { w.Buf = append(w.Buf, '}'); w.comma = true }

// EndArr closes an array.
func (w *Writer) EndArr() { w.Buf = append(w.Buf, ']'); w.comma = true }

// Key writes a member name that needs no escaping (the codecs' own constant names).
func (w *Writer) Key(k string) {
	w.sep()
	w.Buf = append(w.Buf, '"')
	w.Buf = append(w.Buf, k...)
	w.Buf = append(w.Buf, '"', ':')
	w.comma = false
}

// KeyEsc writes a member name taken from input, escaped.
func (w *Writer) KeyEsc(k string) {
	w.sep()
	w.Buf = AppendString(w.Buf, k)
	w.Buf = append(w.Buf, ':')
	w.comma = false
}

// Str writes s as a JSON string.
func (w *Writer) Str(s string) { w.sep(); w.Buf = AppendString(w.Buf, s); w.comma = true }

// Raw writes already encoded JSON (a literal, number, object...). Empty raw writes null.
func (w *Writer) Raw(raw string) {
	w.sep()
	if raw == "" {
		raw = "null"
	}
	w.Buf = append(w.Buf, raw...)
	w.comma = true
}

// Int writes an integer.
func (w *Writer) Int(n int64) { w.sep(); w.Buf = strconv.AppendInt(w.Buf, n, 10); w.comma = true }

// Bool writes a boolean.
func (w *Writer) Bool(b bool) { w.sep(); w.Buf = strconv.AppendBool(w.Buf, b); w.comma = true }

// Null writes null.
func (w *Writer) Null() { w.sep(); w.Buf = append(w.Buf, "null"...); w.comma = true }

// RawAsString writes the JSON text raw as a JSON string (as OpenAI's tool arguments are).
func (w *Writer) RawAsString(raw string) { w.sep(); w.Buf = AppendString(w.Buf, raw); w.comma = true }

// LitConcat writes one JSON string made of the given string literals joined in order.
func (w *Writer) LitConcat(lits []string) {
	w.sep()
	w.Buf = append(w.Buf, '"')
	for _, l := range lits {
		w.Buf = AppendLitInner(w.Buf, l)
	}
	w.Buf = append(w.Buf, '"')
	w.comma = true
}

// Open writes frag, pre-encoded JSON that opens a value and leaves a value due, such as
// `{"role":"user","content":`. Writing constant JSON in one piece instead of a call per key,
// brace and constant string matters inside wasm, where each of those calls is costly.
func (w *Writer) Open(frag string) { w.sep(); w.Buf = append(w.Buf, frag...); w.comma = false }

// More writes frag, pre-encoded JSON that continues the open object or array with its own
// leading comma and leaves a value due, such as `,"model":`.
func (w *Writer) More(frag string) { w.Buf = append(w.Buf, frag...); w.comma = false }

// Close writes frag, pre-encoded JSON that completes the open value, such as `]}`.
func (w *Writer) Close(frag string) { w.Buf = append(w.Buf, frag...); w.comma = true }

// Wrap writes one value: the pre-encoded pre, the raw JSON raw (null if empty, as Raw) and
// the pre-encoded post, such as `{"type":"text","text":` + a string literal + `}`.
func (w *Writer) Wrap(pre, raw, post string) {
	w.sep()
	if raw == "" {
		raw = "null"
	}
	w.Buf = append(append(append(w.Buf, pre...), raw...), post...)
	w.comma = true
}

// OpenStr starts a string value whose content the caller appends to Buf, already escaped.
func (w *Writer) OpenStr() { w.sep(); w.Buf = append(w.Buf, '"') }

// CloseStr ends a string value started with OpenStr.
func (w *Writer) CloseStr() { w.Buf = append(w.Buf, '"'); w.comma = true }

// StrField writes "k": s.
func (w *Writer) StrField(k, s string) { w.Key(k); w.Str(s) }

// RawField writes "k": raw.
func (w *Writer) RawField(k, raw string) { w.Key(k); w.Raw(raw) }

// IntField writes "k": n.
func (w *Writer) IntField(k string, n int64) { w.Key(k); w.Int(n) }

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes U+FFFD so the output
// is always valid JSON.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i = safeASCII(s, i); i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' { // valid JSON, but break JavaScript consumers of SSE
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// safeASCII returns the index of the first byte at or after i that AppendString must look at:
// '"', '\\', a control byte or a non-ASCII byte (len(s) if none). It tests words as plain
// does (parse.go), with the high bit also flagging non-ASCII bytes.
func safeASCII(s string, i int) int {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	if i+8 <= len(b) {
		if m := unsafeByte(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
		for i+32 <= len(b) {
			w := b[i : i+32 : i+32]
			if unsafeByte(binary.LittleEndian.Uint64(w))|unsafeByte(binary.LittleEndian.Uint64(w[8:]))|
				unsafeByte(binary.LittleEndian.Uint64(w[16:]))|unsafeByte(binary.LittleEndian.Uint64(w[24:])) != 0 {
				break
			}
			i += 32
		}
		for i+8 <= len(b) {
			if m := unsafeByte(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				return i + bits.TrailingZeros64(m)>>3
			}
			i += 8
		}
	}
	for i < len(b) {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
		i++
	}
	return i
}

// unsafeByte flags the bytes of x that AppendString cannot copy as they are.
func unsafeByte(x uint64) uint64 { return special(x) | x&msb }

// IsLit reports whether raw is a JSON string literal (as gjson's Raw of a string value is).
func IsLit(raw string) bool { return len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' }

// AppendLitInner appends the inside of a string literal (without its quotes), so that several
// literals can be joined into one. A non-literal is appended escaped.
func AppendLitInner(dst []byte, lit string) []byte {
	if IsLit(lit) {
		return append(dst, lit[1:len(lit)-1]...)
	}
	q := AppendString(nil, lit)
	return append(dst, q[1:len(q)-1]...)
}

// Unquote returns the Go string a JSON string literal denotes.
func Unquote(lit string) string {
	if !IsLit(lit) {
		return lit
	}
	if !needsUnescape(lit[1 : len(lit)-1]) {
		return lit[1 : len(lit)-1]
	}
	return gjson.Parse(lit).Str
}

func needsUnescape(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			return true
		}
	}
	return false
}

// NonEmpty reports whether r is an array with at least one element, without building the
// slice of elements that gjson's Array would allocate.
func NonEmpty(r gjson.Result) bool { return r.IsArray() && r.Get("0").Exists() }

// ArgsObject returns the JSON object that tool-call arguments text denotes, for providers that
// want an object (Anthropic input, Gemini args, Ollama arguments). Blank text is the empty
// object; anything that is not a JSON object reports ok=false.
func ArgsObject(text string) (obj string, ok bool) {
	t := trimSpace(text)
	if t == "" {
		return "{}", true
	}
	if t[0] != '{' || !gjson.Valid(t) {
		return "{}", false
	}
	return t, true
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
