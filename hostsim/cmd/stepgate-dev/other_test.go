package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

func TestFilterFlags(t *testing.T) {
	o, err := parseFlags([]string{"-preset", "stepgate"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c := o.cfg; c.Preset != devgateway.PresetStepgate || !c.AllowOnHeadersStopIteration || c.LogLevel != hostsim.LevelTrace {
		t.Errorf("-preset stepgate: %+v", c)
	}
	dir := t.TempDir()
	vm, tags := filepath.Join(dir, "vm"), filepath.Join(dir, "tags.yaml")
	os.WriteFile(vm, []byte("vm bytes"), 0o644)
	os.WriteFile(tags, []byte("stats_tags:\n- tag_name: a\n  regex: '(x)'\n"), 0o644)
	o, err = parseFlags([]string{"-preset", "stepgate", "-allow-on-headers-stop-iteration=false", "-name", "n",
		"-root-id", "r", "-vm-id", "v", "-vm-config", vm, "-fail-open", "-buffer-limit", "100", "-log-level", "warning",
		"-stats-tags", tags}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c := o.cfg; c.AllowOnHeadersStopIteration || c.PluginName != "n" || c.RootID != "r" || c.VMID != "v" ||
		string(c.VMConfig) != "vm bytes" || !c.FailOpen || c.BufferLimit != 100 || c.LogLevel != hostsim.LevelWarn || c.StatsTags == nil {
		t.Errorf("explicit flags: %+v", c)
	}
	for _, bad := range [][]string{
		{"-preset", "istio"},
		{"-log-level", "loud"},
		{"-buffer-limit", "-1"},
		{"-vm-config", filepath.Join(dir, "none")},
		{"-stats-tags", vm},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

// TestRunOtherPlugin runs a plugin that is not stepgate (hostsim's probe fixture) with no plugin
// configuration file: the gateway behaves as Envoy with a plain envoy.yaml does.
func TestRunOtherPlugin(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "probe.wasm")
	files := map[string]string{
		wasm:                     string(hostsimtest.Plugin(t, "probe")),
		filepath.Join(dir, "vm"): "vm-bytes",
		// The tag regex's first group leaves the name, its second is the value.
		filepath.Join(dir, "tags.json"): `{"stats_config":{"stats_tags":[{"tag_name":"what","regex":"^wasmcustom\\.probe(_(requests))$"}]}}`,
	}
	for name, data := range files {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, stop := runGateway(t, "admin on", "-wasm", wasm, "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0",
		"-name", "my_plugin", "-root-id", "my_root", "-vm-id", "my_vm", "-vm-config", filepath.Join(dir, "vm"),
		"-stats-tags", filepath.Join(dir, "tags.json"))
	defer stop()
	if strings.Contains(stdout, "stepgate") || !strings.Contains(stdout, `dev gateway (hostsim): `+wasm+` with no plugin configuration`) {
		t.Errorf("banner:\n%s", stdout)
	}
	base := regexpFind(t, stdout, `listening on (\S+)`)
	admin := regexpFind(t, stdout, `admin on\s+(\S+)`)

	// No route: the router's plain 404, through the plugin's response callbacks.
	resp := get(t, base+"/anything", "props,raw")
	if resp.status != 404 || resp.body != "" || resp.header.Get("Content-Type") != "" || resp.header.Get("X-Probe-Resp") != "1" {
		t.Errorf("unrouted: %d %q %v", resp.status, resp.body, resp.header)
	}
	logs := stderr()
	for _, want := range []string{
		`[info][wasm] wasm log my_plugin my_root my_vm: probe: vm-start size=8 config="vm-bytes"`,
		`wasm log my_plugin my_root my_vm: probe: prop plugin_root_id="my_root" err=<nil>`,
		`probe: prop plugin_vm_id="my_vm" err=<nil>`,
		`probe: prop plugin_name="my_plugin" err=<nil>`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(logs, "probe: raw done\n") { // a debug line, below Envoy's default info
		t.Errorf("a debug line was printed at -log-level info:\n%s", logs)
	}

	prom := get(t, admin+"/stats/prometheus", "")
	if !strings.Contains(prom.body, "\nprobe{what=\"requests\"} 1\n") {
		t.Errorf("/stats/prometheus without the tag of -stats-tags:\n%s", prom.body)
	}
}

// TestRunHeadersStopHoldsTheBody: without -allow-on-headers-stop-iteration (Envoy's default), a
// plugin that pauses the request headers sees the body only once it resumes them.
func TestRunHeadersStopHoldsTheBody(t *testing.T) {
	dir := t.TempDir()
	wasm, config := filepath.Join(dir, "probe.wasm"), filepath.Join(dir, "probe.json")
	os.WriteFile(wasm, hostsimtest.Plugin(t, "probe"), 0o644)
	os.WriteFile(config, []byte(`{"tick_ms": 100}`), 0o644)
	stdout, stderr, stop := runGateway(t, "listening on", "-wasm", wasm, "-config", config, "-listen", "127.0.0.1:0", "-admin", "-")
	defer stop()
	base := regexpFind(t, stdout, `listening on (\S+)`)
	req, _ := http.NewRequest("POST", base+"/held", strings.NewReader("body"))
	req.Header.Set("x-probe", "resume-on-tick")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	logs := stderr()
	resumed, body := strings.Index(logs, "probe: tick resumed"), strings.Index(logs, "probe: req-body size=4")
	if resp.StatusCode != 404 || resumed < 0 || body < resumed {
		t.Errorf("status %d; the body reached the plugin before the headers resumed (or never):\n%s", resp.StatusCode, logs)
	}
}

// runGateway starts run with args and waits for ready in its banner. It returns the banner, a
// function reading the log so far, and one stopping the gateway.
func runGateway(t *testing.T, ready string, args ...string) (banner string, logs func() string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &stdout, &stderr, nil) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), ready) {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("no banner:\n%s", stderr.String())
		}
	}
	return stdout.String(), stderr.String, stop
}

type reply struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, url, probe string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if probe != "" {
		req.Header.Set("x-probe", probe)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func regexpFind(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, s)
	}
	return m[1]
}
