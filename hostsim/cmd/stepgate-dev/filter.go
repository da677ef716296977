package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// filterOptions are the flags of the wasm filter entry: what envoy.yaml says of the plugin.
type filterOptions struct {
	preset             string
	vmConfig, tagsFile string
	logLevel           string
	set                map[string]bool // the flags given on the command line
}

// filterFlags defines the flags of the wasm filter entry. Their defaults come from -preset
// unless given (see applyFilterFlags).
func filterFlags(fs *flag.FlagSet, o *options) {
	f, cfg := &o.filter, &o.cfg
	fs.StringVar(&f.preset, "preset", string(devgateway.PresetEnvoy), "the envoy.yaml the gateway stands for: envoy (a plain one) or stepgate (envoy/envoy.yaml; `make run` uses it)")
	fs.StringVar(&cfg.PluginName, "name", "", "the filter's config.name (-preset stepgate: stepgate)")
	fs.StringVar(&cfg.RootID, "root-id", "", "the filter's config.root_id (-preset stepgate: stepgate)")
	fs.StringVar(&cfg.VMID, "vm-id", "", "vm_config.vm_id (-preset stepgate: stepgate)")
	fs.StringVar(&f.vmConfig, "vm-config", "", "a `file` whose bytes are vm_config.configuration")
	fs.BoolVar(&cfg.AllowOnHeadersStopIteration, "allow-on-headers-stop-iteration", false, "Envoy's allow_on_headers_stop_iteration (default off, as Envoy; -preset stepgate: on)")
	fs.BoolVar(&cfg.FailOpen, "fail-open", false, "failure_policy FAIL_OPEN: requests pass untouched after a VM failure")
	fs.IntVar(&cfg.BufferLimit, "buffer-limit", 0, "per_connection_buffer_limit_bytes (default Envoy's 1 MiB; -preset stepgate: 5 MiB)")
	fs.StringVar(&f.logLevel, "log-level", "", "Envoy's wasm log `level`: trace, debug, info, warn, error, critical (default info; -preset stepgate: every line)")
	fs.StringVar(&f.tagsFile, "stats-tags", "", "a JSON or YAML `file` with Envoy's stats_tags for /stats/prometheus (default none; -preset stepgate: envoy.yaml's)")
}

// applyFilterFlags resolves -preset and reads the files the filter flags name.
func applyFilterFlags(fs *flag.FlagSet, o *options) error {
	f, cfg := &o.filter, &o.cfg
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	p, err := devgateway.ParsePreset(f.preset)
	if err != nil {
		return fmt.Errorf("-preset: %w", err)
	}
	cfg.Preset = p
	if p == devgateway.PresetStepgate && !f.set["allow-on-headers-stop-iteration"] {
		cfg.AllowOnHeadersStopIteration = true
	}
	if cfg.BufferLimit < 0 {
		return fmt.Errorf("-buffer-limit %d: want a size in bytes", cfg.BufferLimit)
	}
	if cfg.LogLevel, err = logLevel(f.logLevel, p); err != nil {
		return err
	}
	return readFilterFiles(o)
}

// logLevel parses -log-level: Envoy's default info, or every line with -preset stepgate.
func logLevel(s string, p devgateway.Preset) (hostsim.LogLevel, error) {
	if s == "" {
		if p == devgateway.PresetStepgate {
			return hostsim.LevelTrace, nil
		}
		return hostsim.LevelInfo, nil
	}
	for l := hostsim.LevelTrace; l <= hostsim.LevelCritical; l++ {
		if strings.EqualFold(s, l.String()) || strings.EqualFold(s, "warning") && l == hostsim.LevelWarn {
			return l, nil
		}
	}
	return 0, fmt.Errorf("-log-level %q: want trace, debug, info, warn, error or critical", s)
}

// readFilterFiles reads -vm-config and -stats-tags.
func readFilterFiles(o *options) error {
	var err error
	if o.filter.vmConfig != "" {
		if o.cfg.VMConfig, err = os.ReadFile(o.filter.vmConfig); err != nil {
			return fmt.Errorf("-vm-config: %w", err)
		}
	}
	if o.filter.tagsFile == "" {
		return nil
	}
	data, err := os.ReadFile(o.filter.tagsFile)
	if err == nil {
		o.cfg.StatsTags, err = hostsim.ParseStatsTags(data)
	}
	if err != nil {
		return fmt.Errorf("-stats-tags %s: %w", o.filter.tagsFile, err)
	}
	return nil
}
