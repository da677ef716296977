package buffer

import (
	"math"
	"testing"
)

func TestWriteRules(t *testing.T) {
	const maxInt32 = math.MaxInt32
	tests := []struct {
		name          string
		start, length uint64
		want          string
		ok            bool
	}{
		{"prepend (0,0)", 0, 0, "XYhello", true},
		{"replace (0,len)", 0, 5, "XY", true},
		{"replace (0,max)", 0, maxInt32, "XY", true},
		{"append at len", 5, 0, "helloXY", true},
		{"append past len", maxInt32, 0, "helloXY", true},
		{"partial drain is refused", 0, 2, "hello", false},
		{"insert in the middle is refused", 2, 0, "hello", false},
		{"overwrite in the middle is refused", 1, 3, "hello", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte("hello")
			st := Mutable(&data).Write(tt.start, tt.length, []byte("XY"))
			if st != tt.ok || string(data) != tt.want {
				t.Fatalf("Write(%d,%d) = %v, %q; want %v, %q", tt.start, tt.length, st, data, tt.ok, tt.want)
			}
		})
	}
}

func TestReadOnlyAndAbsent(t *testing.T) {
	if ReadOnly([]byte("cfg")).Write(0, 0, []byte("x")) {
		t.Fatal("read-only write accepted")
	}
	var absent Buffer
	if absent.Write(0, 0, []byte("x")) {
		t.Fatal("absent write accepted")
	}
	if absent.Len() != 0 {
		t.Fatal("absent buffer not empty")
	}
}

func TestSliceClamps(t *testing.T) {
	b := ReadOnly([]byte("hello"))
	tests := []struct {
		start, length uint64
		want          string
	}{
		{0, 5, "hello"}, {0, math.MaxInt32, "hello"}, {1, 2, "el"}, {4, 10, "o"}, {5, 1, ""}, {9, 1, ""},
	}
	for _, tt := range tests {
		if got := string(b.Slice(tt.start, tt.length)); got != tt.want {
			t.Errorf("Slice(%d,%d) = %q, want %q", tt.start, tt.length, got, tt.want)
		}
	}
}

// A replacement that fits the storage reuses it (a rewritten body costs no allocation); one
// that does not fit gets new storage and leaves the old bytes alone.
func TestReplaceReusesStorage(t *testing.T) {
	data := make([]byte, 5, 16)
	copy(data, "hello")
	b := Mutable(&data)
	repl := []byte("rewritten body")
	if n := testing.AllocsPerRun(10, func() { b.Write(0, uint64(len(data)), repl) }); n != 0 {
		t.Fatalf("a fitting replacement allocated %v times", n)
	}
	if string(data) != "rewritten body" || cap(data) != 16 {
		t.Fatalf("data = %q (cap %d)", data, cap(data))
	}
	old := data
	b.Write(0, uint64(len(data)), []byte("a body longer than sixteen bytes"))
	if string(data) != "a body longer than sixteen bytes" || string(old) != "rewritten body" {
		t.Fatalf("data = %q, old storage = %q", data, old)
	}
}
