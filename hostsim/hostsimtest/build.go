package hostsimtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// builds remembers every module built by this process, by output name, so that each is built
// once however many tests ask for it.
var builds struct {
	sync.Mutex
	m map[string]*build
}

type build struct {
	once sync.Once
	wasm []byte
	err  error
}

func once(key string, make func() ([]byte, error)) ([]byte, error) {
	builds.Lock()
	if builds.m == nil {
		builds.m = map[string]*build{}
	}
	b := builds.m[key]
	if b == nil {
		b = &build{}
		builds.m[key] = b
	}
	builds.Unlock()
	b.once.Do(func() { b.wasm, b.err = make() })
	return b.wasm, b.err
}

func must(t testing.TB, wasm []byte, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// Build compiles the main package in dir (a plugin using //go:wasmexport, no SDK) with
// `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`, once per test binary, and returns the
// module's bytes. dir belongs to whatever module holds it; its go.mod decides dependencies.
func Build(t testing.TB, dir string) []byte {
	t.Helper()
	wasm, err := Compile(dir)
	return must(t, wasm, err)
}

// Compile is Build for code without a testing.TB (examples, TestMain).
func Compile(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return once("plain:"+abs, func() ([]byte, error) {
		out := scratch("plain", abs)
		defer os.Remove(out)
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir = abs
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		return run(cmd, out)
	})
}

// BuildSDK compiles the proxy-wasm-go-sdk plugin in dir with stepgate's SDK bridge
// (plugin/sdkbridge/build.sh), once per test binary. dir may sit in another module with its
// own go.mod and dependencies: the bridge builds it with a copy of that go.mod. The bridge is
// found in the stepgate repository above the working directory, or at STEPGATE_SDKBRIDGE.
func BuildSDK(t testing.TB, dir string) []byte {
	t.Helper()
	wasm, err := CompileSDK(dir)
	return must(t, wasm, err)
}

// CompileSDK is BuildSDK for code without a testing.TB.
func CompileSDK(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return once("sdk:"+abs, func() ([]byte, error) {
		script := os.Getenv("STEPGATE_SDKBRIDGE")
		if script == "" {
			root, err := repoRoot()
			if err != nil {
				return nil, fmt.Errorf("hostsimtest: %w (set STEPGATE_SDKBRIDGE to plugin/sdkbridge/build.sh)", err)
			}
			script = filepath.Join(root, "plugin", "sdkbridge", "build.sh")
		}
		out := scratch("sdk", abs)
		defer os.Remove(out)
		return run(exec.Command(script, abs, out), out)
	})
}

// Plugin returns test plugin name of this repository (hostsim/testdata/plugins/<name>, an SDK
// plugin), built with the bridge into build/testplugins/<name>.wasm once per test binary.
func Plugin(t testing.TB, name string) []byte {
	t.Helper()
	wasm, err := once("fixture:"+name, func() ([]byte, error) {
		return bridgeBuild("./hostsim/testdata/plugins/"+name, filepath.Join("build", "testplugins", name+".wasm"))
	})
	return must(t, wasm, err)
}

// Stepgate returns the stepgate filter (./plugin), built once per test binary into
// build/stepgate.wasm. STEPGATE_TEST_WASM=path uses a prebuilt module instead.
func Stepgate(t testing.TB) []byte {
	t.Helper()
	wasm, err := once("stepgate", func() ([]byte, error) {
		if path := os.Getenv("STEPGATE_TEST_WASM"); path != "" {
			return os.ReadFile(path)
		}
		return bridgeBuild("./plugin", filepath.Join("build", "stepgate.wasm"))
	})
	return must(t, wasm, err)
}

// bridgeBuild builds package pkg of this repository with the SDK bridge into a file private
// to this process, then renames it to out (relative to the repository root), so that test
// binaries building the same module at the same time never read half a file.
func bridgeBuild(pkg, out string) ([]byte, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	out = filepath.Join(root, out)
	tmp := filepath.Join(filepath.Dir(out), fmt.Sprintf(".%s-%d.wasm", filepath.Base(out), os.Getpid()))
	cmd := exec.Command(filepath.Join(root, "plugin", "sdkbridge", "build.sh"), pkg, tmp)
	cmd.Dir = root
	wasm, err := run(cmd, tmp)
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return wasm, os.Rename(tmp, out)
}

func run(cmd *exec.Cmd, out string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("hostsimtest: %s: %v\n%s", cmd.String(), err, msg)
	}
	return os.ReadFile(out)
}

// scratch names a file private to this process for a module that has no home in a
// repository; it is removed once read.
func scratch(kind, dir string) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("hostsimtest-%s-%s-%d.wasm", kind, filepath.Base(dir), os.Getpid()))
}

// RepoRoot is the directory holding stepgate's go.mod, above the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(b, []byte("module github.com/stepgate/stepgate\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("hostsimtest: no go.mod of the stepgate module above the working directory")
		}
		dir = parent
	}
}
