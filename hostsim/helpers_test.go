package hostsim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newProbe starts the probe plugin on a virtual clock; adjust tweaks the configuration.
func newProbe(t *testing.T, adjust func(*hostsim.Config)) (*hostsim.Host, *hostsim.VirtualClock) {
	t.Helper()
	vc := hostsim.NewVirtualClock(epoch)
	cfg := hostsim.Config{
		Module:     hostsimtest.Plugin(t, "probe"),
		PluginName: "probe", RootID: "probe_root", VMID: "probe_vm",
		Clock: vc,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	h, err := hostsim.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return h, vc
}

// request is a GET with the given probe directives.
func request(probe string, extra ...[2]string) hostsim.Headers {
	h := hostsim.Headers{
		{":method", "GET"}, {":scheme", "http"}, {":path", "/v1/models?limit=2"},
		{":authority", "api.example.com"}, {"x-request-id", "req-1"}, {"x-probe", probe},
	}
	return append(h, extra...)
}

// probeLogs are the plugin's "probe: ..." lines, without the prefix.
func probeLogs(h *hostsim.Host) []string {
	var out []string
	for _, e := range h.Logs() {
		if m, ok := strings.CutPrefix(e.Message, "probe: "); ok {
			out = append(out, m)
		}
	}
	return out
}

// findLog returns the first probe line starting with prefix.
func findLog(t *testing.T, h *hostsim.Host, prefix string) string {
	t.Helper()
	for _, l := range probeLogs(h) {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no probe log line starting with %q; have:\n%s", prefix, strings.Join(probeLogs(h), "\n"))
	return ""
}

func names(cbs []hostsim.Callback) []string {
	out := make([]string, len(cbs))
	for i, c := range cbs {
		out[i] = c.String()
	}
	return out
}

func wantEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// How the SDK prints host statuses.
const (
	errBad      = "error status returned by host: bad argument"
	errNotFound = "error status returned by host: not found"
)
