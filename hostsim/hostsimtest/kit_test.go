package hostsimtest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// The shape of a plugin author's test: build, start on a virtual clock, send, assert.
func TestKit(t *testing.T) {
	h, vc := hostsimtest.Start(t, hostsim.Config{Module: hostsimtest.Build(t, "../testdata/plugins/abi"), LogLevel: hostsim.LevelInfo})
	vc.Advance(time.Minute)
	s := hostsimtest.Send(h, hostsimtest.Exchange{Path: "/v1/models", ResponseBody: []byte("{}")})
	if got := s.Downstream().Headers.Get("x-abi"); got != "response" {
		t.Errorf("x-abi = %q", got)
	}
	if !s.Done() || string(s.Downstream().Body) != "{}" {
		t.Errorf("done %v, body %q", s.Done(), s.Downstream().Body)
	}
	hostsimtest.WantLog(t, h, "abi: request GET /v1/models")
	hostsimtest.NoLog(t, h, "abi: debug line")
	if e := h.Logs()[0]; !e.Time.Equal(hostsimtest.Epoch.Add(time.Minute)) {
		t.Errorf("log time %v", e.Time)
	}
}

// A paused request comes back from Send unanswered; the virtual clock's tick resumes it and
// Respond finishes it.
func TestSendPausedThenRespond(t *testing.T) {
	h, vc := hostsimtest.Start(t, hostsim.Config{Module: hostsimtest.Plugin(t, "probe"), PluginConfig: []byte(`{"tick_ms": 5}`)})
	x := hostsimtest.Exchange{Path: "/p", Headers: hostsim.Headers{{"x-probe", "resume-on-tick"}}, ResponseBody: []byte("ok")}
	s := hostsimtest.Send(h, x)
	if s.Done() || s.Upstream().Headers != nil {
		t.Fatalf("Send did not stop at the paused request: done %v, upstream %v", s.Done(), s.Upstream().Headers)
	}
	vc.Advance(5 * time.Millisecond)
	if s.Upstream().Headers.Get(":path") != "/p" {
		t.Fatalf("the tick did not resume the request")
	}
	hostsimtest.Respond(s, x)
	if !s.Done() || string(s.Downstream().Body) != "ok" {
		t.Fatalf("done %v, body %q", s.Done(), s.Downstream().Body)
	}
}

// STEPGATE_TEST_WASM names a prebuilt filter that Stepgate returns instead of building one
// (the result is kept for the rest of the test binary, so no other test here asks for it).
func TestStepgateHonoursPrebuiltModule(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prebuilt.wasm")
	if err := os.WriteFile(path, []byte("prebuilt"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STEPGATE_TEST_WASM", path)
	if got := string(hostsimtest.Stepgate(t)); got != "prebuilt" {
		t.Fatalf("Stepgate = %q", got)
	}
}
