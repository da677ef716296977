package devgateway

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strconv"

	"github.com/tidwall/sjson"
)

// Server stats: the gateway process's memory and its VMs' linear memory, next to the plugin's
// metrics on /stats, so that a soak run sees what the VMs hold and not only the process's RSS.
// The server.memory_* names are Envoy's; hostsim.* are the dev gateway's own.

// ServerStat is one server statistic of /stats.
type ServerStat struct {
	Name  string
	Value uint64
}

// ServerStats reports the Go heap (server.memory_allocated: live objects, including the VMs'
// linear memories; server.memory_heap_size: what the heap holds from the OS), the process's
// resident set (server.memory_physical_size, where the OS tells), the plugin configurations
// running, and each worker VM's linear memory in the current one and in all of them.
func (g *Gateway) ServerStats() []ServerStat {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out := []ServerStat{
		{"server.memory_allocated", ms.HeapAlloc},
		{"server.memory_heap_size", ms.HeapSys},
	}
	if rss, ok := residentBytes(); ok {
		out = append(out, ServerStat{"server.memory_physical_size", rss})
	}
	g.mu.Lock()
	cur, live := g.cur, append([]*generation(nil), g.live...)
	g.mu.Unlock()
	var total uint64
	for _, gen := range live {
		for _, n := range gen.host.MemorySizes() {
			total += n
		}
	}
	out = append(out, ServerStat{"hostsim.generations", uint64(len(live))},
		ServerStat{"hostsim.active_streams", uint64(cur.host.ActiveStreams())},
		ServerStat{"hostsim.vm_memory_bytes", total})
	for i, n := range cur.host.MemorySizes() {
		out = append(out, ServerStat{fmt.Sprintf("hostsim.worker_%d.vm_memory_bytes", i), n})
	}
	return out
}

// residentBytes is the process's resident set size, from /proc on Linux.
func residentBytes() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}

// serverStats are the server stats /stats?filter= selects (all without a filter).
func (g *Gateway) serverStats(filter string) []ServerStat {
	re, err := regexp.Compile(filter)
	if err != nil {
		return nil // selectMetrics already answered 400
	}
	var out []ServerStat
	for _, s := range g.ServerStats() {
		if re.MatchString(s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// writeServerStats appends the server stats to /stats' text form.
func writeServerStats(w io.Writer, stats []ServerStat) {
	for _, s := range stats {
		fmt.Fprintf(w, "%s: %d\n", s.Name, s.Value)
	}
}

// withServerStats appends the server stats to /stats?format=json's list.
func withServerStats(doc []byte, stats []ServerStat) []byte {
	for _, s := range stats {
		doc, _ = sjson.SetBytes(doc, "stats.-1", map[string]any{"name": s.Name, "value": s.Value})
	}
	return doc
}
