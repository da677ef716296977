package hostsim

import "fmt"

// Plugin is one more http filter of the same module on the host's VMs. Envoy runs the
// filters whose vm_config match (same vm_id, code and VM configuration) on one VM per worker,
// each filter on its own root context: on_vm_start and on_configure per root, ticks, queues
// and callouts per root, and its streams' contexts created with its root id.
type Plugin struct {
	// Name and RootID are the filter's config.name and config.root_id.
	Name, RootID string
	// Config is its plugin configuration (config.configuration).
	Config []byte
}

// WithPlugin sends the stream through the plugin whose root_id is rootID (Config.RootID or
// one of Config.Plugins) instead of the first. An unknown root_id panics.
func WithPlugin(rootID string) StreamOption {
	return func(c *streamConfig) { c.rootID = rootID }
}

// pluginsOf lists cfg's plugins, the first from Config's own fields, and refuses a repeated
// root_id (Envoy could not tell their contexts apart).
func pluginsOf(cfg Config) ([]*Plugin, error) {
	ps := []*Plugin{{Name: cfg.PluginName, RootID: cfg.RootID, Config: cfg.PluginConfig}}
	seen := map[string]bool{cfg.RootID: true}
	for i := range cfg.Plugins {
		p := cfg.Plugins[i]
		if seen[p.RootID] {
			return nil, fmt.Errorf("hostsim: Config.Plugins[%d]: root_id %q is already used", i, p.RootID)
		}
		seen[p.RootID] = true
		ps = append(ps, &p)
	}
	return ps, nil
}

// rootFor is the root context of the plugin with root_id rootID ("" is the first plugin).
func (v *vm) rootFor(rootID string) *pctx {
	if rootID == "" {
		return v.root
	}
	for _, r := range v.roots {
		if r.plugin.RootID == rootID {
			return r
		}
	}
	panic(fmt.Sprintf("hostsim: no plugin with root_id %q", rootID))
}

// pluginOf is the plugin a context belongs to (the first for the VM context).
func (v *vm) pluginOf(c *pctx) *Plugin {
	if r := v.rootOf(c); r.plugin != nil {
		return r.plugin
	}
	return v.h.plugins[0]
}
