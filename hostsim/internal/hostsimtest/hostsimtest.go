// Package hostsimtest holds hostsim's shared test helpers: finding the repository root and
// building the purpose-built test plugins under hostsim/testdata/plugins with the project's
// SDK bridge (plugin/sdkbridge/build.sh), once per test binary.
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

// RepoRoot is the directory holding the repository's go.mod.
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
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && isStepgate(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("hostsimtest: no go.mod of the stepgate module above the working directory")
		}
		dir = parent
	}
}

func isStepgate(gomod []byte) bool {
	return bytes.Contains(gomod, []byte("module github.com/stepgate/stepgate\n"))
}

var builds struct {
	sync.Mutex
	m map[string]*build
}

type build struct {
	once sync.Once
	wasm []byte
	err  error
}

// Plugin returns the bytes of test plugin name (hostsim/testdata/plugins/<name>), building it
// into build/testplugins/<name>.wasm the first time it is asked for in this process.
func Plugin(t testing.TB, name string) []byte {
	t.Helper()
	builds.Lock()
	if builds.m == nil {
		builds.m = map[string]*build{}
	}
	b := builds.m[name]
	if b == nil {
		b = &build{}
		builds.m[name] = b
	}
	builds.Unlock()
	b.once.Do(func() { b.wasm, b.err = buildPlugin(name) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.wasm
}

func buildPlugin(name string) ([]byte, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	pkg := "./hostsim/testdata/plugins/" + name
	out := filepath.Join(root, "build", "testplugins", name+".wasm")
	cmd := exec.Command(filepath.Join(root, "plugin", "sdkbridge", "build.sh"), pkg, out)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("hostsimtest: building %s: %v\n%s", pkg, err, msg)
	}
	return os.ReadFile(out)
}
