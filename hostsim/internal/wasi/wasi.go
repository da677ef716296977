// Package wasi provides the WASI preview 1 functions exactly as Envoy's proxy-wasm-cpp-host
// does, under both module names it registers ("wasi_snapshot_preview1" and "wasi_unstable").
//
// Envoy is not a general WASI runtime: stdout and stderr (fds 1 and 2) go to the proxy log at
// info and error level, clocks are realtime and monotonic only, args are empty, the environment
// comes from the VM configuration, there are no preopens and no files, and the remaining
// functions are stubs with fixed results (ENOSYS, ENOTSUP, BADF, ...). The function set and the
// poll_oneoff result depend on the release: see Legacy.
//
// This package is not a filesystem, not a scheduler and not the WASI of wazero's own
// wasi_snapshot_preview1 package, whose behaviour differs from Envoy's on purpose-built points.
package wasi

import (
	"context"
	"crypto/rand"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
)

// Module names cpp-host registers every WASI function under.
var Modules = []string{"wasi_snapshot_preview1", "wasi_unstable"}

// WASI errno values cpp-host returns.
const (
	errnoSuccess  = 0
	errnoBadf     = 8
	errnoFault    = 21
	errnoInval    = 28
	errnoNoent    = 44
	errnoNosys    = 52
	errnoNotdir   = 20
	errnoNotsup   = 58
	maxRandomSize = 64 * 1024
)

// Env is what the WASI functions need from the VM that calls them.
type Env interface {
	// Count records one call of the host function numbered id (see Instantiate).
	Count(id int)
	// Allowed reports whether the host function may run now; cpp-host restricts which
	// functions a module may call while it starts and while it allocates memory for the host.
	Allowed(module, name string) bool
	// Log writes a plugin log line (fd_write to stdout/stderr); false means EBADF.
	Stdio(level abi.LogLevel, msg string) bool
	// Trace records what cpp-host reports with context->error(), which Envoy logs at trace.
	Trace(msg string)
	Realtime() uint64
	Monotonic() uint64
	// Environ is the environment as "KEY=VALUE" strings.
	Environ() []string
}

// Func describes one WASI function.
type Func struct {
	Name    string
	Params  []api.ValueType
	Results []api.ValueType
	fn      func(env Env, mem api.Memory, stack []uint64)
}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func sig(params ...api.ValueType) []api.ValueType { return params }

var errnoResult = []api.ValueType{i32}

// Funcs lists the functions registered in each WASI module. Legacy selects the set of Envoy
// releases built on cpp-host between PR #427 (Dec 2024) and PR #533 (Apr 2026): fewer
// functions, and a poll_oneoff that fails with ENOSYS (52), on which the Go runtime aborts
// whenever it polls ("poll_oneoff failed" or a throw naming poll_oneoff).
func Funcs(legacy bool) []Func {
	var out []Func
	for _, f := range all {
		if legacy && !legacySet[f.Name] {
			continue
		}
		if legacy && f.Name == "poll_oneoff" {
			f.fn = pollOneoffLegacy
		}
		out = append(out, f)
	}
	return out
}

// legacySet is the WASI list of cpp-host at c4d7bb0 (#427).
var legacySet = map[string]bool{
	"fd_write": true, "fd_read": true, "fd_seek": true, "fd_close": true, "fd_fdstat_get": true,
	"fd_fdstat_set_flags": true, "environ_get": true, "environ_sizes_get": true, "args_get": true,
	"args_sizes_get": true, "clock_time_get": true, "random_get": true, "sched_yield": true,
	"poll_oneoff": true, "proc_exit": true, "path_open": true, "fd_prestat_get": true,
	"fd_prestat_dir_name": true,
}

// StartAllowed lists what a module may call while _initialize/main run (cpp-host's startVm).
func StartAllowed(legacy bool) []string {
	if legacy {
		return []string{"fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get",
			"fd_prestat_get", "fd_prestat_dir_name", "clock_time_get", "random_get", "fd_fdstat_get",
			"fd_fdstat_set_flags"}
	}
	return []string{"fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get",
		"clock_time_get", "clock_res_get", "random_get", "poll_oneoff", "fd_fdstat_get",
		"fd_fdstat_set_flags", "fd_advise", "fd_allocate", "fd_datasync", "fd_fdstat_set_rights",
		"fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
		"fd_prestat_dir_name", "fd_prestat_get", "fd_pwrite", "fd_readdir", "fd_renumber", "fd_sync",
		"fd_tell", "path_create_directory", "path_filestat_get", "path_filestat_set_times",
		"path_link", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
		"path_unlink_file", "sock_accept", "sock_recv", "sock_send", "sock_shutdown"}
}

// AllocAllowed lists what a module may call inside its allocator when the host asks it for
// memory (cpp-host's allocMemory).
func AllocAllowed(legacy bool) []string {
	if legacy {
		return []string{"fd_write", "clock_time_get"}
	}
	return []string{"fd_write", "clock_time_get", "poll_oneoff"}
}

// Instantiate registers both WASI modules in r; envOf finds the calling VM's Env. Every call is
// counted (Env.Count) under first + its index in the list of Modules × Funcs(legacy), module
// by module.
func Instantiate(ctx context.Context, r wazero.Runtime, legacy bool, first int, envOf func(context.Context) Env) error {
	funcs := Funcs(legacy)
	for m, module := range Modules {
		b := r.NewHostModuleBuilder(module)
		for i, f := range funcs {
			f, module, id := f, module, first+m*len(funcs)+i
			b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(
				func(ctx context.Context, mod api.Module, stack []uint64) {
					env := envOf(ctx)
					env.Count(id)
					if !env.Allowed(module, f.Name) {
						panic(abi.RestrictedCallback(module + "." + f.Name))
					}
					f.fn(env, mod.Memory(), stack)
				}), f.Params, f.Results).Export(f.Name)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return err
		}
	}
	return nil
}

func ret(stack []uint64, errno uint32) { stack[0] = uint64(errno) }

func stdio(fd uint64) bool { return uint32(fd) == 1 || uint32(fd) == 2 }

func constant(errno uint32) func(Env, api.Memory, []uint64) {
	return func(_ Env, _ api.Memory, stack []uint64) { ret(stack, errno) }
}

// stdioOnly succeeds for fds 1 and 2 and is BADF otherwise.
func stdioOnly(_ Env, _ api.Memory, stack []uint64) {
	if stdio(stack[0]) {
		ret(stack, errnoSuccess)
	} else {
		ret(stack, errnoBadf)
	}
}

var all = []Func{
	{"fd_write", sig(i32, i32, i32, i32), errnoResult, fdWrite},
	{"fd_read", sig(i32, i32, i32, i32), errnoResult, constant(errnoNosys)},
	{"fd_seek", sig(i32, i64, i32, i32), errnoResult, traced("wasi_unstable fd_seek")},
	{"fd_close", sig(i32), errnoResult, traced("wasi_unstable fd_close")},
	{"fd_fdstat_get", sig(i32, i32), errnoResult, fdFdstatGet},
	{"fd_fdstat_set_flags", sig(i32, i32), errnoResult, constant(errnoNosys)},
	{"fd_fdstat_set_rights", sig(i32, i64, i64), errnoResult, stdioOnly},
	{"environ_get", sig(i32, i32), errnoResult, environGet},
	{"environ_sizes_get", sig(i32, i32), errnoResult, environSizesGet},
	{"args_get", sig(i32, i32), errnoResult, constant(errnoSuccess)},
	{"args_sizes_get", sig(i32, i32), errnoResult, argsSizesGet},
	{"clock_time_get", sig(i32, i64, i32), errnoResult, clockTimeGet},
	{"clock_res_get", sig(i32, i32), errnoResult, clockResGet},
	{"fd_advise", sig(i32, i64, i64, i32), errnoResult, constant(errnoSuccess)},
	{"fd_allocate", sig(i32, i64, i64), errnoResult, stdioOnly},
	{"fd_datasync", sig(i32), errnoResult, stdioOnly},
	{"fd_filestat_set_size", sig(i32, i64), errnoResult, stdioOnly},
	{"fd_filestat_set_times", sig(i32, i64, i64, i32), errnoResult, stdioOnly},
	{"fd_pread", sig(i32, i32, i32, i64, i32), errnoResult, constant(errnoNosys)},
	{"fd_pwrite", sig(i32, i32, i32, i64, i32), errnoResult, fdPwrite},
	{"fd_readdir", sig(i32, i32, i32, i64, i32), errnoResult, fdReaddir},
	{"fd_renumber", sig(i32, i32), errnoResult, fdRenumber},
	{"fd_sync", sig(i32), errnoResult, stdioOnly},
	{"fd_tell", sig(i32, i32), errnoResult, fdTell},
	{"path_create_directory", sig(i32, i32, i32), errnoResult, constant(errnoNotsup)},
	{"path_filestat_set_times", sig(i32, i32, i32, i32, i64, i64, i32), errnoResult, constant(errnoNotsup)},
	// cpp-host declares path_link with 6 parameters and path_symlink with 4 (WASI has 7 and 5),
	// so a module importing the real signatures fails to load in Envoy, and here.
	{"path_link", sig(i32, i32, i32, i32, i32, i32), errnoResult, constant(errnoNotsup)},
	{"path_readlink", sig(i32, i32, i32, i32, i32, i32), errnoResult, pathReadlink},
	{"path_remove_directory", sig(i32, i32, i32), errnoResult, constant(errnoNotsup)},
	{"path_rename", sig(i32, i32, i32, i32, i32, i32), errnoResult, constant(errnoNotsup)},
	{"path_symlink", sig(i32, i32, i32, i32), errnoResult, constant(errnoNotsup)},
	{"path_unlink_file", sig(i32, i32, i32), errnoResult, constant(errnoNotsup)},
	{"sock_accept", sig(i32, i32, i32), errnoResult, sockAccept},
	{"sock_recv", sig(i32, i32, i32, i32, i32, i32), errnoResult, sockRecv},
	{"sock_send", sig(i32, i32, i32, i32, i32), errnoResult, sockSend},
	{"sock_shutdown", sig(i32, i32), errnoResult, constant(errnoNotsup)},
	{"random_get", sig(i32, i32), errnoResult, randomGet},
	{"sched_yield", nil, errnoResult, constant(errnoSuccess)},
	{"poll_oneoff", sig(i32, i32, i32, i32), errnoResult, pollOneoff},
	{"proc_exit", sig(i32), nil, procExit},
	{"path_open", sig(i32, i32, i32, i32, i32, i64, i64, i32, i32), errnoResult, constant(errnoNoent)},
	{"fd_prestat_get", sig(i32, i32), errnoResult, constant(errnoBadf)},
	{"fd_prestat_dir_name", sig(i32, i32, i32), errnoResult, constant(errnoNosys)},
	{"path_filestat_get", sig(i32, i32, i32, i32, i32), errnoResult, constant(errnoNotsup)},
	{"fd_filestat_get", sig(i32, i32), errnoResult, constant(errnoBadf)},
}

func traced(msg string) func(Env, api.Memory, []uint64) {
	return func(env Env, _ api.Memory, stack []uint64) {
		env.Trace(msg)
		ret(stack, errnoSuccess)
	}
}

func procExit(env Env, _ api.Memory, _ []uint64) {
	// Envoy only records the call and returns to the module, which then usually traps.
	env.Trace("wasi_unstable proc_exit")
}

// writev gathers the iovecs of fd 1 or 2 into one log line, as cpp-host's writevImpl does:
// stdout logs at info, stderr at error, one trailing newline is dropped.
func writev(env Env, mem api.Memory, fd, iovs, n uint32) (uint32, uint32) {
	var level abi.LogLevel
	switch fd {
	case 1:
		level = abi.LogInfo
	case 2:
		level = abi.LogError
	default:
		return 0, errnoBadf
	}
	var msg []byte
	for i := uint32(0); i < n; i++ {
		iov, ok := mem.Read(iovs+i*8, 8)
		if !ok {
			return 0, errnoFault
		}
		ptr := uint32(iov[0]) | uint32(iov[1])<<8 | uint32(iov[2])<<16 | uint32(iov[3])<<24
		size := uint32(iov[4]) | uint32(iov[5])<<8 | uint32(iov[6])<<16 | uint32(iov[7])<<24
		if size == 0 {
			continue
		}
		b, ok := mem.Read(ptr, size)
		if !ok {
			return 0, errnoFault
		}
		msg = append(msg, b...)
	}
	written := uint32(len(msg))
	if written != 0 {
		if msg[len(msg)-1] == '\n' {
			msg = msg[:len(msg)-1]
		}
		if !env.Stdio(level, string(msg)) {
			return 0, errnoBadf
		}
	}
	return written, errnoSuccess
}

func fdWrite(env Env, mem api.Memory, stack []uint64) {
	n, errno := writev(env, mem, uint32(stack[0]), uint32(stack[1]), uint32(stack[2]))
	if errno == errnoSuccess && !mem.WriteUint32Le(uint32(stack[3]), n) {
		errno = errnoFault
	}
	ret(stack, errno)
}

func fdPwrite(env Env, mem api.Memory, stack []uint64) {
	if !stdio(stack[0]) {
		ret(stack, errnoBadf)
		return
	}
	n, errno := writev(env, mem, uint32(stack[0]), uint32(stack[1]), uint32(stack[2]))
	if errno == errnoSuccess && !mem.WriteUint32Le(uint32(stack[4]), n) {
		errno = errnoFault
	}
	ret(stack, errno)
}

func fdFdstatGet(_ Env, mem api.Memory, stack []uint64) {
	if !stdio(stack[0]) {
		ret(stack, errnoBadf)
		return
	}
	// Three u64 words: filetype/flags 0, rights_base FD_WRITE (64), rights_inheriting 0.
	// cpp-host ignores a failed write here, and so do we.
	var stat [24]byte
	stat[8] = 64
	mem.Write(uint32(stack[1]), stat[:])
	ret(stack, errnoSuccess)
}

func environSizesGet(env Env, mem api.Memory, stack []uint64) {
	envs := env.Environ()
	size := 0
	for _, e := range envs {
		size += len(e) + 1
	}
	if !mem.WriteUint32Le(uint32(stack[0]), uint32(len(envs))) || !mem.WriteUint32Le(uint32(stack[1]), uint32(size)) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoSuccess)
}

func environGet(env Env, mem api.Memory, stack []uint64) {
	array, buf := uint32(stack[0]), uint32(stack[1])
	for _, e := range env.Environ() {
		if !mem.WriteUint32Le(array, buf) || !mem.WriteString(buf, e) || !mem.WriteByte(buf+uint32(len(e)), 0) {
			ret(stack, errnoFault)
			return
		}
		buf += uint32(len(e)) + 1
		array += 4
	}
	ret(stack, errnoSuccess)
}

func argsSizesGet(_ Env, mem api.Memory, stack []uint64) {
	if !mem.WriteUint32Le(uint32(stack[0]), 0) || !mem.WriteUint32Le(uint32(stack[1]), 0) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoSuccess)
}

func clockTimeGet(env Env, mem api.Memory, stack []uint64) {
	var t uint64
	switch uint32(stack[0]) {
	case 0:
		t = env.Realtime()
	case 1:
		t = env.Monotonic()
	default:
		ret(stack, errnoNotsup)
		return
	}
	if !mem.WriteUint64Le(uint32(stack[2]), t) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoSuccess)
}

func clockResGet(_ Env, mem api.Memory, stack []uint64) {
	if id := uint32(stack[0]); id != 0 && id != 1 {
		ret(stack, errnoNotsup)
		return
	}
	if !mem.WriteUint64Le(uint32(stack[1]), 1) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoSuccess)
}

func fdReaddir(_ Env, mem api.Memory, stack []uint64) {
	if !mem.WriteUint32Le(uint32(stack[4]), 0) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoNotdir)
}

func fdRenumber(_ Env, _ api.Memory, stack []uint64) {
	if !stdio(stack[0]) || !stdio(stack[1]) {
		ret(stack, errnoBadf)
		return
	}
	ret(stack, errnoNotsup)
}

func fdTell(_ Env, mem api.Memory, stack []uint64) {
	if !stdio(stack[0]) {
		ret(stack, errnoBadf)
		return
	}
	if !mem.WriteUint64Le(uint32(stack[1]), 0) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoSuccess)
}

func pathReadlink(_ Env, mem api.Memory, stack []uint64) {
	if !mem.WriteUint32Le(uint32(stack[5]), 0) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoNotsup)
}

func sockAccept(_ Env, mem api.Memory, stack []uint64) {
	if !mem.WriteUint64Le(uint32(stack[2]), 0) { // cpp-host writes a 64-bit zero here
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoNotsup)
}

func sockRecv(_ Env, mem api.Memory, stack []uint64) {
	if !mem.WriteUint32Le(uint32(stack[4]), 0) || !mem.WriteUint16Le(uint32(stack[5]), 0) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoNotsup)
}

func sockSend(_ Env, mem api.Memory, stack []uint64) {
	if !mem.WriteUint32Le(uint32(stack[4]), 0) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoNotsup)
}

func randomGet(_ Env, mem api.Memory, stack []uint64) {
	n := uint32(stack[1])
	if n > maxRandomSize {
		ret(stack, errnoInval)
		return
	}
	if n == 0 {
		ret(stack, errnoSuccess)
		return
	}
	b := make([]byte, n)
	rand.Read(b)
	if !mem.Write(uint32(stack[0]), b) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoSuccess)
}

// pollOneoff reports no events and success without waiting: Envoy does not poll, and the Go
// runtime only needs the call to succeed.
func pollOneoff(_ Env, mem api.Memory, stack []uint64) {
	if !mem.WriteUint32Le(uint32(stack[3]), 0) {
		ret(stack, errnoFault)
		return
	}
	ret(stack, errnoSuccess)
}

func pollOneoffLegacy(_ Env, _ api.Memory, stack []uint64) { ret(stack, errnoNosys) }
