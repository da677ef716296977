package wasi

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

// memoryModule is a module with one exported page of memory and nothing else.
var memoryModule = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x05, 0x03, 0x01, 0x00, 0x01, // memory section: min 1
	0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00} // export "memory"

func newMemory(t *testing.T) api.Memory {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	mod, err := r.Instantiate(ctx, memoryModule)
	if err != nil {
		t.Fatal(err)
	}
	return mod.Memory()
}

type fakeEnv struct {
	lines  []string
	levels []abi.LogLevel
	traces []string
	env    []string
}

func (f *fakeEnv) Allowed(string, string) bool { return true }
func (f *fakeEnv) Count(int)                   {}
func (f *fakeEnv) Stdio(level abi.LogLevel, msg string) bool {
	f.lines, f.levels = append(f.lines, msg), append(f.levels, level)
	return true
}
func (f *fakeEnv) Trace(msg string)  { f.traces = append(f.traces, msg) }
func (f *fakeEnv) Realtime() uint64  { return 111 }
func (f *fakeEnv) Monotonic() uint64 { return 222 }
func (f *fakeEnv) Environ() []string { return f.env }

func fn(t *testing.T, legacy bool, name string) func(Env, api.Memory, []uint64) {
	for _, f := range Funcs(legacy) {
		if f.Name == name {
			return f.fn
		}
	}
	t.Fatalf("%s not registered (legacy=%v)", name, legacy)
	return nil
}

func call(t *testing.T, env Env, mem api.Memory, name string, args ...uint64) uint64 {
	t.Helper()
	stack := make([]uint64, 10)
	copy(stack, args)
	fn(t, false, name)(env, mem, stack)
	return stack[0]
}

func TestFdWrite(t *testing.T) {
	mem := newMemory(t)
	env := &fakeEnv{}
	mem.WriteString(100, "hello ")
	mem.WriteString(200, "world\n")
	// Two iovecs at 16; the upper bits of the fd slot are garbage, as wazero may leave them.
	for i, v := range []uint32{100, 6, 200, 6} {
		mem.WriteUint32Le(16+uint32(i)*4, v)
	}
	if errno := call(t, env, mem, "fd_write", 1|0xdead<<32, 16, 2, 40); errno != 0 {
		t.Fatalf("errno %d", errno)
	}
	n, _ := mem.ReadUint32Le(40)
	if n != 12 || len(env.lines) != 1 || env.lines[0] != "hello world" || env.levels[0] != abi.LogInfo {
		t.Fatalf("wrote %d, lines %q levels %v", n, env.lines, env.levels)
	}
	call(t, env, mem, "fd_write", 2, 16, 1, 40)
	if env.levels[1] != abi.LogError {
		t.Fatal("stderr is not error level")
	}
	if errno := call(t, env, mem, "fd_write", 3, 16, 1, 40); errno != errnoBadf {
		t.Fatalf("fd 3 errno %d", errno)
	}
	if errno := call(t, env, mem, "fd_write", 1, 65530, 1, 40); errno != errnoFault {
		t.Fatalf("bad iovec errno %d", errno)
	}
}

func TestEnvironAndArgs(t *testing.T) {
	mem := newMemory(t)
	env := &fakeEnv{env: []string{"A=1", "BB=22"}}
	call(t, env, mem, "environ_sizes_get", 0, 4)
	count, _ := mem.ReadUint32Le(0)
	size, _ := mem.ReadUint32Le(4)
	if count != 2 || size != 10 {
		t.Fatalf("sizes %d %d", count, size)
	}
	call(t, env, mem, "environ_get", 100, 200)
	p0, _ := mem.ReadUint32Le(100)
	p1, _ := mem.ReadUint32Le(104)
	buf, _ := mem.Read(200, 10)
	if p0 != 200 || p1 != 204 || string(buf) != "A=1\x00BB=22\x00" {
		t.Fatalf("environ %d %d %q", p0, p1, buf)
	}
	mem.WriteUint32Le(300, 9)
	call(t, env, mem, "args_sizes_get", 300, 304)
	if argc, _ := mem.ReadUint32Le(300); argc != 0 {
		t.Fatal("args not empty")
	}
}

func TestClocksRandomAndPoll(t *testing.T) {
	mem := newMemory(t)
	env := &fakeEnv{}
	call(t, env, mem, "clock_time_get", 0, 0, 8)
	call(t, env, mem, "clock_time_get", 1, 0, 16)
	rt, _ := mem.ReadUint64Le(8)
	mono, _ := mem.ReadUint64Le(16)
	if rt != 111 || mono != 222 {
		t.Fatalf("clocks %d %d", rt, mono)
	}
	if errno := call(t, env, mem, "clock_time_get", 2, 0, 8); errno != errnoNotsup {
		t.Fatalf("cputime errno %d", errno)
	}
	if errno := call(t, env, mem, "random_get", 100, 64*1024+1); errno != errnoInval {
		t.Fatalf("random over 64KiB errno %d", errno)
	}
	if errno := call(t, env, mem, "random_get", 100, 32); errno != 0 {
		t.Fatalf("random errno %d", errno)
	}
	mem.WriteUint32Le(50, 7)
	if errno := call(t, env, mem, "poll_oneoff", 0, 0, 1, 50); errno != 0 {
		t.Fatalf("poll errno %d", errno)
	}
	if n, _ := mem.ReadUint32Le(50); n != 0 {
		t.Fatalf("poll reported %d events", n)
	}
	stack := make([]uint64, 4)
	fn(t, true, "poll_oneoff")(env, mem, stack)
	if stack[0] != errnoNosys {
		t.Fatalf("legacy poll errno %d", stack[0])
	}
	call(t, env, mem, "proc_exit", 2)
	if len(env.traces) != 1 || env.traces[0] != "wasi_unstable proc_exit" {
		t.Fatalf("proc_exit traces %q", env.traces)
	}
}

func TestStubResults(t *testing.T) {
	mem := newMemory(t)
	env := &fakeEnv{}
	tests := []struct {
		name string
		args []uint64
		want uint64
	}{
		{"fd_read", []uint64{0, 0, 0, 0}, errnoNosys},
		{"fd_prestat_get", []uint64{3, 0}, errnoBadf},
		{"fd_prestat_dir_name", []uint64{3, 0, 0}, errnoNosys},
		{"path_open", []uint64{3, 0, 0, 0, 0, 0, 0, 0, 0}, errnoNoent},
		{"fd_fdstat_get", []uint64{1, 0}, 0},
		{"fd_fdstat_get", []uint64{5, 0}, errnoBadf},
		{"fd_fdstat_set_flags", []uint64{1, 0}, errnoNosys},
		{"fd_close", []uint64{1}, 0},
		{"fd_seek", []uint64{1, 0, 0, 0}, 0},
		{"sched_yield", nil, 0},
		{"fd_sync", []uint64{1}, 0},
		{"fd_sync", []uint64{4}, errnoBadf},
		{"fd_renumber", []uint64{1, 2}, errnoNotsup},
		{"fd_readdir", []uint64{3, 0, 0, 0, 108}, errnoNotdir},
		{"path_link", []uint64{0, 0, 0, 0, 0, 0}, errnoNotsup},
		{"sock_accept", []uint64{3, 0, 116}, errnoNotsup},
		{"clock_res_get", []uint64{1, 100}, 0},
	}
	for _, tt := range tests {
		if got := call(t, env, mem, tt.name, tt.args...); got != tt.want {
			t.Errorf("%s%v = %d, want %d", tt.name, tt.args, got, tt.want)
		}
	}
	stat, _ := mem.Read(0, 24)
	if binary.LittleEndian.Uint64(stat[8:]) != 64 {
		t.Fatalf("fdstat rights_base = %v", stat[8:16])
	}
}

func TestLegacySetIsSmaller(t *testing.T) {
	if len(Funcs(true)) != len(legacySet) || len(Funcs(false)) != len(all) {
		t.Fatalf("legacy %d of %d, current %d", len(Funcs(true)), len(legacySet), len(Funcs(false)))
	}
	for _, f := range Funcs(true) {
		if f.Name == "clock_res_get" {
			t.Fatal("clock_res_get is not in legacy releases")
		}
	}
}
