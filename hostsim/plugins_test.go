package hostsim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// Two http filters of one module on one vm_id share each worker's VM, each on its own root
// context (ids 1 and 2): each is configured on its own, ticks on its own, and its streams'
// contexts are created with its root id, as proxy-wasm-go-sdk's dispatch_call_on_tick example
// shows with its two filters.
func TestSeveralPluginsOnOneVM(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(up.Close)
	h, vc := conform(t, "headers dispatch-tick", func(c *hostsim.Config) {
		c.RootID, c.PluginName = "a", "first"
		c.Plugins = []hostsim.Plugin{{Name: "second", RootID: "b", Config: []byte("postpone dispatch-tick")}}
		c.Clusters = map[string]string{"backend": up.URL}
	})

	a := hostsimtest.Send(h, hostsimtest.Exchange{Path: "/a"})
	wantEqual(t, "first plugin edits headers", a.Upstream().Headers.Get("x-conform"), "1")
	wantEqual(t, "first stream's context create", a.Callbacks()[0].String(), "proxy_on_context_create(3, 1)")

	b := hostsimtest.Send(h, hostsimtest.Exchange{Path: "/b"}, hostsim.WithPlugin("b"))
	wantEqual(t, "second stream's context create", b.Callbacks()[0].String(), "proxy_on_context_create(4, 2)")
	wantEqual(t, "second plugin postpones", b.RequestPaused(), true)
	wantEqual(t, "second plugin does not edit headers", b.Upstream().Headers == nil, true)

	vc.Advance(time.Second)
	if err := h.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "second plugin's tick resumed its stream", b.Upstream().Headers.Get(":path"), "/b")
	answered := map[string]int{}
	for _, e := range h.Logs() {
		if strings.Contains(e.Message, "tick call answered") {
			answered[e.RootID]++
		}
		if strings.Contains(e.Message, "resumed") && e.RootID != "b" {
			t.Errorf("line %q from root %q", e.Message, e.RootID)
		}
	}
	wantEqual(t, "ticks per root", len(answered), 2)
	var line string
	for _, e := range h.Logs() {
		if e.RootID == "b" && strings.Contains(e.Message, "postponed") {
			line = h.LogLine(e)
		}
	}
	if !strings.HasSuffix(line, "wasm log second b conform: conform: postponed 4") {
		t.Fatalf("log line %q", line)
	}
}

func TestSeveralPluginsRefuseARepeatedRootID(t *testing.T) {
	_, err := hostsim.New(context.Background(), hostsim.Config{Module: hostsimtest.Plugin(t, "conform"), RootID: "a",
		Plugins: []hostsim.Plugin{{RootID: "a"}}})
	if err == nil || !strings.Contains(err.Error(), `root_id "a" is already used`) {
		t.Fatalf("New = %v", err)
	}
}
