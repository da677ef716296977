package hostsim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

func abiPlugin(t *testing.T, adjust func(*hostsim.Config)) (*hostsim.Host, *hostsim.VirtualClock) {
	t.Helper()
	cfg := hostsim.Config{Module: hostsimtest.Build(t, "testdata/plugins/abi"),
		PluginName: "my_plugin", RootID: "my_root", VMID: "my_vm"}
	if adjust != nil {
		adjust(&cfg)
	}
	return hostsimtest.Start(t, cfg)
}

// Envoy's default wasm log level is info: debug lines are never written.
func TestLogLevel(t *testing.T) {
	all, _ := abiPlugin(t, nil)
	hostsimtest.Send(all, hostsimtest.Exchange{Path: "/a"})
	hostsimtest.WantLog(t, all, "abi: request GET /a", "abi: debug line")

	info, _ := abiPlugin(t, func(c *hostsim.Config) { c.LogLevel = hostsim.LevelInfo })
	hostsimtest.Send(info, hostsimtest.Exchange{Path: "/a"})
	hostsimtest.WantLog(t, info, "abi: request GET /a")
	hostsimtest.NoLog(t, info, "abi: debug line")
}

// Each line carries the host clock's time, and LogLine prints it as Envoy does.
func TestLogLine(t *testing.T) {
	h, vc := abiPlugin(t, nil)
	vc.Advance(1500 * time.Millisecond)
	hostsimtest.Send(h, hostsimtest.Exchange{Path: "/a"})
	e := h.Logs(hostsim.LevelInfo)[0]
	wantEqual(t, "time", e.Time, hostsimtest.Epoch.Add(1500*time.Millisecond))
	wantEqual(t, "line", h.LogLine(e), "[2026-01-02 03:04:06.500][info][wasm] wasm log my_plugin my_root my_vm: abi: request GET /a")

	e.Level, e.Message = hostsim.LevelWarn, "x"
	wantEqual(t, "warning, no names", hostsim.FormatLogLine(e, "", "r", ""), "[2026-01-02 03:04:06.500][warning][wasm] wasm log r: x")
	e.Host, e.Message = true, "Wasm VM failed"
	wantEqual(t, "host line", hostsim.FormatLogLine(e, "p", "r", "v"), "[2026-01-02 03:04:06.500][warning][wasm] Wasm VM failed")
}

// Envoy's router adds x-envoy-upstream-service-time before the filters see the response; the
// connection manager sets server: envoy on everything the client gets, replacing the
// upstream's.
func TestProxyEnvoyResponseHeaders(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("server", "upstream/1.0")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	h, _ := abiPlugin(t, func(c *hostsim.Config) {
		c.Clusters = map[string]string{"backend": up.URL}
		c.Clock = hostsim.RealClock()
	})
	front := httptest.NewServer(&hostsim.Proxy{Host: h, DefaultCluster: "backend", ErrorLog: quiet})
	t.Cleanup(front.Close)
	resp, err := http.Get(front.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantEqual(t, "server", resp.Header.Get("server"), "envoy")
	if v := resp.Header.Get("x-envoy-upstream-service-time"); !regexp.MustCompile(`^\d+$`).MatchString(v) {
		t.Fatalf("x-envoy-upstream-service-time = %q, want milliseconds", v)
	}
	hostsimtest.WantLog(t, h, "abi: upstream service time ")
}

// A local reply never reached an upstream: server: envoy, no upstream service time.
func TestProxyLocalReplyServerHeader(t *testing.T) {
	_, url := proxyFixture(t, http.NotFoundHandler(), nil)
	resp, _ := do(t, "GET", url+"/x", "local-reply=req-headers", "")
	wantEqual(t, "server", resp.Header.Get("server"), "envoy")
	wantEqual(t, "upstream service time", resp.Header.Get("x-envoy-upstream-service-time"), "")
}
