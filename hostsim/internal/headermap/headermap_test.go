package headermap

import (
	"bytes"
	"reflect"
	"testing"
)

func TestMapEnvoySemantics(t *testing.T) {
	tests := []struct {
		name string
		do   func(m *Map)
		want []Pair
	}{
		{"keys are lower-cased", func(m *Map) { m.Add("X-Foo", "a") },
			[]Pair{{":method", "GET"}, {"accept", "*/*"}, {"x-foo", "a"}}},
		{"add keeps duplicates", func(m *Map) { m.Add("accept", "text/html") },
			[]Pair{{":method", "GET"}, {"accept", "*/*"}, {"accept", "text/html"}}},
		{"pseudo-headers go in front", func(m *Map) { m.Add(":path", "/") },
			[]Pair{{":method", "GET"}, {":path", "/"}, {"accept", "*/*"}}},
		{"set replaces the first entry only", func(m *Map) { m.Add("accept", "b"); m.Set("Accept", "c") },
			[]Pair{{":method", "GET"}, {"accept", "c"}, {"accept", "b"}}},
		{"set adds an absent key", func(m *Map) { m.Set("x-new", "1") },
			[]Pair{{":method", "GET"}, {"accept", "*/*"}, {"x-new", "1"}}},
		{"remove drops every entry", func(m *Map) { m.Add("accept", "b"); m.Remove("ACCEPT") },
			[]Pair{{":method", "GET"}}},
		{"remove of an absent key is fine", func(m *Map) { m.Remove("nope") },
			[]Pair{{":method", "GET"}, {"accept", "*/*"}}},
		{"remove a pseudo-header then add one", func(m *Map) { m.Remove(":method"); m.Add(":status", "200") },
			[]Pair{{":status", "200"}, {"accept", "*/*"}}},
		{"reset", func(m *Map) { m.Reset([]Pair{{"B", "2"}, {":a", "1"}}) },
			[]Pair{{":a", "1"}, {"b", "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New([]Pair{{"Accept", "*/*"}, {":method", "GET"}})
			tt.do(m)
			if got := m.Pairs(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMapGet(t *testing.T) {
	m := New([]Pair{{"a", "1"}, {"A", "2"}})
	if v, ok := m.Get("A"); !ok || v != "1" {
		t.Fatalf("Get = %q %v, want first value", v, ok)
	}
	if _, ok := m.Get("b"); ok {
		t.Fatal("Get of absent key reported ok")
	}
	if got := m.Values("a"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Fatalf("Values = %q", got)
	}
	if m.ByteSize() != 4 || m.Len() != 2 {
		t.Fatalf("ByteSize %d Len %d", m.ByteSize(), m.Len())
	}
	var nilMap *Map
	if nilMap.Len() != 0 || nilMap.Pairs() != nil {
		t.Fatal("nil map not empty")
	}
}

func TestMarshalFormat(t *testing.T) {
	got := Marshal([]Pair{{"ab", "c"}, {"", "de"}})
	want := []byte{
		2, 0, 0, 0, // count
		2, 0, 0, 0, 1, 0, 0, 0, // "ab" "c"
		0, 0, 0, 0, 2, 0, 0, 0, // "" "de"
		'a', 'b', 0, 'c', 0,
		0, 'd', 'e', 0,
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal = %v\nwant      %v", got, want)
	}
	if back := Unmarshal(got); !reflect.DeepEqual(back, []Pair{{"ab", "c"}, {"", "de"}}) {
		t.Fatalf("Unmarshal = %q", back)
	}
}

func TestUnmarshalRejectsMalformed(t *testing.T) {
	good := Marshal([]Pair{{"k", "v"}})
	tests := map[string][]byte{
		"empty":          nil,
		"short count":    {1, 0},
		"truncated":      good[:len(good)-1],
		"trailing byte":  append(append([]byte(nil), good...), 0),
		"missing NUL":    func() []byte { b := append([]byte(nil), good...); b[13] = 'x'; return b }(),
		"count too big":  {0, 4, 0, 0},
		"sizes past end": {1, 0, 0, 0, 9, 0, 0, 0},
		"huge key size":  {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0},
	}
	for name, b := range tests {
		if got := Unmarshal(b); len(got) != 0 {
			t.Errorf("%s: Unmarshal = %q, want no pairs", name, got)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(Marshal([]Pair{{"k", "v"}, {":path", "/x"}}))
	f.Add(Marshal(nil))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs := Unmarshal(b)
		if len(pairs) == 0 {
			return
		}
		// Whatever decodes must re-encode to exactly the input.
		if again := Marshal(pairs); !bytes.Equal(again, b) {
			t.Fatalf("round trip changed bytes: %v -> %q -> %v", b, pairs, again)
		}
	})
}
