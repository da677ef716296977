package aiformat

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// pathConfig routes model names chosen by the client into upstream paths: Azure deployments
// and Gemini models by pattern, by default route, and through the Gemini client dialect.
const pathConfig = `{
  "providers": {
    "az":  {"type": "azure", "cluster": "azure", "host": "x.openai.azure.com", "api_key": "azure-key"},
    "gem": {"type": "gemini", "cluster": "gemini", "api_key": "gem-key"},
    "oa":  {"type": "openai", "cluster": "openai", "api_key": "oa-key"},
    "br":  {"type": "bedrock", "cluster": "bedrock", "region": "eu-west-3", "access_key_id": "AK", "secret_access_key": "SK"}
  },
  "models": {
    "routes": {"az-*": "az", "gm-*": "gem", "fixed": "az/prod-deployment", "oa-*": "oa", "br-*": "br"},
    "default": "gem"
  }
}`

func pathRouter(t testing.TB) *Router {
	t.Helper()
	cfg, err := ParseConfig(gjson.Parse(pathConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	return NewRouter(cfg, nil)
}

// upstreamPathOK checks the invariant of the route → path step: the upstream path is the
// provider's path template with exactly one safe segment, and that segment is the model.
func upstreamPathOK(up *Upstream, stream bool) (string, bool) {
	var prefix, suffix string
	switch up.Provider.Type {
	case ProviderAzure:
		prefix, suffix = "/openai/deployments/", "/chat/completions?api-version="+up.Provider.APIVersion
	case ProviderGemini:
		prefix, suffix = "/v1beta/models/", ":generateContent"
		if stream {
			suffix = ":streamGenerateContent?alt=sse"
		}
	case ProviderBedrock: // the model id is escaped into one segment
		prefix, suffix = "/model/", "/converse"
		if stream {
			suffix = "/converse-stream"
		}
		seg, ok := strings.CutPrefix(up.Path, prefix)
		seg, ok2 := strings.CutSuffix(seg, suffix)
		id, err := url.PathUnescape(seg)
		return prefix + "{modelId}" + suffix, ok && ok2 && err == nil && id == up.Model && !strings.ContainsAny(seg, "/:?#") && seg != ".."
	default:
		return "/v1/chat/completions", up.Path == "/v1/chat/completions"
	}
	seg, ok := strings.CutPrefix(up.Path, prefix)
	if !ok {
		return prefix + "{model}" + suffix, false
	}
	seg, ok = strings.CutSuffix(seg, suffix)
	return prefix + "{model}" + suffix, ok && PathSegmentSafe(seg) && seg == up.Model
}

func TestUnsafeModelNamesAreRefused(t *testing.T) {
	r := pathRouter(t)
	for _, model := range []string{
		"az-x/../../../admin?y=", "az-x#frag", "az-x%2F..", "az-a b", "gm-../../v1/files", "gm-x?key=1",
		"../../secrets", "..", ".", strings.Repeat("a", 129), "az-\u00e9", "br-a b", "br-\u00e9",
	} {
		req := chatRequest(t, r, model)
		up, err := r.Route(req, 0, 0)
		if err == nil {
			t.Errorf("model %q routed to %s", model, up.Path)
			continue
		}
		if err.Status != 400 || gjson.GetBytes(err.Body, "error.param").Str != "model" {
			t.Errorf("model %q: %d %s, want 400 naming the model", model, err.Status, err.Body)
		}
	}
	for _, model := range []string{"az-gpt-4o", "gm-gemini-2.0-flash", "fixed", "gemini-1.5-pro_001", "oa-x/../y",
		"br-anthropic.claude-3-haiku-20240307-v1:0", "br-arn:aws:bedrock:us-east-1:1:inference-profile/us.x-v1:0", "br-../../x?y#z"} {
		up, err := r.Route(chatRequest(t, r, model), 0, 0)
		if err != nil {
			t.Errorf("model %q refused: %s", model, err.Body)
			continue
		}
		if tmpl, ok := upstreamPathOK(up, false); !ok {
			t.Errorf("model %q: path %q, want %s", model, up.Path, tmpl)
		}
	}
}

// A Gemini client names the model in its own path; the same check applies.
func TestGeminiClientPathModelIsChecked(t *testing.T) {
	r := pathRouter(t)
	body := []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)
	req, perr := r.Config().ParseRequest("POST", "/v1beta/models/gm-a/../../x:generateContent", "", body)
	if perr != nil {
		t.Fatalf("parse: %s", perr.Body)
	}
	if up, err := r.Route(req, 0, 0); err == nil || err.Status != 400 || !gjson.GetBytes(err.Body, "error.status").Exists() {
		t.Errorf("routed (%v) or not refused in Gemini's shape: %+v", up, err)
	}
}

func TestConfiguredPathModelsAreChecked(t *testing.T) {
	bad := strings.Replace(pathConfig, `"fixed": "az/prod-deployment"`, `"fixed": {"provider": "az", "model": "prod/../x"}`, 1)
	_, err := ParseConfig(gjson.Parse(bad), "")
	if err == nil || !strings.Contains(err.Error(), "models.routes.fixed.model") {
		t.Errorf("err = %v, want one naming models.routes.fixed.model", err)
	}
}

// FuzzUpstreamPath: whatever model a client names, a routed request's upstream path is the
// provider's path template with one safe segment; anything else is a 400.
func FuzzUpstreamPath(f *testing.F) {
	for _, s := range []string{"az-x/../../../admin?y=", "gm-x#a", "az-ok", "gm-gemini-2.0-flash", "fixed", "x", "az-%2e%2e", "gm-..", "oa-/a"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	r := pathRouter(f)
	f.Fuzz(func(t *testing.T, model string, stream bool) {
		body, _ := json.Marshal(model)
		req, perr := r.Config().ParseRequest("POST", "/v1/chat/completions", "",
			[]byte(`{"model":`+string(body)+`,"stream":`+boolJSON(stream)+`,"messages":[{"role":"user","content":"hi"}]}`))
		if perr != nil {
			return
		}
		up, err := r.Route(req, 0, 0)
		if err != nil {
			if err.Status != 400 && err.Status != 404 {
				t.Fatalf("model %q: status %d", model, err.Status)
			}
			return
		}
		if tmpl, ok := upstreamPathOK(up, req.Stream); !ok {
			t.Fatalf("model %q: upstream path %q is not %s with one safe segment", model, up.Path, tmpl)
		}
	})
}

func boolJSON(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
