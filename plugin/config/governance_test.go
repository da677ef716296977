package config

import (
	"strings"
	"testing"
)

func TestGovernanceSectionsAcrossTheDocument(t *testing.T) {
	const providers = `"providers":{"oa":{"type":"openai","cluster":"c","api_keys":["k"]}},"models":{"routes":{"m":"oa/m"}}`
	cfg, err := Parse([]byte(`{` + providers + `,"routes":{"api":{"path_prefix":"/v1/","auth":{}}},
		"tenants":{"t":{"credentials":{"oa":"sk-own"}}},"prompts":{"p":{"model":"m","user":"hi"}}}`))
	if err != nil || cfg.Governance == nil || cfg.Prompts == nil || len(cfg.Governance.Routes) != 1 {
		t.Fatalf("%+v %v", cfg, err)
	}
	for doc, want := range map[string]string{
		`{` + providers + `,"tenants":{"t":{"credentials":{"nope":"k"}}}}`: "tenants.t.credentials.nope: unknown provider",
		`{"prompts":{"p":{"model":"m","user":"hi"}}}`:                      "prompts: need the providers and models sections",
		`{"consumer":{}}`: "consumer: unknown field",
	} {
		if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}
