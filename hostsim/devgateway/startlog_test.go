package devgateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tidwall/sjson"

	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// The plugin starts on a canary and on every worker VM, but the gateway prints each start-up
// line once per load, and a refused configuration's error once (in the refusal).
func TestStartLinesPrintOncePerLoad(t *testing.T) {
	g, logs := start(t, nil)
	if n := strings.Count(logs.String(), "configuration loaded"); n != 1 {
		t.Fatalf("%d \"configuration loaded\" lines at start, want 1:\n%s", n, logs)
	}
	next, _ := sjson.SetBytes(g.PluginConfig(), "log.level", "debug")
	if err := g.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "configuration loaded"); n != 2 {
		t.Fatalf("%d \"configuration loaded\" lines after a reload, want 2:\n%s", n, logs)
	}
	bad, _ := sjson.SetBytes(next, "throttle.rules.0.rate", "0/s")
	err := g.Reload(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "throttle.rules[0].rate") {
		t.Fatalf("Reload = %v, want the plugin's error", err)
	}
	if strings.Contains(logs.String(), "throttle.rules[0].rate") {
		t.Errorf("the refused configuration's error was printed besides the refusal:\n%s", logs)
	}
}

// A JSON syntax error in the configuration is reported once, with its line and column.
func TestSyntaxErrorNamesLineAndColumn(t *testing.T) {
	logs := &logBuffer{}
	config := []byte("{\n  \"log\": {\"level\": \"info\"},\n  \"throttle\": {\"rules\": [}\n}\n")
	_, err := devgateway.Start(context.Background(), devgateway.Config{
		Module: filterWasm(t), PluginConfig: config, Listen: "127.0.0.1:0", AdminListen: "-", Logf: logs.logf,
	})
	if err == nil || strings.Count(err.Error(), "invalid JSON at line 3, column 26") != 1 {
		t.Fatalf("Start = %v, want one \"invalid JSON at line 3, column 26\"", err)
	}
	if strings.Contains(logs.String(), "invalid JSON") {
		t.Errorf("the error was printed besides Start's error:\n%s", logs)
	}
}
