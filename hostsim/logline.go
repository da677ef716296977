package hostsim

import (
	"strings"
)

// LogLine formats e as Envoy writes it, so that greps and log tooling written for Envoy work
// on hostsim's logs: Envoy's default format "[%Y-%m-%d %T.%e][%l][%n] %v" (without its thread
// id and source location) with the wasm logger's prefix for the plugin's own lines, for
// example
//
//	[2026-01-02 03:04:05.000][info][wasm] wasm log my_plugin my_root my_vm: hello
//
// Lines the host wrote about the plugin (Host set) have no "wasm log" prefix.
func (h *Host) LogLine(e LogEntry) string {
	name := h.cfg.PluginName
	for _, p := range h.plugins {
		if p.RootID == e.RootID {
			name = p.Name
		}
	}
	return FormatLogLine(e, name, e.RootID, h.cfg.VMID)
}

// FormatLogLine is LogLine for a plugin named pluginName with root_id rootID on vm_id vmID.
// As in proxy-wasm-cpp-host, empty names are left out of the prefix.
func FormatLogLine(e LogEntry, pluginName, rootID, vmID string) string {
	var b strings.Builder
	b.Grow(64 + len(e.Message))
	b.WriteByte('[')
	b.WriteString(e.Time.Format("2006-01-02 15:04:05.000"))
	b.WriteString("][")
	b.WriteString(spdlogLevel(e.Level))
	b.WriteString("][wasm] ")
	if !e.Host {
		b.WriteString("wasm log")
		for _, part := range [...]string{pluginName, rootID, vmID} {
			if part != "" {
				b.WriteByte(' ')
				b.WriteString(part)
			}
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// spdlogLevel is the level name Envoy's logger (spdlog) prints.
func spdlogLevel(l LogLevel) string {
	if l == LevelWarn {
		return "warning"
	}
	return l.String()
}
