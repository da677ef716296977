package devgateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// repoRoot is the directory of the repository's go.mod.
func repoRoot(t testing.TB) string { return hostsimtest.RepoRoot(t) }

// filterWasm is the real filter (./plugin) built once per test binary (hostsimtest.Stepgate),
// so the tests never run a stale module; STEPGATE_TEST_WASM=path uses a prebuilt module instead
// (while plugin/ does not build, say).
func filterWasm(t testing.TB) []byte { return hostsimtest.Stepgate(t) }

// exampleConfig is envoy/stepgate.json, the dev gateway's default configuration.
func exampleConfig(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "envoy", "stepgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logBuffer collects the gateway's log lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// start runs a gateway with the real filter and the mocks on loopback ports; adjust tweaks the
// configuration.
func start(t *testing.T, adjust func(*devgateway.Config)) (*devgateway.Gateway, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := devgateway.Config{
		Module:       filterWasm(t),
		PluginConfig: exampleConfig(t),
		Listen:       "127.0.0.1:0",
		AdminListen:  "127.0.0.1:0",
		Mock:         true,
		Logf:         logs.logf,

		AllowOnHeadersStopIteration: true,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	g, err := devgateway.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs)
		}
	})
	return g, logs
}

var client = &http.Client{Timeout: 30 * time.Second}

// demoAuth is the credential of envoy/stepgate.json's demo consumer (only its hash is in the file;
// stepgate-dev -hash-key makes the entry). Every request of these tests sends it.
const demoAuth = "Bearer sg-demo-key-0123456789abcdef"

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t testing.TB, method, url, body string, header ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", demoAuth)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func chat(model, text string) string {
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]}`, model, text)
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
