package jsonx

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// benchDoc is a chat request of about 64 KB: short members around long prose strings.
func benchDoc() string {
	turn := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 4)
	var b strings.Builder
	b.WriteString(`{"model":"m","max_tokens":256,"messages":[{"role":"system","content":"You are terse."}`)
	for b.Len() < 64<<10 {
		b.WriteString(`,{"role":"user","content":"` + turn + `"}`)
	}
	b.WriteString(`],"temperature":0.2}`)
	return b.String()
}

// BenchmarkParse compares indexing a document with gjson's validation pass alone.
func BenchmarkParse(b *testing.B) {
	src := benchDoc()
	b.Run("doc", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		var d Doc
		for i := 0; i < b.N; i++ {
			if !d.Parse(src) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("gjson-valid", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for i := 0; i < b.N; i++ {
			if !gjson.Valid(src) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("gjson-get-last", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for i := 0; i < b.N; i++ {
			if !gjson.Get(src, "temperature").Exists() {
				b.Fatal("missing")
			}
		}
	})
}

func BenchmarkParseShapes(b *testing.B) {
	for _, c := range []struct{ name, src string }{
		{"one-string", `"` + strings.Repeat("The quick brown fox jumps over the lazy dog. ", 1400) + `"`},
		{"small-values", "[" + strings.Repeat(`{"a":1,"b":"x","c":true},`, 2600) + "null]"},
		{"chat", benchDoc()},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.src)))
			var d Doc
			for i := 0; i < b.N; i++ {
				if !d.Parse(c.src) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
