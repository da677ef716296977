package jsonx

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

var docCases = []string{
	``, ` `, `{}`, `[]`, ` {} `, `{`, `}`, `[`, `]`, `{]`, `[}`, `[1,]`, `[,1]`, `{"a":1,}`, `{,"a":1}`, `{"a"}`, `{"a":}`,
	`{"a" : 1 , "b" :[ true ,false, null ] }`, "\t\n\r[1]\r\n", `[1] x`, `[1][2]`, `{"a":1}}`, `[[[[]]]]`, `[[[[]]]`,
	`0`, `-0`, `01`, `-01`, `1.`, `1.0`, `.5`, `1e`, `1e+`, `1e+5`, `1E-5`, `-`, `-a`, `1.5e3`, `123456789012345678901234567890`,
	`true`, `tru`, `truex`, `false`, `fals`, `null`, `nul`, `nan`, `NaN`, `Infinity`, `+1`,
	`""`, `"a"`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\x"`, `"\u12"`, `"\u12G4"`, `"\u00e9"`, `"\ud83d\ude00"`, "\"a\tb\"",
	"\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", `"é"`, `"abcdefghijklmnopqrstuvwxyz\"0123456789"`, `"abcdefghijklmnop`,
	`{"a":{"b":{"c":[1,2,{"d":"e"}]}},"f":[],"g":{}}`, `{"a\"b":1,"a\u0062":2}`, `[1 2]`, `{"a":1 "b":2}`, `{"a"::1}`,
}

func TestDocValidLikeGjson(t *testing.T) {
	var d Doc
	for _, c := range docCases {
		if got, want := d.Parse(c), gjson.Valid(c); got != want {
			t.Errorf("Parse(%q) = %v, gjson.Valid %v", c, got, want)
		}
	}
}

// sameAsGjson walks v and g together, checking every accessor against gjson.
func sameAsGjson(t *testing.T, path string, v Value, g gjson.Result) {
	t.Helper()
	if v.Exists() != g.Exists() {
		t.Fatalf("%s: exists %v, gjson %v", path, v.Exists(), g.Exists())
	}
	if !v.Exists() {
		return
	}
	if v.Raw() != g.Raw {
		t.Fatalf("%s: raw %q, gjson %q", path, v.Raw(), g.Raw)
	}
	if v.Str() != g.Str || !v.StrIs(g.Str) && g.Type == gjson.String {
		t.Fatalf("%s: str %q, gjson %q", path, v.Str(), g.Str)
	}
	if v.Int() != g.Int() {
		t.Fatalf("%s: int %d, gjson %d", path, v.Int(), g.Int())
	}
	if v.Num() != g.Num && !(math.IsNaN(v.Num()) && math.IsNaN(g.Num)) {
		t.Fatalf("%s: num %v, gjson %v", path, v.Num(), g.Num)
	}
	if v.String() != g.String() {
		t.Fatalf("%s: string %q, gjson %q", path, v.String(), g.String())
	}
	if v.IsObject() != g.IsObject() || v.IsArray() != g.IsArray() || v.IsTrue() != (g.Type == gjson.True) ||
		v.IsNull() != (g.Type == gjson.Null) || v.IsString() != (g.Type == gjson.String) || v.IsNumber() != (g.Type == gjson.Number) {
		t.Fatalf("%s: kind %d, gjson %v", path, v.Kind(), g.Type)
	}
	if v.NonEmpty() != (g.IsArray() && g.Get("0").Exists()) {
		t.Fatalf("%s: NonEmpty %v", path, v.NonEmpty())
	}
	var keys []string
	var vals []gjson.Result
	g.ForEach(func(k, val gjson.Result) bool {
		keys = append(keys, k.Str)
		vals = append(vals, val)
		return true
	})
	n := 0
	for it := v.Iter(); it.Next(); n++ {
		if n >= len(vals) {
			t.Fatalf("%s: more members than gjson", path)
		}
		if it.Key() != keys[n] || (g.IsObject() && !it.KeyIs(keys[n])) {
			t.Fatalf("%s: key %q, gjson %q", path, it.Key(), keys[n])
		}
		if g.IsObject() || g.IsArray() {
			sameAsGjson(t, path+"/"+keys[n], it.Value(), vals[n])
		} else if it.Value().Raw() != v.Raw() {
			t.Fatalf("%s: a scalar must iterate as itself", path)
		}
		if g.IsObject() && !strings.ContainsAny(keys[n], `.*?#@|\!:{}[]()"'=<>%~, `) && keys[n] != "" {
			if got, want := v.Get(keys[n]), g.Get(keys[n]); got.Raw() != want.Raw {
				t.Fatalf("%s: Get(%q) %q, gjson %q", path, keys[n], got.Raw(), want.Raw)
			}
		}
		if g.IsArray() {
			if got := v.Index(n); got.Raw() != vals[n].Raw {
				t.Fatalf("%s: Index(%d) %q", path, n, got.Raw())
			}
		}
	}
	if n != len(vals) || v.Len() != n {
		t.Fatalf("%s: %d members, gjson %d", path, n, len(vals))
	}
	if g.IsArray() && (v.Index(n).Exists() || v.Index(-1).Exists()) {
		t.Fatalf("%s: index out of range exists", path)
	}
	if v.Get("nope-not-a-key").Exists() {
		t.Fatalf("%s: Get of a missing key exists", path)
	}
	if g.IsObject() {
		names := []string{"nope-not-a-key"}
		for _, k := range keys {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
		nn := NewNames(names...)
		out := make([]Value, len(names))
		v.Fields(nn, out)
		for i, name := range names {
			if out[i].Raw() != v.Get(name).Raw() || out[i].Exists() != v.Get(name).Exists() {
				t.Fatalf("%s: Fields(%q) = %q, Get %q", path, name, out[i].Raw(), v.Get(name).Raw())
			}
		}
		for it := v.Iter(); it.Next(); {
			if i := it.KeyIndex(nn); i < 0 || names[i] != it.Key() {
				t.Fatalf("%s: KeyIndex of %q = %d", path, it.Key(), i)
			}
		}
	}
}

func TestDocAccessors(t *testing.T) {
	var d Doc
	for _, c := range docCases {
		if d.Parse(c) {
			sameAsGjson(t, c, d.Root(), gjson.Parse(c))
		}
	}
	if !d.Parse(`{"a":{"b":[10,{"c":"x"}]},"a":2,"k\u0065y":3}`) {
		t.Fatal("invalid")
	}
	r := d.Root()
	if got := r.Path("a", "b", "1", "c").Str(); got != "x" {
		t.Errorf("Path = %q", got)
	}
	if r.Get("a").IsNumber() {
		t.Error("Get must return the first of duplicate keys, as gjson does")
	}
	if r.Get("key").Int() != 3 {
		t.Error("escaped key not matched")
	}
	if (Value{}).Exists() || (Value{}).Get("a").Exists() || (Value{}).Len() != 0 {
		t.Error("Missing value misbehaves")
	}
	if d.Parse("[") || d.Root().Exists() {
		t.Error("a failed parse must leave no root")
	}
}

// TestScanStringEveryOffset puts the end, an escape or a bad byte at every offset of a long
// string, across the 8- and 32-byte steps of plain.
func TestScanStringEveryOffset(t *testing.T) {
	for n := 0; n < 100; n++ {
		pre := `"` + strings.Repeat("é", n/2) + strings.Repeat("a", n%2)
		for _, c := range []struct {
			tail string
			end  int
			esc  bool
		}{{`"xyz`, len(pre) + 1, false}, {`\"" `, len(pre) + 3, true}, {"\x1f\"", -1, false}} {
			end, esc := scanString([]byte(pre+c.tail), 0)
			if end != c.end || (end >= 0 && esc != c.esc) {
				t.Errorf("scanString(%q) = %d, %v; want %d, %v", pre+c.tail, end, esc, c.end, c.esc)
			}
		}
	}
}

func TestFieldsAndKeyIndex(t *testing.T) {
	// "ab" and "ba" share a tag, as do names of the same length and ends.
	names := NewNames("model", "messages", "ab", "ba", "abxb", "x")
	var d Doc
	src := `{"messages":[1],"ab":1,"zz":0,"ba":2,"model":"m","ab":3,"a\u0062xb":4,"m\u006fdel":"late"}`
	if !d.Parse(src) {
		t.Fatal("invalid")
	}
	root := d.Root()
	out := make([]Value, 6)
	root.Fields(names, out)
	for i, name := range names.names {
		if got, want := out[i].Raw(), root.Get(name).Raw(); got != want {
			t.Errorf("Fields %q = %q, Get %q", name, got, want)
		}
	}
	var got []int
	for it := root.Iter(); it.Next(); {
		got = append(got, it.KeyIndex(names))
	}
	if want := []int{1, 2, -1, 3, 0, 2, 4, 0}; !slices.Equal(got, want) {
		t.Errorf("KeyIndex = %v, want %v", got, want)
	}
	d.Parse(`[1,2]`)
	d.Root().Fields(names, out)
	for _, v := range out {
		if v.Exists() {
			t.Error("Fields of an array found a member")
		}
	}
}

func TestDocDeepNesting(t *testing.T) {
	var d Doc
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if !d.Parse(deep) {
		t.Fatal("deep array rejected")
	}
	if d.Parse(deep[:len(deep)-1]) {
		t.Fatal("unbalanced deep array accepted")
	}
}

// TestScanString checks the eight-bytes-at-a-time scan around its word boundaries.
func TestScanString(t *testing.T) {
	for _, c := range []struct {
		in  string
		end int
		esc bool
	}{
		{`""`, 2, false},
		{`"abc"`, 5, false},
		{`"abcdefgh"x`, 10, false},
		{`"abcdefghijklmno"`, 17, false},
		{`"abcdefghijklmnop"`, 18, false},
		{`"abcdefg\"hijklmnop"`, 20, true},
		{`"abcdefghijklmno\u00e9"`, 23, true},
		{"\"\xff\xfe\x80\xa2\xdc\xff\xfe\x80\xa2\xdc\"", 12, false},
		{"\"0123456\x01\"", -1, false},
		{"\"01234567\x1f\"", -1, false},
		{`"abcdefghijklmnop`, -1, false},
		{`"abc\`, -1, true},
		{`"abc\u12"`, -1, true},
		{`"abc\q"`, -1, true},
	} {
		end, esc := scanString([]byte(c.in), 0)
		if end != c.end || (end >= 0 && esc != c.esc) {
			t.Errorf("scanString(%q) = %d, %v; want %d, %v", c.in, end, esc, c.end, c.esc)
		}
	}
}

// sameNodes reports whether d indexes its document exactly as a fresh Parse does.
func sameNodes(t *testing.T, d *Doc, src string, ok bool) {
	t.Helper()
	var fresh Doc
	if want := fresh.Parse(src); ok != want {
		t.Fatalf("ParseNext(%q) = %v, Parse %v", src, ok, want)
	}
	if !slices.Equal(d.nodes, fresh.nodes) {
		t.Fatalf("ParseNext(%q) nodes differ:\n%v\n%v", src, d.nodes, fresh.nodes)
	}
}

func TestParseNext(t *testing.T) {
	stream := []string{
		`{"id":"c1","object":"chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"usage":null}`,
		`{"id":"c1","object":"chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}],"usage":null}`,
		`{"id":"c1","object":"chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`,
		`{"id":"c1","object":"chunk","created":12,"model":"m","choices":[]}`,
		`{"id":"c1","object":"chunk","created":1,"model":"m","choices":[{"index":0}]`,
		`{"id":"c1","object":"chunk","created":1,"model":"m","choices":[{"index":0}]}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"yz"}}`,
		`{"type":"content_block_delta","index":10,"delta":{"type":"text_delta","text":"yz"}}`,
		`{"type":"content_block_delta","index":1 , "delta" : {"type":"text_delta","text":"yz"}}`,
		`[1,2,3]`, `[1,2,34]`, `[1,2,3,4]`, `[1,2]`, `[1,2`, `1`, `12`, `"a"`, ` "a" `,
	}
	var d Doc
	for _, src := range stream {
		sameNodes(t, &d, src, d.ParseNext(src))
	}
	if !d.ParseNext(stream[0]) || !d.ParseNext(stream[1]) || len(d.cps) == 0 {
		t.Fatal("no parser states recorded")
	}
	if d.Parse(stream[1]); len(d.cps) != 0 || len(d.prev) != 0 {
		t.Error("Parse must forget the states of ParseNext")
	}
}

func FuzzDocNext(f *testing.F) {
	f.Add(`{"a":[1,{"b":"c"}],"d":2}`, `{"a":[1,{"b":"cc"}],"d":2}`)
	f.Add(`[1,2,3]`, `[1,2,34]`)
	f.Add(`{"x":1}`, `{"x":1,"y":{"z":[true,false,null]}}`)
	f.Add(`{"id":"c1","choices":[{"index":0,"delta":{"content":"a"}}],"usage":null}`, `1`)
	f.Fuzz(func(t *testing.T, a, b string) {
		var d Doc
		sameNodes(t, &d, a, d.ParseNext(a))
		sameNodes(t, &d, b, d.ParseNext(b))
		sameNodes(t, &d, a, d.ParseNext(a))
		for cut := 0; cut <= len(a); cut += 1 + len(a)/16 { // b spliced in: a long shared prefix
			c := a[:cut] + b + a[cut:]
			sameNodes(t, &d, c, d.ParseNext(c))
			sameNodes(t, &d, a, d.ParseNext(a))
		}
	})
}

func FuzzDoc(f *testing.F) {
	for _, c := range docCases {
		f.Add(c)
	}
	var d Doc
	f.Fuzz(func(t *testing.T, s string) {
		ok := d.Parse(s)
		if ok != gjson.Valid(s) {
			t.Fatalf("Parse(%q) = %v, gjson.Valid disagrees", s, ok)
		}
		if ok {
			sameAsGjson(t, "$", d.Root(), gjson.Parse(s))
		}
	})
}

// A Doc given back is the next one handed out, emptied; an outsized one is not kept, nor more
// than maxFreeDocs.
func TestDocsAreReused(t *testing.T) {
	d := GetDoc()
	d.Parse(`{"a":1}`)
	PutDoc(d)
	if again := GetDoc(); again != d || again.src != "" {
		t.Fatal("the Doc given back was not handed out again, emptied")
	}
	big := GetDoc()
	big.nodes = make([]node, 0, maxKeptNodes+1)
	PutDoc(big)
	if GetDoc() == big {
		t.Error("an outsized Doc was kept")
	}
	for range maxFreeDocs + 4 {
		PutDoc(new(Doc))
	}
	if n := len(docs.free); n > maxFreeDocs {
		t.Errorf("%d Docs kept", n)
	}
}
