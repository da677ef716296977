package aiformat

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/tidwall/gjson"
)

// presetConfig has one provider per OpenAI-compatible preset that has a golden file here: a
// preset is only a policy, so these show what it changes in a request that uses OpenAI's own
// fields (testdata/presets).
const presetConfig = `{
  "providers": {
    "lmstudio": {"type": "openai_compatible", "compat": "lmstudio", "cluster": "lmstudio", "host": "localhost:1234"}
  },
  "models": {"routes": {"to-lmstudio": "lmstudio/qwen2.5-7b-instruct"}}
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
