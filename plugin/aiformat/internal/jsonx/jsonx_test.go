package jsonx

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

func TestWriter(t *testing.T) {
	w := Writer{}
	w.Obj()
	w.StrField("a", "x\"y")
	w.Key("b")
	w.Arr()
	w.Int(1)
	w.Bool(true)
	w.Null()
	w.Obj()
	w.End()
	w.EndArr()
	w.Key("c")
	w.LitConcat([]string{`"ab"`, `"\n"`, `"c\"d"`})
	w.KeyEsc("k\"")
	w.RawAsString(`{"x":1}`)
	w.End()
	want := `{"a":"x\"y","b":[1,true,null,{}],"c":"ab\nc\"d","k\"":"{\"x\":1}"}`
	if string(w.Buf) != want {
		t.Fatalf("%s\nwant %s", w.Buf, want)
	}
}

// TestFragments checks that the pre-encoded fragments write what the calls they replace do.
func TestFragments(t *testing.T) {
	var a, b Writer
	a.Arr()
	a.Obj()
	a.StrField("role", "user")
	a.Key("content")
	a.Raw(`"hi"`)
	a.End()
	a.Obj()
	a.StrField("type", "text")
	a.Key("text")
	a.Raw("")
	a.End()
	a.Obj()
	a.Key("x")
	a.Arr()
	a.Int(1)
	a.EndArr()
	a.StrField("y", "z")
	a.End()
	a.EndArr()

	b.Arr()
	b.Wrap(`{"role":"user","content":`, `"hi"`, `}`)
	b.Wrap(`{"type":"text","text":`, "", `}`)
	b.Open(`{"x":[`)
	b.Int(1)
	b.Close(`]`)
	b.More(`,"y":`)
	b.Str("z")
	b.Close(`}`)
	b.EndArr()
	if string(a.Buf) != string(b.Buf) {
		t.Fatalf("fragments %s, calls %s", b.Buf, a.Buf)
	}
}

func TestArgsObject(t *testing.T) {
	for in, want := range map[string]bool{"": true, "  ": true, `{"a":1}`: true, ` {"a":1} `: true, `[1]`: false, `{"a":`: false, `"x"`: false} {
		if _, ok := ArgsObject(in); ok != want {
			t.Errorf("ArgsObject(%q) ok=%v", in, ok)
		}
	}
}

// appendStringRef is AppendString written one byte at a time, as it was before the eight-byte
// scan: the two must agree byte for byte.
func appendStringRef(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, `\n`...)
			case c == '\r':
				dst = append(dst, `\r`...)
			case c == '\t':
				dst = append(dst, `\t`...)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

func TestAppendStringAtEveryOffset(t *testing.T) {
	for _, tail := range []string{"\"", "\\", "\n", "\x01", "\x7f", "é", "\xff", "\u2028", "👋", "\xe2\x80"} {
		for n := 0; n < 80; n++ {
			s := strings.Repeat("a", n) + tail + strings.Repeat("b", 79-n)
			if got, want := string(AppendString(nil, s)), string(appendStringRef(nil, s)); got != want {
				t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

func FuzzStringRoundTrip(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "nl\n\t\r", "\x00\x1f", "é👋", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := string(AppendString(nil, s))
		if ref := string(appendStringRef(nil, s)); lit != ref {
			t.Fatalf("AppendString(%q) = %s, byte-at-a-time %s", s, lit, ref)
		}
		if !json.Valid([]byte(lit)) || !gjson.Valid(lit) {
			t.Fatalf("invalid JSON %q for %q", lit, s)
		}
		var back string
		if err := json.Unmarshal([]byte(lit), &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q -> %q -> %q", s, lit, back)
		}
		if got := string(AppendUnquoted(nil, lit)); got != back {
			t.Fatalf("AppendUnquoted(%q) = %q, want %q", lit, got, back)
		}
		if got := Unquote(lit); got != back {
			t.Fatalf("Unquote(%q) = %q, want %q", lit, got, back)
		}
	})
}

// FuzzUnquote checks AppendUnquoted against encoding/json on arbitrary valid literals (escapes
// such as \u surrogate pairs that AppendString never writes).
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a"`, `"\ud83d\udc4b"`, `"\u00e9\/"`, `"\ud800"`, `"\b\f"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		var want string
		if json.Unmarshal([]byte(lit), &want) != nil || !IsLit(lit) || !utf8.ValidString(lit) {
			return // invalid UTF-8 is kept as it came, where encoding/json substitutes U+FFFD
		}
		if got := string(AppendUnquoted(nil, lit)); got != want {
			t.Fatalf("AppendUnquoted(%q) = %q, want %q", lit, got, want)
		}
	})
}
