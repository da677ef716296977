package hostsim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
)

// wasmFn is a function type: parameter and result value types (0x7f i32, 0x7e i64).
type wasmFn struct{ params, results []byte }

type wasmImport struct {
	module, name string
	typ          int
}

type wasmExport struct {
	name string
	typ  int    // a local function of this type, returning zeros
	code []byte // or this body (instructions, without locals and the final end)
}

// buildModule hand-assembles a module with the given function imports and exported local
// functions, and an exported memory.
func buildModule(types []wasmFn, imports []wasmImport, exports []wasmExport) []byte {
	uleb := func(b []byte, v uint32) []byte {
		for {
			c := byte(v & 0x7f)
			v >>= 7
			if v != 0 {
				b = append(b, c|0x80)
				continue
			}
			return append(b, c)
		}
	}
	name := func(b []byte, s string) []byte { return append(uleb(b, uint32(len(s))), s...) }
	section := func(out []byte, id byte, body []byte) []byte {
		return append(uleb(append(out, id), uint32(len(body))), body...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	var ts []byte
	ts = uleb(ts, uint32(len(types)))
	for _, t := range types {
		ts = append(ts, 0x60)
		ts = append(uleb(ts, uint32(len(t.params))), t.params...)
		ts = append(uleb(ts, uint32(len(t.results))), t.results...)
	}
	out = section(out, 1, ts)
	var is []byte
	is = uleb(is, uint32(len(imports)))
	for _, im := range imports {
		is = name(name(is, im.module), im.name)
		is = uleb(append(is, 0x00), uint32(im.typ))
	}
	out = section(out, 2, is)
	var fs []byte
	fs = uleb(fs, uint32(len(exports)))
	for _, e := range exports {
		fs = uleb(fs, uint32(e.typ))
	}
	out = section(out, 3, fs)
	out = section(out, 5, []byte{1, 0, 1}) // one memory, min 1 page
	var es []byte
	es = uleb(es, uint32(len(exports)+1))
	for i, e := range exports {
		es = uleb(append(name(es, e.name), 0x00), uint32(len(imports)+i))
	}
	es = append(name(es, "memory"), 0x02, 0)
	out = section(out, 7, es)
	var cs []byte
	cs = uleb(cs, uint32(len(exports)))
	for _, e := range exports {
		body := []byte{0} // no locals
		body = append(body, e.code...)
		for _, r := range types[e.typ].results {
			if r == 0x7e {
				body = append(body, 0x42, 0)
			} else {
				body = append(body, 0x41, 0)
			}
		}
		body = append(body, 0x0b)
		cs = append(uleb(cs, uint32(len(body))), body...)
	}
	return section(out, 10, cs)
}

var (
	void        = wasmFn{}
	i32ToI32    = wasmFn{[]byte{0x7f}, []byte{0x7f}}
	abiMarker   = wasmExport{name: "proxy_abi_version_0_2_0", typ: 0}
	allocator   = wasmExport{name: "proxy_on_memory_allocate", typ: 1}
	minimalFns  = []wasmFn{void, i32ToI32, {[]byte{0x7f, 0x7f, 0x7f}, []byte{0x7f}}, {[]byte{0x7f, 0x7f, 0x7f, 0x7f}, []byte{0x7f}}}
	noCacheDisk = func(c *hostsim.Config) { c.CompilationCacheDir = "-" }
)

func TestModuleLoadRefusals(t *testing.T) {
	tests := []struct {
		name   string
		module []byte
		want   string
	}{
		{"unknown host function", buildModule(minimalFns,
			[]wasmImport{{"env", "proxy_does_not_exist", 0}}, []wasmExport{abiMarker, allocator}),
			"failed to load Wasm module due to a missing import: env.proxy_does_not_exist"},
		{"unknown WASI function", buildModule(minimalFns,
			[]wasmImport{{"wasi_snapshot_preview1", "sock_open", 0}}, []wasmExport{abiMarker, allocator}),
			"missing import: wasi_snapshot_preview1.sock_open"},
		{"unknown module", buildModule(minimalFns,
			[]wasmImport{{"gojs", "runtime.ticks", 0}}, []wasmExport{abiMarker, allocator}),
			"missing import: gojs.runtime.ticks"},
		{"import with the wrong signature", buildModule(minimalFns,
			[]wasmImport{{"env", "proxy_log", 0}}, []wasmExport{abiMarker, allocator}),
			"import type mismatch: env.proxy_log, want: () -> (), but host exports: (i32, i32, i32) -> (i32)"},
		{"ABI 0.2.1 function in a 0.2.0 module", buildModule(minimalFns,
			[]wasmImport{{"env", "proxy_get_log_level", 1}}, []wasmExport{abiMarker, allocator}),
			"missing import: env.proxy_get_log_level"},
		{"no allocator", buildModule(minimalFns, nil, []wasmExport{abiMarker}),
			"missing malloc function"},
		{"no ABI marker", buildModule(minimalFns, nil, []wasmExport{allocator}),
			"missing or unknown Proxy-Wasm ABI version"},
		{"callback with the wrong signature", buildModule(minimalFns, nil,
			[]wasmExport{abiMarker, allocator, {name: "proxy_on_request_headers", typ: 1}}),
			"bad function signature for: proxy_on_request_headers, want: (i32, i32, i32) -> (i32), but the module exports: (i32) -> (i32)"},
		{"not wasm", []byte("hello, world"), "not a WebAssembly binary module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := hostsim.Config{Module: tt.module}
			noCacheDisk(&cfg)
			_, err := hostsim.New(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// A module that imports nothing and exports the ABI marker and an allocator loads; the 0.2.1
// marker brings proxy_get_log_level.
func TestMinimalModulesLoad(t *testing.T) {
	for _, marker := range []string{"proxy_abi_version_0_2_0", "proxy_abi_version_0_2_1"} {
		imports := []wasmImport{{"env", "proxy_log", 2}, {"wasi_unstable", "fd_write", 3}}
		if marker == "proxy_abi_version_0_2_1" {
			imports = append(imports, wasmImport{"env", "proxy_get_log_level", 1})
		}
		cfg := hostsim.Config{Module: buildModule(minimalFns, imports, []wasmExport{{name: marker}, {name: "malloc", typ: 1}})}
		noCacheDisk(&cfg)
		h, err := hostsim.New(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", marker, err)
		}
		s := h.NewStream()
		wantEqual(t, "no callbacks: continue", s.SendRequestHeaders(hostsim.Headers{{":path", "/"}}, true), hostsim.Continue)
		h.Close(context.Background())
	}
}

// cpp-host restricts what a module may call while it starts: a proxy-wasm call from
// _initialize traps ("restricted_callback") and the module fails to load, while logging is fine.
func TestStartRestrictsHostCalls(t *testing.T) {
	types := append(minimalFns, wasmFn{[]byte{0x7f}, []byte{0x7f}})
	callImport := func(args ...byte) []byte { // push args as i32.const, call import 0, drop
		var code []byte
		for _, a := range args {
			code = append(code, 0x41, a)
		}
		return append(code, 0x10, 0x00, 0x1a)
	}
	tick := buildModule(types, []wasmImport{{"env", "proxy_set_tick_period_milliseconds", 1}},
		[]wasmExport{abiMarker, allocator, {name: "_initialize", typ: 0, code: callImport(5)}})
	cfg := hostsim.Config{Module: tick}
	noCacheDisk(&cfg)
	_, err := hostsim.New(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "restricted_callback: env.proxy_set_tick_period_milliseconds") {
		t.Fatalf("err = %v", err)
	}
	logs := buildModule(types, []wasmImport{{"env", "proxy_log", 2}},
		[]wasmExport{abiMarker, allocator, {name: "_initialize", typ: 0, code: callImport(2, 0, 0)}})
	cfg = hostsim.Config{Module: logs}
	noCacheDisk(&cfg)
	h, err := hostsim.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("logging at start refused: %v", err)
	}
	h.Close(context.Background())
}
