package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
	"github.com/stepgate/stepgate/plugin/governance"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// A plain envoy.yaml's defaults.
	if o.wasm != "build/stepgate.wasm" || o.config != "" || !o.reload ||
		o.cfg.Listen != "127.0.0.1:10000" || o.cfg.AdminListen != "127.0.0.1:9901" || o.cfg.Workers != 2 ||
		o.cfg.Mock || o.cfg.AllowOnHeadersStopIteration || len(o.cfg.Clusters) != 0 ||
		o.cfg.Preset != devgateway.PresetEnvoy || o.cfg.LogLevel != hostsim.LevelInfo || o.cfg.PluginName != "" {
		t.Errorf("defaults: %+v", o)
	}

	o, err = parseFlags([]string{
		"-wasm", "x.wasm", "-config", "c.json", "-listen", "127.0.0.1:0", "-admin", "-", "-workers", "4",
		"-cluster", "provider_a=http://127.0.0.1:8081/", "-cluster", "backend=https://example.com",
		"-default-cluster", "backend", "-mock", "-access-log", "-reload=false",
		"-allow-on-headers-stop-iteration=false",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if o.wasm != "x.wasm" || o.config != "c.json" || o.reload || c.Listen != "127.0.0.1:0" || c.AdminListen != "-" ||
		c.Workers != 4 || c.Clusters["provider_a"] != "http://127.0.0.1:8081" || c.Clusters["backend"] != "https://example.com" ||
		c.DefaultCluster != "backend" || !c.Mock || !c.AccessLog || c.AllowOnHeadersStopIteration {
		t.Errorf("parsed: %+v %+v", o, c)
	}

	o, err = parseFlags([]string{"-call-log", "build/calls.jsonl", "-call-log-max-mb", "5"}, io.Discard)
	if err != nil || o.cfg.CallLog != "build/calls.jsonl" || o.cfg.CallLogMaxBytes != 5<<20 {
		t.Errorf("call log flags: %v %+v", err, o)
	}

	for _, bad := range [][]string{
		{"-call-log-max-mb", "0"},
		{"-cluster", "nourl"},
		{"-cluster", "a=ftp://x"},
		{"-cluster", "=http://x"},
		{"-workers", "0"},
		{"-default-cluster", "missing"},
		{"extra"},
		{"-nope"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestTimeoutFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c := o.cfg; c.StreamIdleTimeout != 300*time.Second || c.RouteTimeout != 0 || c.RequestTimeout != 0 {
		t.Errorf("defaults: idle %v route %v request %v, want envoy.yaml's 300s, none, none", c.StreamIdleTimeout, c.RouteTimeout, c.RequestTimeout)
	}
	o, err = parseFlags([]string{"-stream-idle-timeout", "0", "-route-timeout", "20s",
		"-route-timeout", "provider_openai=1m", "-route-timeout", "provider_ollama=0", "-request-timeout", "30s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.StreamIdleTimeout >= 0 || c.RouteTimeout != 20*time.Second || c.RequestTimeout != 30*time.Second ||
		c.RouteTimeouts["provider_openai"] != time.Minute || c.RouteTimeouts["provider_ollama"] >= 0 {
		t.Errorf("parsed: idle %v route %v %v request %v", c.StreamIdleTimeout, c.RouteTimeout, c.RouteTimeouts, c.RequestTimeout)
	}
	for _, bad := range [][]string{{"-route-timeout", "soon"}, {"-route-timeout", "=1s"}, {"-stream-idle-timeout", "-1s"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestChatModel(t *testing.T) {
	tests := []struct{ config, want string }{
		{`{"models":{"routes":{"a":{},"gpt-4o-mini":{}}}}`, "gpt-4o-mini"},
		{`{"models":{"routes":{"gpt-*":{},"llama":{}}}}`, "llama"},
		{`{}`, ""},
	}
	for _, tt := range tests {
		if got := chatModel([]byte(tt.config)); got != tt.want {
			t.Errorf("chatModel(%s) = %q, want %q", tt.config, got, tt.want)
		}
	}
}

func TestRunMissingWasmSaysHowToBuildIt(t *testing.T) {
	err := run(context.Background(), []string{"-wasm", filepath.Join(t.TempDir(), "none.wasm")}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "make wasm") {
		t.Errorf("run = %v, want a hint to run make wasm", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesWhatItPrints(t *testing.T) {
	wasm := filterWasm(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	hup := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-wasm", wasm, "-config", filepath.Join("..", "..", "..", "envoy", "stepgate.json"),
			"-preset", "stepgate", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-mock"}, &stdout, &stderr, hup)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "And throttling") {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s\n%s", err, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := stdout.String()
	t.Logf("banner:\n%s", out)
	for _, want := range []string{"listening on http://127.0.0.1:", "admin on", "mock providers on", "provider_mock_openai", `"model":"gpt-4o-mini"`, "xargs -P 20"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q", want)
		}
	}

	// The printed curl line, done with net/http.
	// envoy/stepgate.json requires a key: the line sends the demo key.
	m := regexp.MustCompile(`curl -s (\S+) -H 'authorization: Bearer ([^']+)' -H 'content-type: application/json' -d '([^']+)'`).FindStringSubmatch(out)
	if m == nil || m[2] != DemoKey {
		t.Fatal("no chat curl line with the demo key in the banner")
	}
	req, _ := http.NewRequest("POST", m[1], strings.NewReader(m[3]))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("authorization", "Bearer "+m[2])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || gjson.GetBytes(body, "choices.0.message.content").Str != "mock reply to: hello" {
		t.Errorf("the printed chat completion: %d %s", resp.StatusCode, body)
	}

	// The MCP route and the printed refused tool call.
	if !strings.Contains(out, "demo: http://127.0.0.1:") || !strings.Contains(out, "/mcp/demo  (the demo server") {
		t.Errorf("banner lacks the demo MCP server")
	}
	m = regexp.MustCompile(`curl -s (\S+) -H 'content-type: application/json' -H 'accept: ([^']+)' -d '([^']+)'`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no MCP curl line in the banner")
	}
	req, _ = http.NewRequest("POST", m[1], strings.NewReader(m[3]))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("accept", m[2])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || gjson.GetBytes(body, "error.code").Int() != -32030 {
		t.Errorf("the printed MCP call: %d %s", resp.StatusCode, body)
	}

	hup <- syscall.SIGHUP
	for !strings.Contains(stderr.String(), "SIGHUP: configuration reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload on SIGHUP:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
	if !strings.Contains(stdout.String(), "draining") {
		t.Errorf("no drain message:\n%s", stdout.String())
	}
}

var filterBuild struct {
	once sync.Once
	dir  string // a private copy of the module lives here until the tests end
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if filterBuild.dir != "" {
		os.RemoveAll(filterBuild.dir)
	}
	os.Exit(code)
}

// filterWasm returns the path of a private copy of the real filter (built once per test
// binary by hostsimtest.Stepgate), a file no other test binary can rewrite while run reads it.
// STEPGATE_TEST_WASM=path uses a prebuilt module instead.
func filterWasm(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("STEPGATE_TEST_WASM"); path != "" {
		return path
	}
	wasm := hostsimtest.Stepgate(t)
	filterBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "stepgate-dev-test")
		if err == nil {
			filterBuild.dir, filterBuild.path = dir, filepath.Join(dir, "stepgate.wasm")
			err = os.WriteFile(filterBuild.path, wasm, 0o644)
		}
		filterBuild.err = err
	})
	if filterBuild.err != nil {
		t.Fatal(filterBuild.err)
	}
	return filterBuild.path
}

func TestHashKey(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-hash-key", DemoKey, "-key-id", "demo-key"}, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(out.String())
	if line != `{"id": "demo-key", "sha256": "993c04d0a86fc62ed9469e086cae9cfce8608983c5f9930133220de9f88a9f58"}` {
		t.Errorf("hash line %s", line)
	}
	// envoy/stepgate.json holds that very entry, so the printed commands work against it.
	example, err := os.ReadFile(filepath.Join("..", "..", "..", "envoy", "stepgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), gjson.Get(line, "sha256").Str) || demoAuth(example) == "" {
		t.Error("envoy/stepgate.json does not hold the demo key's hash")
	}
	out.Reset()
	if err := run(context.Background(), []string{"-hash-key", "new"}, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	key := lines[0][strings.LastIndexByte(lines[0], ' ')+1:]
	if len(lines) != 2 || !strings.Contains(lines[1], `"sha256": "`+governance.Hash(key)+`"`) {
		t.Errorf("new key output %q", out.String())
	}
}
