package main

import (
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
)

// log.level drops the filter's own diagnostic lines below it; the call record, an info-level
// line too, is governed by log.access_log alone.
func TestLogLevelDropsDiagnosticLinesButNotTheCallRecord(t *testing.T) {
	tests := []struct {
		config     string
		wantLoaded bool // the info-level "configuration loaded" line
	}{
		{`{}`, true},
		{`{"log":{"level":"info"}}`, true},
		{`{"log":{"level":"debug"}}`, true},
		{`{"log":{"level":"warn"}}`, false},
		{`{"log":{"level":"critical"}}`, false},
	}
	for _, tt := range tests {
		h, _ := startFilter(t, tt.config, 1)
		loaded := false
		for _, e := range h.Logs() {
			if strings.Contains(e.Message, "configuration loaded") {
				loaded = true
				if e.Level != hostsim.LevelInfo {
					t.Errorf("config %s: %q logged at %v, want info", tt.config, e.Message, e.Level)
				}
			}
		}
		if loaded != tt.wantLoaded {
			t.Errorf("config %s: configuration loaded line = %v, want %v; logs %v", tt.config, loaded, tt.wantLoaded, h.Logs())
		}
		s := h.NewStream()
		s.SendRequestHeaders(get("/healthz", [2]string{"x-request-id", "r-level"}), true)
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-length", "0"}}, true)
		callRecord(t, h, "r-level")
	}
}
