package aiformat

import (
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

// Models lists the configured model names (exact routes, in configuration order) that allow
// admits. allow holds names or '*' patterns; nil admits every model.
func (c *Config) Models(allow []string) []string {
	var out []string
	for _, r := range c.ordered {
		if admitted(r.Pattern, allow) {
			out = append(out, r.Pattern)
		}
	}
	return out
}

func admitted(model string, allow []string) bool {
	if allow == nil {
		return true
	}
	for _, a := range allow {
		if glob(a, model) {
			return true
		}
	}
	return false
}

// ModelsResponse is the body answering a model listing (GET /v1/models, /v1beta/models) in the
// client's dialect: the models a key may use (allow, as in Models). Anthropic clients also
// call GET /v1/models; the filter passes DialectAnthropic when the request carries an
// anthropic-version header.
func (c *Config) ModelsResponse(d Dialect, allow []string) []byte {
	models := c.Models(allow)
	w := jsonx.Writer{}
	w.Obj()
	switch d {
	case DialectGemini:
		w.Key("models")
		w.Arr()
		for _, m := range models {
			w.Obj()
			w.StrField("name", "models/"+m)
			w.StrField("displayName", m)
			w.RawField("supportedGenerationMethods", `["generateContent","streamGenerateContent"]`)
			w.End()
		}
		w.EndArr()
	case DialectAnthropic:
		w.Key("data")
		w.Arr()
		for _, m := range models {
			w.Obj()
			w.StrField("type", "model")
			w.StrField("id", m)
			w.StrField("display_name", m)
			w.StrField("created_at", "1970-01-01T00:00:00Z")
			w.End()
		}
		w.EndArr()
		w.Key("has_more")
		w.Bool(false)
		w.Key("first_id")
		w.Raw(idOrNull(models, 0))
		w.Key("last_id")
		w.Raw(idOrNull(models, len(models)-1))
	default:
		w.StrField("object", "list")
		w.Key("data")
		w.Arr()
		for _, m := range models {
			w.Obj()
			w.StrField("id", m)
			w.StrField("object", "model")
			w.IntField("created", 0)
			w.StrField("owned_by", c.exact[m].Backends[0].Provider.Name)
			w.End()
		}
		w.EndArr()
	}
	w.End()
	return w.Buf
}

func idOrNull(models []string, i int) string {
	if i < 0 || i >= len(models) {
		return "null"
	}
	return string(jsonx.AppendString(nil, models[i]))
}
