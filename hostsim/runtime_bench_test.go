package hostsim

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// The wazero settings hostsim could run the filter with, measured on the real module:
// compiling it, starting a host (base VM, configuration canary, one worker), and one
// headers-only request through one request-counting rule. docs/BENCHMARKS.md records them.

var runtimeVariants = []struct {
	name   string
	config func() wazero.RuntimeConfig
}{
	{"compiler", wazero.NewRuntimeConfigCompiler},
	{"compiler-no-debug-info", func() wazero.RuntimeConfig {
		return wazero.NewRuntimeConfigCompiler().WithDebugInfoEnabled(false)
	}},
	{"compiler-close-on-context-done", func() wazero.RuntimeConfig {
		return wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true)
	}},
	{"interpreter", wazero.NewRuntimeConfigInterpreter},
}

// stepgateModule is build/stepgate.wasm (make wasm), or STEPGATE_TEST_WASM.
func stepgateModule(b *testing.B) []byte {
	path := os.Getenv("STEPGATE_TEST_WASM")
	if path == "" {
		path = filepath.Join("..", "build", "stepgate.wasm")
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("no filter module (run make wasm): %v", err)
	}
	return wasm
}

// withRuntime makes the hosts the benchmark starts use config, in engines of their own.
func withRuntime(b *testing.B, config func() wazero.RuntimeConfig) {
	engines.Lock()
	savedEngines, savedConfig := engines.m, runtimeConfig
	engines.m, runtimeConfig = map[engineKey]*engine{}, config
	engines.Unlock()
	b.Cleanup(func() {
		engines.Lock()
		engines.m, runtimeConfig = savedEngines, savedConfig
		engines.Unlock()
	})
}

// BenchmarkCompileModule compiles the filter without any cache.
func BenchmarkCompileModule(b *testing.B) {
	wasm := stepgateModule(b)
	ctx := context.Background()
	for _, v := range runtimeVariants {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rt := wazero.NewRuntimeWithConfig(ctx, v.config())
				if _, err := rt.CompileModule(ctx, wasm); err != nil {
					b.Fatal(err)
				}
				rt.Close(ctx)
			}
		})
	}
	// What a host pays once the on-disk cache (Config.CompilationCacheDir) holds the module.
	b.Run("compiler-file-cache-hit", func(b *testing.B) {
		cache, err := wazero.NewCompilationCacheWithDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		config := wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache)
		compile := func() {
			rt := wazero.NewRuntimeWithConfig(ctx, config)
			if _, err := rt.CompileModule(ctx, wasm); err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
		compile()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			compile()
		}
	})
}

// BenchmarkStartHost starts and closes a host on a module compiled once: the VMs'
// instantiation, start functions and plugin start.
func BenchmarkStartHost(b *testing.B) {
	wasm := stepgateModule(b)
	ctx := context.Background()
	for _, v := range runtimeVariants {
		b.Run(v.name, func(b *testing.B) {
			withRuntime(b, v.config)
			cfg := Config{Module: wasm, PluginConfig: []byte(ruleConfig), CompilationCacheDir: "-"}
			if h, err := New(ctx, cfg); err == nil { // compiles the module
				h.Close(ctx)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h, err := New(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				h.Close(ctx)
			}
		})
	}
}

// BenchmarkRuntimeRequest is plugin.BenchmarkRequest's one-rule case under each setting.
func BenchmarkRuntimeRequest(b *testing.B) {
	wasm := stepgateModule(b)
	ctx := context.Background()
	req := Headers{{":method", "GET"}, {":path", "/api/items"}, {":authority", "example.com"},
		{"x-request-id", "r"}, {"authorization", "Bearer k"}}
	resp := Headers{{":status", "200"}, {"content-type", "application/json"}}
	for _, v := range runtimeVariants {
		b.Run(v.name, func(b *testing.B) {
			withRuntime(b, v.config)
			clock := NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			h, err := New(ctx, Config{Module: wasm, PluginConfig: []byte(ruleConfig), Clock: clock,
				AllowOnHeadersStopIteration: true, CompilationCacheDir: "-"})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(ctx)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clock.Advance(time.Millisecond)
				s := h.NewStream()
				s.SendRequestHeaders(req, true)
				if s.LocalReply() != nil {
					b.Fatal("answered locally")
				}
				s.SendResponseHeaders(resp, true)
			}
		})
	}
}

const ruleConfig = `{"log":{"access_log":false},"throttle":{"rules":[{"name":"rps","rate":"1000/s","burst":100}]}}`
