package hostsim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/wasi"
)

// An engine is a wazero runtime with Envoy's host modules for one ABI version and WASI
// flavour. Engines are shared by every Host of the process: host functions find their VM
// through the call's context, so one runtime serves many Hosts, and a module is compiled once
// per process (and, with the on-disk cache, once per machine).
type engine struct {
	rt       wazero.Runtime
	legacy   bool
	provided map[string]abi.Signature // "module.name" of every host function
	start    map[string]map[string]bool
	alloc    map[string]map[string]bool
	// callNames names the host functions by the id each call is counted under ("env.proxy_log",
	// "wasi_snapshot_preview1.clock_time_get", ...).
	callNames []string

	mu       sync.Mutex
	compiled map[[32]byte]wazero.CompiledModule
}

type engineKey struct {
	version  abi.Version
	legacy   bool
	cacheDir string
}

var engines = struct {
	sync.Mutex
	m      map[engineKey]*engine
	caches map[string]wazero.CompilationCache
}{m: map[engineKey]*engine{}, caches: map[string]wazero.CompilationCache{}}

// runtimeConfig is every engine's wazero configuration: the compiler, and wazero's defaults
// for the rest (docs/BENCHMARKS.md has what the other settings were measured to cost).
var runtimeConfig = wazero.NewRuntimeConfigCompiler

type vmKey struct{}

func vmOf(ctx context.Context) *vm { return ctx.Value(vmKey{}).(*vm) }

func getEngine(key engineKey) (*engine, error) {
	engines.Lock()
	defer engines.Unlock()
	if e := engines.m[key]; e != nil {
		return e, nil
	}
	rc := runtimeConfig()
	if key.cacheDir != "" && key.cacheDir != "-" {
		cache := engines.caches[key.cacheDir]
		if cache == nil {
			if err := os.MkdirAll(key.cacheDir, 0o755); err != nil {
				return nil, fmt.Errorf("hostsim: compilation cache: %w", err)
			}
			c, err := wazero.NewCompilationCacheWithDir(key.cacheDir)
			if err != nil {
				return nil, fmt.Errorf("hostsim: compilation cache: %w", err)
			}
			cache = c
			engines.caches[key.cacheDir] = cache
		}
		rc = rc.WithCompilationCache(cache)
	}
	ctx := context.Background()
	e := &engine{
		rt:       wazero.NewRuntimeWithConfig(ctx, rc),
		legacy:   key.legacy,
		provided: map[string]abi.Signature{},
		compiled: map[[32]byte]wazero.CompiledModule{},
	}
	if err := abi.Instantiate(ctx, e.rt, key.version, 0, func(ctx context.Context) abi.Handler { return vmOf(ctx) }); err != nil {
		return nil, err
	}
	first := len(abi.Funcs(key.version))
	if err := wasi.Instantiate(ctx, e.rt, key.legacy, first, func(ctx context.Context) wasi.Env { return vmOf(ctx) }); err != nil {
		return nil, err
	}
	// The same order as the ids Instantiate counts under.
	for _, f := range abi.Funcs(key.version) {
		e.provided["env."+f.Name] = abi.Signature{Params: f.Params, Results: f.Results}
		e.callNames = append(e.callNames, "env."+f.Name)
	}
	for _, m := range wasi.Modules {
		for _, f := range wasi.Funcs(key.legacy) {
			e.provided[m+"."+f.Name] = abi.Signature{Params: f.Params, Results: f.Results}
			e.callNames = append(e.callNames, m+"."+f.Name)
		}
	}
	e.start = allowSet([]string{"emscripten_notify_memory_growth", "proxy_log"}, wasi.StartAllowed(key.legacy))
	e.alloc = allowSet([]string{"proxy_log"}, wasi.AllocAllowed(key.legacy))
	engines.m[key] = e
	return e, nil
}

// allowSet builds cpp-host's restricted-callback lists: env names plus WASI names under both
// WASI module names.
func allowSet(env, wasiNames []string) map[string]map[string]bool {
	set := map[string]map[string]bool{"env": {}}
	for _, n := range env {
		set["env"][n] = true
	}
	for _, m := range wasi.Modules {
		set[m] = map[string]bool{}
		for _, n := range wasiNames {
			set[m][n] = true
		}
	}
	return set
}

func (e *engine) compile(ctx context.Context, wasm []byte) (wazero.CompiledModule, error) {
	sum := sha256.Sum256(wasm)
	e.mu.Lock()
	defer e.mu.Unlock()
	if cm := e.compiled[sum]; cm != nil {
		return cm, nil
	}
	cm, err := e.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("hostsim: failed to load Wasm bytecode: %w", err)
	}
	e.compiled[sum] = cm
	return cm, nil
}

// check refuses a module the way Envoy's loader does: every import must be a host function
// Envoy provides, with the same signature, and every callback cpp-host looks up must have the
// signature it expects.
func (e *engine) check(m abi.Module, cm wazero.CompiledModule) error {
	for _, imp := range m.Imports {
		if imp.Kind != abi.KindFunc {
			// Envoy creates imported memories and tables and refuses globals; hostsim
			// supports neither.
			return fmt.Errorf("hostsim: failed to load Wasm module due to a missing import: %s.%s (%s imports are not supported)",
				imp.Module, imp.Name, imp.Kind)
		}
	}
	for _, f := range cm.ImportedFunctions() {
		module, name, _ := f.Import()
		want, ok := e.provided[module+"."+name]
		if !ok {
			return fmt.Errorf("hostsim: failed to load Wasm module due to a missing import: %s.%s", module, name)
		}
		if !sameTypes(f.ParamTypes(), want.Params) || !sameTypes(f.ResultTypes(), want.Results) {
			return fmt.Errorf("hostsim: failed to load Wasm module due to an import type mismatch: %s.%s, want: %s -> %s, but host exports: %s -> %s",
				module, name, typeList(f.ParamTypes()), typeList(f.ResultTypes()), typeList(want.Params), typeList(want.Results))
		}
	}
	if err := httpFilter(m); err != nil {
		return err
	}
	for name, f := range cm.ExportedFunctions() {
		want, ok := abi.Callbacks[name]
		if !ok {
			continue
		}
		if !sameTypes(f.ParamTypes(), want.Params) || !sameTypes(f.ResultTypes(), want.Results) {
			return fmt.Errorf("hostsim: bad function signature for: %s, want: %s -> %s, but the module exports: %s -> %s",
				name, typeList(want.Params), typeList(want.Results), typeList(f.ParamTypes()), typeList(f.ResultTypes()))
		}
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
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

func typeList(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// The callbacks only a network (TCP) filter needs, and those only an HTTP filter needs.
var (
	networkCallbacks = []string{"proxy_on_new_connection", "proxy_on_downstream_data",
		"proxy_on_upstream_data", "proxy_on_downstream_connection_close", "proxy_on_upstream_connection_close"}
	httpCallbacks = []string{"proxy_on_request_headers", "proxy_on_request_body",
		"proxy_on_request_trailers", "proxy_on_response_headers", "proxy_on_response_body",
		"proxy_on_response_trailers"}
)

// httpFilter refuses a module that is a network (TCP) filter: one exporting L4 callbacks and
// no HTTP callback. Envoy would load it as envoy.filters.network.wasm; hostsim drives only
// the HTTP filter's callbacks, so the module would load and never see a byte. Modules that
// export both sets (every SDK build does) are accepted: the plugin decides per context.
func httpFilter(m abi.Module) error {
	var l4 []string
	for _, name := range networkCallbacks {
		if exportsFunc(m, name) {
			l4 = append(l4, name)
		}
	}
	if len(l4) == 0 {
		return nil
	}
	for _, name := range httpCallbacks {
		if exportsFunc(m, name) {
			return nil
		}
	}
	return fmt.Errorf("hostsim: the module is a network (TCP) filter (it exports %s and no HTTP callback such as proxy_on_request_headers): hostsim runs HTTP filters (envoy.filters.http.wasm) only",
		strings.Join(l4, ", "))
}

func exportsFunc(m abi.Module, name string) bool {
	k, ok := m.Exports[name]
	return ok && k == abi.KindFunc
}
