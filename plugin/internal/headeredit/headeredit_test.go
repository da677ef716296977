package headeredit

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	base := [][2]string{{":status", "200"}, {"content-type", "text/plain"}, {"via", "a"}, {"content-length", "9"}, {"via", "b"}}
	tests := []struct {
		name  string
		edit  func(*Edits)
		want  [][2]string
		n     int
		last  Op
		input [][2]string
	}{
		{"nothing", func(*Edits) {}, base, 0, Op{}, nil},
		{"set replaces the first entry in place", func(e *Edits) { e.Set("via", "c") },
			[][2]string{{":status", "200"}, {"content-type", "text/plain"}, {"via", "c"}, {"content-length", "9"}, {"via", "b"}},
			1, Op{Name: "via", Value: "c"}, nil},
		{"set appends an absent name", func(e *Edits) { e.Set("x-stepgate", "1") },
			append(slices.Clone(base), [2]string{"x-stepgate", "1"}), 1, Op{Name: "x-stepgate", Value: "1"}, nil},
		{"remove drops every entry", func(e *Edits) { e.Remove("via") },
			[][2]string{{":status", "200"}, {"content-type", "text/plain"}, {"content-length", "9"}},
			1, Op{Name: "via", Remove: true}, nil},
		{"no-op changes are not counted", func(e *Edits) {
			e.Remove("absent")
			e.Set("content-type", "text/plain")
			e.Set(":status", "502")
		}, [][2]string{{":status", "502"}, {"content-type", "text/plain"}, {"via", "a"}, {"content-length", "9"}, {"via", "b"}},
			1, Op{Name: ":status", Value: "502"}, nil},
		{"later changes see earlier ones", func(e *Edits) {
			e.Remove("content-length")
			e.Set("content-length", "3")
			e.Remove("via")
			e.Remove("via")
		}, [][2]string{{":status", "200"}, {"content-type", "text/plain"}, {"content-length", "3"}}, 3,
			Op{Name: "via", Remove: true}, nil},
		{"empty map", func(e *Edits) { e.Set("a", "1"); e.Remove("b") }, [][2]string{{"a", "1"}}, 1, Op{Name: "a", Value: "1"}, [][2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			if tt.input != nil {
				in = tt.input
			}
			orig := slices.Clone(in)
			var e Edits
			tt.edit(&e)
			got, n, last := Apply(nil, in, e.Ops())
			if !slices.Equal(got, tt.want) || n != tt.n || last != tt.last {
				t.Errorf("Apply = %q, %d, %+v; want %q, %d, %+v", got, n, last, tt.want, tt.n, tt.want)
			}
			if !slices.Equal(in, orig) {
				t.Errorf("Apply changed its input: %q", in)
			}
		})
	}
}

func TestResetKeepsStorage(t *testing.T) {
	var e Edits
	e.Set("a", "1")
	e.Reset()
	if len(e.Ops()) != 0 || cap(e.Ops()) == 0 {
		t.Fatalf("after Reset: %d ops, capacity %d", len(e.Ops()), cap(e.Ops()))
	}
	if allocs := testing.AllocsPerRun(100, func() {
		e.Set("x-stepgate", "v")
		e.Reset()
	}); allocs != 0 {
		t.Errorf("Set after Reset allocates %.0f times", allocs)
	}
}

// FuzzApply checks, on any maps and changes: Apply never panics nor modifies its input; it
// equals the changes made one at a time by a plain model of the host; applying only the
// changes it counts gives the same map; and with one change counted, that change alone does.
func FuzzApply(f *testing.F) {
	f.Add(":status 200\ncontent-type a\nvia x\nvia y", "s via z\nr content-length\ns :status 502")
	f.Add("", "r a\ns a 1\ns A 2")
	f.Fuzz(func(t *testing.T, pairsText, opsText string) {
		pairs := parsePairs(pairsText)
		ops := parseOps(opsText)
		orig := slices.Clone(pairs)
		got, n, last := Apply(make([][2]string, 0, 1), pairs, ops)
		if !slices.Equal(pairs, orig) {
			t.Fatalf("input changed: %q, was %q", pairs, orig)
		}
		if want := model(pairs, ops); !slices.Equal(got, want) {
			t.Fatalf("Apply = %q, model %q", got, want)
		}
		if n == 1 {
			if one, _, _ := Apply(nil, pairs, []Op{last}); !slices.Equal(one, got) {
				t.Fatalf("the one counted change %+v gives %q, all of them %q", last, one, got)
			}
		}
		if n == 0 && !slices.Equal(got, pairs) {
			t.Fatalf("no change counted, yet %q became %q", pairs, got)
		}
	})
}

// model makes each change as the host does, one call at a time.
func model(pairs [][2]string, ops []Op) [][2]string {
	m := slices.Clone(pairs)
	for _, op := range ops {
		if op.Remove {
			m = slices.DeleteFunc(m, func(kv [2]string) bool { return kv[0] == op.Name })
			continue
		}
		i := slices.IndexFunc(m, func(kv [2]string) bool { return kv[0] == op.Name })
		if i >= 0 {
			m[i][1] = op.Value
		} else {
			m = append(m, [2]string{op.Name, op.Value})
		}
	}
	if m == nil {
		m = [][2]string{}
	}
	return m
}

// parsePairs reads "name value" lines (names lower-cased, as the host gives them).
func parsePairs(s string) [][2]string {
	out := [][2]string{}
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		out = append(out, [2]string{strings.ToLower(k), v})
	}
	return out
}

// parseOps reads "s name value" and "r name" lines.
func parseOps(s string) []Op {
	var e Edits
	for _, line := range strings.Split(s, "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		name, value, _ := strings.Cut(rest, " ")
		switch kind {
		case "s":
			e.Set(strings.ToLower(name), value)
		case "r":
			e.Remove(strings.ToLower(name))
		}
	}
	return e.Ops()
}

// Marshal writes what the host's parser reads: checked against the serialization's layout.
func TestMarshal(t *testing.T) {
	got := Marshal([]byte("junk")[:0], [][2]string{{":status", "200"}, {"x", ""}})
	want := "\x02\x00\x00\x00" + "\x07\x00\x00\x00\x03\x00\x00\x00" + "\x01\x00\x00\x00\x00\x00\x00\x00" +
		":status\x00200\x00" + "x\x00\x00"
	if string(got) != want {
		t.Errorf("Marshal = %q, want %q", got, want)
	}
	if got := Marshal(nil, nil); string(got) != "\x00\x00\x00\x00" {
		t.Errorf("Marshal of no pairs = %q", got)
	}
	buf := make([]byte, 0, 256)
	pairs := [][2]string{{"content-type", "application/json"}, {"x-request-id", "r"}}
	if allocs := testing.AllocsPerRun(100, func() { buf = Marshal(buf[:0], pairs) }); allocs != 0 {
		t.Errorf("Marshal into a buffer large enough allocates %.0f times", allocs)
	}
}

// A name whose bit the digests lack is not there: neither among the pairs nor set by a change.
func TestNamesNeverMissAName(t *testing.T) {
	pairs := [][2]string{{":path", "/"}, {"authorization", "Bearer k"}, {"content-length", "3"}}
	var e Edits
	e.Set("x-api-key", "k")
	e.Remove("cookie")
	held := Names(pairs) | e.Names()
	for _, name := range []string{":path", "authorization", "content-length", "x-api-key"} {
		if held&NameBit(name) == 0 {
			t.Errorf("%q is held but its bit is missing", name)
		}
	}
	absent := 0
	for _, name := range []string{"x-goog-api-key", "api-key", "proxy-authorization", "te", "upgrade", "trailer"} {
		if held&NameBit(name) == 0 {
			absent++
		}
	}
	if absent == 0 {
		t.Error("the digests rule out none of the absent names")
	}
}

// Marshal's word-at-a-time copies write what a plain serialization writes, after whatever dst
// held, for names and values of every length.
func FuzzMarshal(f *testing.F) {
	f.Add("", ":status 200\ncontent-type application/json\nx-a 1234567\nx-request-id 0123456789abcdef0123")
	f.Add("junk", "a b\nabcdefgh abcdefghi\n x")
	f.Fuzz(func(t *testing.T, prefix, pairsText string) {
		var pairs [][2]string
		for _, line := range strings.Split(pairsText, "\n") {
			k, v, _ := strings.Cut(line, " ")
			pairs = append(pairs, [2]string{k, v})
		}
		want := []byte(prefix)
		want = binary.LittleEndian.AppendUint32(want, uint32(len(pairs)))
		for _, kv := range pairs {
			want = binary.LittleEndian.AppendUint32(want, uint32(len(kv[0])))
			want = binary.LittleEndian.AppendUint32(want, uint32(len(kv[1])))
		}
		for _, kv := range pairs {
			want = append(append(want, kv[0]...), 0)
			want = append(append(want, kv[1]...), 0)
		}
		if got := Marshal([]byte(prefix), pairs); !bytes.Equal(got, want) {
			t.Fatalf("Marshal = %q, want %q", got, want)
		}
	})
}
