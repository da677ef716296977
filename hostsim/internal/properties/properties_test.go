package properties

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

func testTree(name string) (Value, bool) {
	switch name {
	case "request":
		return MapValue(Fields{
			{"path", func() (Value, bool) { return String("/a?b"), true }},
			{"size", func() (Value, bool) { return Int(12), true }},
			{"id", func() (Value, bool) { return Value{}, false }},
			{"headers", func() (Value, bool) {
				return MapValue(Pairs{{"accept", "a"}, {"accept", "b"}, {"x", "1"}}), true
			}},
			{"time", func() (Value, bool) { return Timestamp(time.Unix(0, 5)), true }},
		}), true
	case "connection_id":
		return Uint(7), true
	case "flag":
		return Bool(true), true
	case "list":
		return List([]Value{String("p"), String("q")}), true
	}
	return Value{}, false
}

func TestGet(t *testing.T) {
	le := func(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
	tests := []struct {
		path   string
		want   []byte
		status abi.Status
	}{
		{"request\x00path", []byte("/a?b"), abi.OK},
		{"request\x00size", le(12), abi.OK},
		{"request\x00time", le(5), abi.OK},
		{"request\x00headers\x00Accept", []byte("a,b"), abi.OK},
		{"request\x00headers\x00missing", nil, abi.NotFound},
		{"request\x00id", nil, abi.NotFound},
		{"request\x00path\x00deeper", nil, abi.NotFound},
		{"connection_id", le(7), abi.OK},
		{"flag", []byte{1}, abi.OK},
		{"list\x001", []byte("q"), abi.OK},
		{"list\x002", nil, abi.NotFound},
		{"list\x00x", nil, abi.NotFound},
		{"nope", nil, abi.NotFound},
		{"request\x00path\x00", []byte("/a?b"), abi.OK}, // a trailing NUL ends the path
		{"", nil, abi.SerializationFailure},
		{"request\x00headers", headermap.Marshal([]headermap.Pair{{"accept", "a"}, {"accept", "b"}, {"x", "1"}}), abi.OK},
		{"list", headermap.Marshal([]headermap.Pair{{"p", ""}, {"q", ""}}), abi.OK},
	}
	for _, tt := range tests {
		got, st := Get([]byte(tt.path), testTree)
		if st != tt.status || !bytes.Equal(got, tt.want) {
			t.Errorf("Get(%q) = %q %v, want %q %v", tt.path, got, st, tt.want, tt.status)
		}
	}
}

func TestSerializeScalars(t *testing.T) {
	if b, _ := Serialize(Double(1.5)); len(b) != 8 {
		t.Fatalf("double = %v", b)
	}
	if b, _ := Serialize(Duration(time.Second)); binary.LittleEndian.Uint64(b) != uint64(time.Second) {
		t.Fatalf("duration = %v", b)
	}
	if b, _ := Serialize(Int(-1)); binary.LittleEndian.Uint64(b) != ^uint64(0) {
		t.Fatalf("int -1 = %v", b)
	}
	if _, st := Serialize(Value{}); st != abi.SerializationFailure {
		t.Fatalf("null = %v", st)
	}
}

func FuzzGet(f *testing.F) {
	f.Add([]byte("request\x00headers\x00x"))
	f.Add([]byte("list\x000"))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, path []byte) {
		Get(path, testTree) // must not panic on any path
	})
}
