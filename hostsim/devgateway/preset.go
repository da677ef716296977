package devgateway

import "fmt"

// Preset chooses the defaults of the settings a Config leaves at their zero value: the
// envoy.yaml the gateway stands for.
type Preset string

const (
	// PresetStepgate is stepgate's envoy/envoy.yaml (the library's default, for compatibility):
	// plugin name, root_id and vm_id "stepgate", a 5 MiB buffer limit, envoy.yaml's stats_tags,
	// its routes (x-stepgate-cluster picks provider_* and mcp_* clusters, internal x-stepgate-*
	// headers removed, a catch-all 404 with a JSON body) and the gateway's short log lines
	// ("[wasm][info] msg", every level).
	PresetStepgate Preset = "stepgate"
	// PresetEnvoy is a plain envoy.yaml with one wasm filter and one route: empty plugin name,
	// root_id and vm_id, Envoy's 1 MiB buffer limit, no stats_tags, every request to
	// DefaultCluster or else the router's plain 404 (no route), plugin log lines in Envoy's
	// shape ("[time][info][wasm] wasm log NAME ROOT_ID VM_ID: msg"). AllowOnHeadersStopIteration stays as set (Envoy's default is off).
	PresetEnvoy Preset = "envoy"
)

// stepgateName is envoy.yaml's config.name, root_id and vm_id.
const stepgateName = "stepgate"

// stepgateBufferLimit is envoy.yaml's per_connection_buffer_limit_bytes.
const stepgateBufferLimit = 5 << 20

// ParsePreset reads a preset's name.
func ParsePreset(s string) (Preset, error) {
	switch p := Preset(s); p {
	case PresetStepgate, PresetEnvoy:
		return p, nil
	}
	return "", fmt.Errorf("unknown preset %q (want %s or %s)", s, PresetStepgate, PresetEnvoy)
}

// stepgate reports whether the configuration stands for stepgate's envoy.yaml.
func (c *Config) stepgate() bool { return c.Preset == "" || c.Preset == PresetStepgate }

// withPreset fills the settings left at their zero value from the preset.
func withPreset(cfg Config) Config {
	if !cfg.stepgate() {
		return cfg
	}
	if cfg.PluginName == "" && cfg.RootID == "" && cfg.VMID == "" {
		cfg.PluginName, cfg.RootID, cfg.VMID = stepgateName, stepgateName, stepgateName
	}
	if cfg.BufferLimit == 0 {
		cfg.BufferLimit = stepgateBufferLimit
	}
	return cfg
}
