package aiformat

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/tidwall/gjson"
)

// presetConfig has one provider per OpenAI-compatible preset, with the preset's own host and
// base path where it has them: the golden files show where each sends its requests and what
// it changes in a request that uses OpenAI's own fields (testdata/presets).
const presetConfig = `{
  "providers": {
    "mistral":    {"type": "openai_compatible", "compat": "mistral", "cluster": "mistral", "api_key": "mk"},
    "deepseek":   {"type": "openai_compatible", "compat": "deepseek", "cluster": "deepseek", "api_key": "dk"},
    "groq":       {"type": "openai_compatible", "compat": "groq", "cluster": "groq", "api_key": "gk"},
    "together":   {"type": "openai_compatible", "compat": "together", "cluster": "together", "api_key": "tk"},
    "openrouter": {"type": "openai_compatible", "compat": "openrouter", "cluster": "openrouter", "api_key": "ok"},
    "vllm":       {"type": "openai_compatible", "compat": "vllm", "cluster": "vllm", "host": "vllm.internal:8000"},
    "lmstudio":   {"type": "openai_compatible", "compat": "lmstudio", "cluster": "lmstudio"}
  },
  "models": {"routes": {
    "to-mistral":    "mistral/mistral-small-latest",
    "to-deepseek":   "deepseek/deepseek-chat",
    "to-groq":       "groq/llama-3.1-8b-instant",
    "to-together":   "together/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "to-openrouter": "openrouter/openai/gpt-4o-mini",
    "to-vllm":       "vllm/meta-llama/Llama-3.1-8B-Instruct",
    "to-lmstudio":   "lmstudio/qwen2.5-7b-instruct"
  }}
}`

func TestGoldenPresets(t *testing.T) {
	cfg, err := ParseConfig(gjson.Parse(presetConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(cfg, shareddata.NewMemory())
	for _, file := range readInputs(t, "presets") {
		base := strings.TrimSuffix(filepath.Base(file), ".json")
		for _, p := range cfg.Providers {
			t.Run(base+"/"+p.Name, func(t *testing.T) {
				method, path, body := inboundRequest(t, file, "to-"+p.Name)
				got := routeForGolden(r, method, path, body)
				golden(t, filepath.Join("testdata", "golden", "presets", base+"."+p.Name+".txt"), got)
			})
		}
	}
}

// A preset's host and base path are defaults: the provider's own win, and a preset without a
// host (a self-hosted server) still needs one.
func TestPresetEndpointDefaults(t *testing.T) {
	cfg, err := ParseConfig(gjson.Parse(`{"providers": {
	  "g":    {"type": "openai_compatible", "compat": "groq", "cluster": "c", "api_key": "k"},
	  "own":  {"type": "openai_compatible", "compat": "groq", "cluster": "c", "host": "proxy.internal", "base_path": "/groq"},
	  "none": {"type": "openai_compatible", "cluster": "c", "host": "h"}
	}, "models": {"default": "g"}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][2]string{{"api.groq.com", "/openai/v1"}, {"proxy.internal", "/groq"}, {"h", "/v1"}} {
		if p := cfg.Providers[i]; p.Host != want[0] || p.BasePath != want[1] {
			t.Errorf("%s: %s %s, want %s %s", p.Name, p.Host, p.BasePath, want[0], want[1])
		}
	}
	_, err = ParseConfig(gjson.Parse(`{"providers": {"v": {"type": "openai_compatible", "compat": "vllm", "cluster": "c"}}, "models": {"default": "v"}}`), "")
	if err == nil || !strings.Contains(err.Error(), "providers.v.host: required") {
		t.Errorf("vllm without a host: %v", err)
	}
}
