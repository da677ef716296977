package envoy_test

import (
	"context"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// hostFunctions is what proxy-wasm-cpp-host registers for a module, by import name, as of cpp-host
// f2db56a, Envoy main's pin since PR #45756 (include/proxy-wasm/exports.h FOR_ALL_WASI_FUNCTIONS and
// FOR_ALL_HOST_FUNCTIONS, src/wasm.cc registerCallbacks; docs/DEPLOY.md says how that maps to
// releases). A module that imports anything else fails to load in Envoy ("Failed to load Wasm
// module due to a missing import").
var hostFunctions = struct {
	wasi, env, abi020, abi021 []string
}{
	wasi: []string{
		"fd_write", "fd_read", "fd_seek", "fd_close", "fd_fdstat_get", "fd_fdstat_set_flags",
		"fd_fdstat_set_rights", "environ_get", "environ_sizes_get", "args_get", "args_sizes_get",
		"clock_time_get", "clock_res_get", "fd_advise", "fd_allocate", "fd_datasync",
		"fd_filestat_set_size", "fd_filestat_set_times", "fd_pread", "fd_pwrite", "fd_readdir",
		"fd_renumber", "fd_sync", "fd_tell", "path_create_directory", "path_filestat_set_times",
		"path_link", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
		"path_unlink_file", "sock_accept", "sock_recv", "sock_send", "sock_shutdown", "random_get",
		"sched_yield", "poll_oneoff", "proc_exit", "path_open", "fd_prestat_get",
		"fd_prestat_dir_name", "path_filestat_get", "fd_filestat_get",
	},
	env: []string{
		"pthread_equal", "emscripten_notify_memory_growth",
		"proxy_log", "proxy_get_status", "proxy_set_property", "proxy_get_property",
		"proxy_send_local_response", "proxy_get_shared_data", "proxy_set_shared_data",
		"proxy_register_shared_queue", "proxy_resolve_shared_queue", "proxy_dequeue_shared_queue",
		"proxy_enqueue_shared_queue", "proxy_get_header_map_value", "proxy_add_header_map_value",
		"proxy_replace_header_map_value", "proxy_remove_header_map_value",
		"proxy_get_header_map_pairs", "proxy_set_header_map_pairs", "proxy_get_header_map_size",
		"proxy_get_buffer_status", "proxy_get_buffer_bytes", "proxy_set_buffer_bytes",
		"proxy_http_call", "proxy_grpc_call", "proxy_grpc_stream", "proxy_grpc_close",
		"proxy_grpc_cancel", "proxy_grpc_send", "proxy_set_tick_period_milliseconds",
		"proxy_get_current_time_nanoseconds", "proxy_define_metric", "proxy_increment_metric",
		"proxy_record_metric", "proxy_get_metric", "proxy_set_effective_context", "proxy_done",
		"proxy_call_foreign_function",
	},
	abi020: []string{"proxy_continue_stream", "proxy_close_stream"},
	abi021: []string{"proxy_continue_stream", "proxy_close_stream", "proxy_get_log_level"},
}

// TestWasmModuleLoadsInPinnedEnvoy: every function build/stepgate.wasm imports is provided by the
// pinned Envoy's proxy-wasm host, for the ABI version the module declares, and the module has the
// exports Envoy starts it with. Run `make wasm` first (`make test` does); the test skips without it.
func TestWasmModuleLoadsInPinnedEnvoy(t *testing.T) {
	wasmFile := path.Join("..", makefileOut(t))
	bin, err := os.ReadFile(wasmFile)
	if os.IsNotExist(err) {
		t.Skipf("%s not built; run make wasm", wasmFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	m, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatalf("%s: %v", wasmFile, err)
	}
	exports := m.ExportedFunctions()
	var abi []string
	switch {
	case exports["proxy_abi_version_0_2_1"] != nil:
		abi = hostFunctions.abi021
	case exports["proxy_abi_version_0_2_0"] != nil:
		abi = hostFunctions.abi020
	default:
		t.Fatal("the module exports no proxy_abi_version_0_2_x marker; Envoy would not know its ABI")
	}
	if exports["_initialize"] == nil {
		t.Error("no _initialize export: a Go reactor must export it (Envoy runs it at VM start)")
	}
	if exports["malloc"] == nil && exports["proxy_on_memory_allocate"] == nil {
		t.Error("neither malloc nor proxy_on_memory_allocate is exported: Envoy refuses the module")
	}
	var wasi []string
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case "wasi_snapshot_preview1", "wasi_unstable":
			if !slices.Contains(hostFunctions.wasi, name) {
				t.Errorf("imports %s.%s, which Envoy's proxy-wasm host does not provide", mod, name)
			}
			wasi = append(wasi, name)
		case "env":
			if !slices.Contains(hostFunctions.env, name) && !slices.Contains(abi, name) {
				t.Errorf("imports env.%s, which Envoy's proxy-wasm host does not provide for this ABI version", name)
			}
		default:
			t.Errorf("imports %s.%s from a module Envoy does not provide", mod, name)
		}
	}
	// The reason for the Envoy version pin: Go's runtime polls through poll_oneoff.
	if slices.Contains(wasi, "poll_oneoff") {
		if !versionAtLeast(strings.TrimPrefix(strings.SplitN(loadCompose(t).Services["envoy"].Image, ":", 2)[1], "v"), minEnvoyVersion) {
			t.Errorf("the module imports poll_oneoff; Envoy before v%s answers it with ENOSYS", minEnvoyVersion)
		}
	}
	t.Logf("%s imports WASI %v", wasmFile, wasi)
}

// restricted lists the only WASI calls the same cpp-host lets a module make while it starts
// (src/wasm.cc startVm, around _initialize) and while it allocates memory for the host
// (include/proxy-wasm/wasm.h allocMemory, around malloc or proxy_on_memory_allocate); any other
// call there traps with "restricted_callback" and fails the VM. sched_yield is in neither: Go's
// runtime calls it only while a goroutine waits on a note (os/signal, the CPU profiler), and
// TestWasmPhasesCallOnlyAllowedWASI checks that the module keeps to these lists.
var restricted = struct{ start, allocate []string }{
	start: []string{
		"fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get", "clock_time_get",
		"clock_res_get", "random_get", "poll_oneoff", "fd_fdstat_get", "fd_fdstat_set_flags",
		"fd_advise", "fd_allocate", "fd_datasync", "fd_fdstat_set_rights", "fd_filestat_get",
		"fd_filestat_set_size", "fd_filestat_set_times", "fd_pread", "fd_prestat_dir_name",
		"fd_prestat_get", "fd_pwrite", "fd_readdir", "fd_renumber", "fd_sync", "fd_tell",
		"path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link",
		"path_readlink", "path_remove_directory", "path_rename", "path_symlink", "path_unlink_file",
		"sock_accept", "sock_recv", "sock_send", "sock_shutdown",
	},
	allocate: []string{"fd_write", "clock_time_get", "poll_oneoff"},
}
