package buffer

import (
	"math"
	"testing"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

func TestWriteRules(t *testing.T) {
	const maxInt32 = math.MaxInt32
	tests := []struct {
		name          string
		start, length uint64
		want          string
		status        abi.Status
	}{
		{"prepend (0,0)", 0, 0, "XYhello", abi.OK},
		{"replace (0,len)", 0, 5, "XY", abi.OK},
		{"replace (0,max)", 0, maxInt32, "XY", abi.OK},
		{"append at len", 5, 0, "helloXY", abi.OK},
		{"append past len", maxInt32, 0, "helloXY", abi.OK},
		{"partial drain is refused", 0, 2, "hello", abi.BadArgument},
		{"insert in the middle is refused", 2, 0, "hello", abi.BadArgument},
		{"overwrite in the middle is refused", 1, 3, "hello", abi.BadArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte("hello")
			st := Mutable(&data).Write(tt.start, tt.length, []byte("XY"))
			if st != tt.status || string(data) != tt.want {
				t.Fatalf("Write(%d,%d) = %v, %q; want %v, %q", tt.start, tt.length, st, data, tt.status, tt.want)
			}
		})
	}
}

func TestReadOnlyAndAbsent(t *testing.T) {
	if st := ReadOnly([]byte("cfg")).Write(0, 0, []byte("x")); st != abi.BadArgument {
		t.Fatalf("read-only write = %v", st)
	}
	var absent Buffer
	if st := absent.Write(0, 0, []byte("x")); st != abi.BadArgument {
		t.Fatalf("absent write = %v", st)
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
