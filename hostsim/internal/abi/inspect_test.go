package abi

import "testing"

// A module importing env.proxy_log, exporting memory and the 0.2.0 marker, built by hand.
var sample = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	// type section: (func (param i32 i32 i32) (result i32)), (func)
	0x01, 0x0b, 0x02, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00,
	// import section: env.proxy_log func type 0, env.mem memory {min 1}
	0x02, 0x1c, 0x02,
	0x03, 'e', 'n', 'v', 0x09, 'p', 'r', 'o', 'x', 'y', '_', 'l', 'o', 'g', 0x00, 0x00,
	0x03, 'e', 'n', 'v', 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01,
	// function section: one function of type 1
	0x03, 0x02, 0x01, 0x01,
	// export section: "proxy_abi_version_0_2_0" func 1
	0x07, 0x1b, 0x01, 0x17,
	'p', 'r', 'o', 'x', 'y', '_', 'a', 'b', 'i', '_', 'v', 'e', 'r', 's', 'i', 'o', 'n', '_', '0', '_', '2', '_', '0',
	0x00, 0x01,
	// code section: one empty body
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
}

func TestInspect(t *testing.T) {
	m, err := Inspect(sample)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != Version020 {
		t.Fatalf("version = %v", m.Version)
	}
	want := []Import{{"env", "proxy_log", KindFunc}, {"env", "mem", KindMemory}}
	if len(m.Imports) != 2 || m.Imports[0] != want[0] || m.Imports[1] != want[1] {
		t.Fatalf("imports = %+v", m.Imports)
	}
	if m.Exports["proxy_abi_version_0_2_0"] != KindFunc {
		t.Fatalf("exports = %v", m.Exports)
	}
}

func TestInspectRejectsCorrupt(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":     nil,
		"bad magic": []byte("\x00asx\x01\x00\x00\x00"),
		"truncated": sample[:len(sample)-3],
		"long size": append(append([]byte(nil), sample[:8]...), 0x01, 0xff, 0x01),
	} {
		if _, err := Inspect(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(sample)
	f.Add(sample[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		Inspect(b) // must not panic
	})
}
