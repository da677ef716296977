package hostsim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

func TestStdoutIsInfoStderrIsError(t *testing.T) {
	h, _ := newProbe(t, nil)
	h.NewStream().SendRequestHeaders(request("stdio"), true)
	var out, errs []string
	for _, e := range h.Logs() {
		switch e.Message {
		case "to stdout":
			out = append(out, e.Level.String())
		case "to stderr":
			errs = append(errs, e.Level.String())
		}
	}
	wantStrings(t, "stdout", out, []string{"info"})
	wantStrings(t, "stderr", errs, []string{"error"})
}

// Current Envoy answers poll_oneoff with success and no events, so a Go plugin that sleeps
// survives (it spins until the clock passes the deadline: use the real clock).
func TestSleepingPluginSurvivesCurrentEnvoy(t *testing.T) {
	h, err := hostsim.New(context.Background(), hostsim.Config{Module: hostsimtest.Plugin(t, "probe")})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	s := h.NewStream()
	wantEqual(t, "continues", s.SendRequestHeaders(request("sleep"), true), hostsim.Continue)
	findLog(t, h, "slept")
}

// Envoy releases between cpp-host PR #427 and #533 answer poll_oneoff with ENOSYS: the Go
// runtime throws as soon as it polls, which fails the VM and the stream.
func TestLegacyWASIPollOneoffKillsASleepingPlugin(t *testing.T) {
	h, err := hostsim.New(context.Background(), hostsim.Config{Module: hostsimtest.Plugin(t, "probe"), LegacyWASI: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	healthy := h.NewStream()
	wantEqual(t, "a plugin that does not poll works", healthy.SendRequestHeaders(request(""), true), hostsim.Continue)
	s := h.NewStream()
	s.SendRequestHeaders(request("sleep"), true)
	wantEqual(t, "503", s.Downstream().Headers.Get(":status"), "503")
	wantEqual(t, "vm failed", h.Failed(0), true)
	var stderr []string
	for _, e := range h.Logs(hostsim.LevelError) {
		stderr = append(stderr, e.Message)
	}
	if !strings.Contains(strings.Join(stderr, ""), "poll_oneoff") {
		t.Fatalf("no poll_oneoff failure in the error log:\n%s", strings.Join(stderr, "\n"))
	}
}

func TestVirtualClockDrivesWallAndMonotonicTime(t *testing.T) {
	vc := hostsim.NewVirtualClock(epoch)
	m0 := vc.Monotonic()
	if m0 == 0 {
		t.Fatal("monotonic time starts at zero (the Go runtime refuses that)")
	}
	vc.Advance(1500 * time.Millisecond)
	wantEqual(t, "wall", vc.Now(), epoch.Add(1500*time.Millisecond))
	wantEqual(t, "monotonic", vc.Monotonic()-m0, 1500*time.Millisecond)
}
