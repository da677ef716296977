package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// Where the suite finds a gateway that it did not start itself (docker compose's Envoy).
const (
	envAddr  = "STEPGATE_E2E_ADDR"  // e.g. http://127.0.0.1:10000
	envAdmin = "STEPGATE_E2E_ADMIN" // e.g. http://127.0.0.1:9901 (default when envAddr is set)
)

// clientKey is the credential every client of the suite sends: the demo key of envoy/stepgate.json,
// whose consumer entry holds only its hash. The filter must never forward it.
const clientKey = "sg-demo-key-0123456789abcdef"

// gateway is a running stepgate: the dev gateway this test binary started, or an Envoy outside.
type gateway struct {
	URL      string // base URL of the listener, no trailing slash
	AdminURL string // base URL of the admin listener
	// host is the in-process proxy-wasm host (nil against Envoy): its logs and metrics.
	host  *hostsim.Host
	mocks mocks
}

// external reports whether the suite runs against a gateway it did not start.
func external() bool { return os.Getenv(envAddr) != "" }

// needsInProcess skips a test that needs the dev gateway's internals or its own configuration.
func needsInProcess(t *testing.T, why string) {
	t.Helper()
	if external() {
		t.Skipf("needs the in-process dev gateway (%s); %s points at an external gateway", why, envAddr)
	}
}

// filterWasm is the filter built once per test binary (hostsimtest.Stepgate: renamed into
// place whole, so concurrent test binaries never read a half-written module);
// STEPGATE_TEST_WASM=path uses a prebuilt module instead.
func filterWasm(t testing.TB) []byte { return hostsimtest.Stepgate(t) }

// exampleConfig is envoy/stepgate.json, the configuration docker compose's Envoy runs.
func exampleConfig(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "envoy", "stepgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startGateway starts a dev gateway of its own with config for this test (closed at its end).
// Against an external gateway the test is skipped: its configuration is not ours to choose.
func startGateway(t *testing.T, config []byte) *gateway {
	t.Helper()
	needsInProcess(t, "its own plugin configuration")
	g, stop, err := startDev(t, config)
	if err != nil {
		t.Fatalf("starting the dev gateway: %v", err)
	}
	t.Cleanup(stop)
	return g
}

// The gateway running envoy/stepgate.json, shared by the tests that only need the example
// configuration; TestMain stops it.
var shared struct {
	mu   sync.Mutex
	g    *gateway
	stop func()
}

func exampleGateway(t *testing.T) *gateway {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.g != nil {
		return shared.g
	}
	if addr := os.Getenv(envAddr); addr != "" {
		admin := os.Getenv(envAdmin)
		if admin == "" {
			admin = "http://127.0.0.1:9901"
		}
		shared.g = &gateway{URL: strings.TrimSuffix(addr, "/"), AdminURL: strings.TrimSuffix(admin, "/"),
			mocks: composeMocks()}
		return shared.g
	}
	g, stop, err := startDev(t, exampleConfig(t))
	if err != nil {
		t.Fatalf("starting the dev gateway: %v", err)
	}
	shared.g, shared.stop = g, stop
	return g
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.stop != nil {
		shared.stop()
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// providerKeys returns the credentials config gives provider (api_key and api_keys).
func providerKeys(config []byte, provider string) []string {
	p := gjson.GetBytes(config, "providers."+gjson.Escape(provider))
	var keys []string
	if k := p.Get("api_key"); k.Exists() {
		keys = append(keys, k.String())
	}
	for _, k := range p.Get("api_keys").Array() {
		keys = append(keys, k.String())
	}
	return keys
}

// allProviderKeys is every provider credential in config, for "never logged" checks: keys,
// and the AWS secrets a Bedrock provider signs with (never sent at all).
func allProviderKeys(config []byte) []string {
	var keys []string
	gjson.GetBytes(config, "providers").ForEach(func(name, p gjson.Result) bool {
		keys = append(keys, providerKeys(config, name.String())...)
		for _, f := range []string{"secret_access_key", "session_token"} {
			if s := p.Get(f).Str; s != "" {
				keys = append(keys, s)
			}
		}
		return true
	})
	return keys
}

var nonces atomic.Int64

// nonce returns a string that names the test and is unique to this run (the process id sets
// runs apart against a long-lived external gateway), to put in a prompt and find that prompt
// among the requests the mocks recorded: tests share the mocks.
func nonce(t *testing.T) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("%s#%d.%d", name, os.Getpid()%100000, nonces.Add(1))
}

// httpClient reaches the admin listener and the mocks' control endpoints.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// eventually polls cond until it holds or the deadline passes: the filter writes its call log
// and metrics when the stream ends, which can be just after the client read the last byte.
func eventually(t *testing.T, within time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsonEqual reports whether two JSON texts hold the same value (key order and spacing aside).
func jsonEqual(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
