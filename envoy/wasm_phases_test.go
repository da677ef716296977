package envoy_test

import (
	"context"
	"os"
	"path"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// wasiRecorder records which host functions (WASI and env) the module calls, by phase, as
// "module.function".
type wasiRecorder struct {
	mu    sync.Mutex
	phase string
	calls map[string]map[string]bool // phase -> function
}

func (r *wasiRecorder) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.ModuleName() != wasi_snapshot_preview1.ModuleName && def.ModuleName() != "env" {
		return nil
	}
	return r
}

func (r *wasiRecorder) Before(_ context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls[r.phase] == nil {
		r.calls[r.phase] = map[string]bool{}
	}
	r.calls[r.phase][def.ModuleName()+"."+def.Name()] = true
}

func (r *wasiRecorder) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}

func (r *wasiRecorder) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}

func (r *wasiRecorder) called(phase string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for f := range r.calls[phase] {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// TestWasmPhasesCallOnlyAllowedWASI runs the built module's start (_initialize) and many large
// allocations through proxy_on_memory_allocate (enough to make Go collect garbage inside them),
// records every host call it makes in each phase, and checks each against what the pinned
// cpp-host allows there (restricted): a call outside those lists traps in Envoy and fails the VM.
// The proxy-wasm imports are stubs answering 0: these two phases do not depend on them. Run
// `make wasm` first (`make test` does); the test skips without the module.
func TestWasmPhasesCallOnlyAllowedWASI(t *testing.T) {
	wasmFile := path.Join("..", makefileOut(t))
	bin, err := os.ReadFile(wasmFile)
	if os.IsNotExist(err) {
		t.Skipf("%s not built; run make wasm", wasmFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	rec := &wasiRecorder{calls: map[string]map[string]bool{}}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), rec)
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	m, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	env := r.NewHostModuleBuilder("env")
	for _, f := range m.ImportedFunctions() {
		if mod, name, _ := f.Import(); mod == "env" {
			results := f.ResultTypes()
			env.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
				for i := range results {
					stack[i] = 0 // proxy-wasm OK, and zero results
				}
			}), f.ParamTypes(), results).Export(name)
		}
	}
	if _, err := env.Instantiate(ctx); err != nil { // with ctx: the recorder sees these calls too
		t.Fatal(err)
	}
	rec.phase = "start"
	mod, err := r.InstantiateModule(ctx, m, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatalf("_initialize: %v", err)
	}
	alloc := mod.ExportedFunction("proxy_on_memory_allocate")
	if alloc == nil {
		t.Fatal("no proxy_on_memory_allocate export")
	}
	rec.mu.Lock()
	rec.phase = "allocate"
	rec.mu.Unlock()
	for range 64 { // 64 × 1 MiB, far past the runtime's first GC goal
		if _, err := alloc.Call(ctx, 1<<20); err != nil {
			t.Fatalf("proxy_on_memory_allocate: %v", err)
		}
	}
	for phase, wasi := range map[string][]string{"start": restricted.start, "allocate": restricted.allocate} {
		// proxy_log is allowed in both phases, emscripten_notify_memory_growth at start.
		allowed := []string{"env.proxy_log"}
		if phase == "start" {
			allowed = append(allowed, "env.emscripten_notify_memory_growth")
		}
		for _, f := range wasi {
			allowed = append(allowed, wasi_snapshot_preview1.ModuleName+"."+f)
		}
		calls := rec.called(phase)
		for _, c := range calls {
			if !slices.Contains(allowed, c) {
				t.Errorf("during %s the module calls %s, which cpp-host does not allow there (allowed: %v)", phase, c, allowed)
			}
		}
		t.Logf("WASI calls during %s: %v", phase, calls)
	}
}
