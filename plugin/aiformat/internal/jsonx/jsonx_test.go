package jsonx

import (
	"encoding/json"
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

func TestArgsObject(t *testing.T) {
	for in, want := range map[string]bool{"": true, "  ": true, `{"a":1}`: true, ` {"a":1} `: true, `[1]`: false, `{"a":`: false, `"x"`: false} {
		if _, ok := ArgsObject(in); ok != want {
			t.Errorf("ArgsObject(%q) ok=%v", in, ok)
		}
	}
}

func FuzzStringRoundTrip(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "nl\n\t\r", "\x00\x1f", "é👋", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := string(AppendString(nil, s))
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
