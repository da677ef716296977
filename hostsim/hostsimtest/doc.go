// Package hostsimtest is hostsim's test kit: it builds proxy-wasm plugins once per test binary,
// starts a hostsim.Host on a virtual clock that closes with the test, sends whole HTTP
// exchanges through a stream, and asserts the plugin's log lines. It is public so that
// plugin authors outside this repository test their own modules the way hostsim tests
// itself, as wazero's experimental/wazerotest serves wazero's users.
//
// Build compiles a plugin written straight against the ABI (//go:wasmimport and
// //go:wasmexport, no SDK) with plain `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`.
// BuildSDK compiles a proxy-wasm-go-sdk plugin, in this module or another one, through
// stepgate's SDK bridge (plugin/sdkbridge/build.sh). Plugin and Stepgate build this
// repository's own test plugins and filter. Golden compares output with a golden file under
// testdata, or rewrites it when the test package's -update flag is set.
package hostsimtest
