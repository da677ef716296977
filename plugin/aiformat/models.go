package aiformat

import (
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
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
			c.writeModel(&w, d, m)
		}
		w.EndArr()
	case DialectAnthropic:
		w.Key("data")
		w.Arr()
		for _, m := range models {
			c.writeModel(&w, d, m)
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
			c.writeModel(&w, d, m)
		}
		w.EndArr()
	}
	w.End()
	return w.Buf
}

// ModelResponse answers GET /v1/models/{id} (Gemini: /v1beta/models/{id}) with the object
// ModelsResponse lists for id, when id is a configured model name that allow admits. Any other
// id, a pattern route's included, is a 404 in the client's dialect (OpenAI's code
// model_not_found), so a caller learns nothing of the models it may not use.
func (c *Config) ModelResponse(d Dialect, id string, allow []string) ([]byte, *Error) {
	if _, ok := c.exact[id]; !ok || !admitted(id, allow) {
		return nil, render(d, &hub.Error{Status: 404, Kind: hub.KindNotFound, Param: "model", Code: "model_not_found",
			Message: "model " + quote(id) + " does not exist"})
	}
	w := jsonx.Writer{}
	c.writeModel(&w, d, id)
	return w.Buf, nil
}

// writeModel writes the model object of configured model m in dialect d.
func (c *Config) writeModel(w *jsonx.Writer, d Dialect, m string) {
	w.Obj()
	switch d {
	case DialectGemini:
		w.StrField("name", "models/"+m)
		w.StrField("displayName", m)
		w.RawField("supportedGenerationMethods", `["generateContent","streamGenerateContent"]`)
	case DialectAnthropic:
		w.StrField("type", "model")
		w.StrField("id", m)
		w.StrField("display_name", m)
		w.StrField("created_at", "1970-01-01T00:00:00Z")
	default:
		w.StrField("id", m)
		w.StrField("object", "model")
		w.IntField("created", 0)
		w.StrField("owned_by", c.exact[m].Backends[0].Provider.Name)
	}
	w.End()
}

// CountTokensResponse answers Anthropic's POST /v1/messages/count_tokens for a parsed request
// in Anthropic's shape, {"input_tokens": N}. N is the filter's own estimate of the prompt
// (Request.PromptTokens, what the token buckets charge before the answer), not the provider's
// tokenizer: the filter labels the answer as an estimate with the header EstimateHeader.
func (c *Config) CountTokensResponse(req *Request) ([]byte, *Error) {
	if c.lookup(req.Model) == nil {
		return nil, render(req.Dialect, &hub.Error{Status: 404, Kind: hub.KindNotFound, Param: "model", Code: "model_not_found",
			Message: "model " + quote(req.Model) + " is not available"})
	}
	w := jsonx.Writer{}
	w.Obj()
	w.IntField("input_tokens", req.PromptTokens)
	w.End()
	return w.Buf, nil
}

// EstimateHeader marks a locally computed token count (count_tokens) as the filter's estimate.
var EstimateHeader = [2]string{"x-stepgate-token-count", "estimate"}

func idOrNull(models []string, i int) string {
	if i < 0 || i >= len(models) {
		return "null"
	}
	return string(jsonx.AppendString(nil, models[i]))
}
