package devgateway_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// /stats shows the process's memory and each worker VM's linear memory next to the plugin's
// metrics, in the text and JSON forms, and ?filter selects among them.
func TestStatsShowProcessAndVMMemory(t *testing.T) {
	g, _ := start(t, nil)
	if a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "hello")); a.status != 200 {
		t.Fatalf("chat: %d %s", a.status, a.body)
	}
	text := do(t, "GET", g.AdminURL()+"/stats", "").body
	for _, name := range []string{"server.memory_allocated", "server.memory_heap_size", "server.memory_physical_size",
		"hostsim.vm_memory_bytes", "hostsim.worker_0.vm_memory_bytes", "hostsim.worker_1.vm_memory_bytes"} {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: (\d+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("/stats has no %s line:\n%s", name, text)
		}
		if n, _ := strconv.ParseUint(m[1], 10, 64); n < 1<<20 {
			t.Errorf("%s = %d, want at least a MiB", name, n)
		}
	}
	if !strings.Contains(text, "hostsim.generations: 1\n") || !strings.Contains(text, "wasmcustom.stepgate_requests_total") {
		t.Errorf("/stats lacks the generation count or the plugin's metrics:\n%s", text)
	}

	js := do(t, "GET", g.AdminURL()+"/stats?format=json", "").body
	vm := gjson.Get(js, `stats.#(name=="hostsim.worker_0.vm_memory_bytes").value`)
	if vm.Uint() < 1<<20 {
		t.Errorf("JSON worker_0 memory = %v in %s", vm, js)
	}

	only := do(t, "GET", g.AdminURL()+"/stats?filter=worker_1", "").body
	if strings.TrimSpace(only) == "" || strings.Count(only, "\n") != 1 || !strings.HasPrefix(only, "hostsim.worker_1.vm_memory_bytes: ") {
		t.Errorf("/stats?filter=worker_1 = %q", only)
	}
}
