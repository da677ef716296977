package sse

import (
	"bytes"
	"strings"
	"testing"
)

type ev struct{ name, data string }

func scanAll(s *Scanner, chunks []string) []ev {
	var out []ev
	for i, c := range chunks {
		s.Push([]byte(c))
		if i == len(chunks)-1 {
			s.End()
		}
		for {
			e, ok := s.Next()
			if !ok {
				break
			}
			out = append(out, ev{strings.Clone(e.Name), strings.Clone(e.Data)}) // events expire at the next Push
		}
	}
	return out
}

func TestScanner(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []ev
	}{
		{"lf", "data: a\n\ndata: b\n\n", []ev{{"", "a"}, {"", "b"}}},
		{"crlf", "event: x\r\ndata: a\r\n\r\n", []ev{{"x", "a"}}},
		{"cr", "data: a\r\rdata: b\r\r", []ev{{"", "a"}, {"", "b"}}},
		{"comments", ": ping\n\ndata: a\n: mid\n\n", []ev{{"", "a"}}},
		{"multiline", "data: a\ndata: b\ndata:c\n\n", []ev{{"", "a\nb\nc"}}},
		{"no space", "data:{}\n\n", []ev{{"", "{}"}}},
		{"other fields", "id: 7\nretry: 10\ndata: a\n\n", []ev{{"", "a"}}},
		{"unterminated end", "data: a\n\ndata: b", []ev{{"", "a"}, {"", "b"}}},
		{"empty", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			whole := scanAll(&Scanner{}, []string{c.in})
			if !equal(whole, c.want) {
				t.Fatalf("whole: %q, want %q", whole, c.want)
			}
			for k := 0; k <= len(c.in); k++ {
				if got := scanAll(&Scanner{}, []string{c.in[:k], c.in[k:]}); !equal(got, c.want) {
					t.Fatalf("split %d: %q, want %q", k, got, c.want)
				}
			}
		})
	}
}

func TestNDJSON(t *testing.T) {
	in := "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}"
	for k := 0; k <= len(in); k++ {
		got := scanAll(&Scanner{NDJSON: true}, []string{in[:k], in[k:]})
		want := []ev{{"", `{"a":1}`}, {"", `{"b":2}`}, {"", `{"c":3}`}}
		if !equal(got, want) {
			t.Fatalf("split %d: %q", k, got)
		}
	}
}

func TestOverflow(t *testing.T) {
	s := &Scanner{}
	s.Push([]byte("data: " + strings.Repeat("x", MaxLine)))
	if _, ok := s.Next(); ok || !s.Overflow() {
		t.Fatal("a line over MaxLine must overflow")
	}
}

func TestAppendEvent(t *testing.T) {
	if got := string(AppendEvent(nil, "x", "{}", "\n\n")); got != "event: x\ndata: {}\n\n" {
		t.Errorf("%q", got)
	}
	if got := string(AppendEvent(nil, "", []byte("1"), "\r\n\r\n")); got != "data: 1\r\n\r\n" {
		t.Errorf("%q", got)
	}
}

func equal(a, b []ev) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "event: x\r\ndata: a\r\n\r\n", ": c\n", "data: a\rdata: b\r\r", "data:\n\n\n"} {
		f.Add(s, 3, false)
	}
	f.Fuzz(func(t *testing.T, in string, split int, nd bool) {
		if split < 0 || split > len(in) {
			split = len(in) / 2
		}
		whole := scanAll(&Scanner{NDJSON: nd}, []string{in})
		parts := scanAll(&Scanner{NDJSON: nd}, []string{in[:split], in[split:]})
		if !equal(whole, parts) {
			t.Fatalf("split at %d changes events: %q vs %q", split, whole, parts)
		}
	})
}

func TestIndexEOL(t *testing.T) {
	for _, s := range []string{"", "abc", "\n", "\r", "abcdefg\n", "abcdefgh\r", "abcdefghijklmnop\r\n", "a\rb\n", "\xff\x0a", "0123456789abcdefghijk"} {
		if got, want := indexEOL([]byte(s)), bytes.IndexAny([]byte(s), "\r\n"); got != want {
			t.Errorf("indexEOL(%q) = %d, want %d", s, got, want)
		}
	}
}
