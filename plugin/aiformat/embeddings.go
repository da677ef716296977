package aiformat

import (
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
	"github.com/tidwall/gjson"
)

// Embeddings (POST /v1/embeddings) go to providers that serve OpenAI's embeddings API as they
// are: the client's body with the upstream model, at the provider's embeddings path, with its
// credentials. The answer passes through untouched; its usage feeds the token buckets.

// parseEmbeddings reads what the throttle needs from an embeddings request: the model and an
// estimate of the input's tokens (four bytes of text per token; token arrays count as they are).
func (r *Request) parseEmbeddings() *hub.Error {
	s := bstr(r.Body)
	if !gjson.Valid(s) {
		return hub.Invalid("", "request body is not valid JSON")
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return hub.Invalid("", "request body must be a JSON object")
	}
	m := root.Get("model")
	if m.Type != gjson.String || m.Str == "" {
		return hub.Invalid("model", "required: a string")
	}
	r.Model = m.Str
	in := root.Get("input")
	var n int64
	switch {
	case in.Type == gjson.String:
		n = textTokens(in.Str)
	case in.IsArray():
		var bad bool
		in.ForEach(func(_, v gjson.Result) bool {
			switch {
			case v.Type == gjson.String:
				n += textTokens(v.Str)
			case v.Type == gjson.Number:
				n++
			case v.IsArray():
				n += int64(len(v.Array()))
			default:
				bad = true
			}
			return !bad
		})
		if bad {
			return hub.Invalid("input", "must be a string, an array of strings, or token arrays")
		}
	default:
		return hub.Invalid("input", "required: a string, an array of strings, or token arrays")
	}
	r.PromptTokens = max(n, 1)
	r.Hub = r.Body
	return nil
}

func textTokens(s string) int64 { return int64(len(s)+3) / 4 }

// embeddingsBody is the client's body for up: only the model changes.
func embeddingsBody(req *Request, up *Upstream) []byte {
	return openai.Rewrite(make([]byte, 0, len(req.Body)+64), bstr(req.Body), hub.Target{Model: up.Model}, &openai.Policy{})
}

// embeddingsUsage reads an embeddings answer's usage: prompt_tokens, total_tokens.
func embeddingsUsage(body string) (hub.Usage, bool) {
	if !gjson.Valid(body) {
		return hub.Usage{}, false
	}
	u := gjson.Get(body, "usage")
	p, tot := u.Get("prompt_tokens"), u.Get("total_tokens")
	if !p.Exists() && !tot.Exists() {
		return hub.Usage{}, true
	}
	usage := hub.Usage{Prompt: p.Int(), Total: tot.Int(), Known: true}
	if usage.Total == 0 {
		usage.Total = usage.Prompt
	}
	if usage.Prompt == 0 {
		usage.Prompt = usage.Total
	}
	return usage, true
}
