package config

import (
	"fmt"
	"slices"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/governance"
	"github.com/stepgate/stepgate/plugin/prompts"
)

// parseGovernance reads routes, tenants, consumers, prompts and aliases, and checks what they name
// across sections: a tenant's credentials name providers, prompts need the AI sections.
func parseGovernance(root gjson.Result, cfg *Config) error {
	g, err := governance.ParseConfig(root)
	if err != nil {
		return err
	}
	cfg.Governance = g
	if cfg.Prompts, err = prompts.ParseConfig(root); err != nil {
		return err
	}
	if cfg.Prompts != nil && len(cfg.Prompts.Prompts) > 0 && cfg.AI == nil {
		return fmt.Errorf("prompts: need the providers and models sections to call a model")
	}
	if g == nil {
		return nil
	}
	for name, t := range g.Tenants {
		for provider := range t.Credentials {
			if cfg.AI == nil || !slices.ContainsFunc(cfg.AI.Providers, func(p *aiformat.Provider) bool { return p.Name == provider }) {
				return fmt.Errorf("tenants.%s.credentials.%s: unknown provider", name, provider)
			}
		}
	}
	return nil
}
