package devgateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// The gateway writes the filter's call records, and only them, to the call log file.
func TestCallLogFileHoldsTheCallRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.jsonl")
	g, _ := start(t, func(c *devgateway.Config) { c.CallLog = path })
	do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "hi"), "X-Request-Id", "call-1")
	do(t, "POST", g.URL()+"/v1/chat/completions", chat("no-such-model", "hi"), "X-Request-Id", "call-2")
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]gjson.Result{}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if !gjson.Valid(line) || !gjson.Get(line, "ts_ms").Exists() {
			t.Fatalf("not a call record: %q", line)
		}
		byID[gjson.Get(line, "request_id").Str] = gjson.Parse(line)
	}
	if r := byID["call-1"]; r.Get("status").Int() != 200 || r.Get("model").Str != "gpt-4o-mini" {
		t.Errorf("call-1 record %s", r.Raw)
	}
	if r := byID["call-2"]; r.Get("status").Int() != 404 || r.Get("error_type").Str != "client" {
		t.Errorf("call-2 record %s", r.Raw)
	}
	if len(byID) != 2 {
		t.Errorf("%d records, want 2:\n%s", len(byID), b)
	}
}
