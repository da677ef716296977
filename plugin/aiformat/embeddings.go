package aiformat

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
	"github.com/tidwall/gjson"
)

// Embeddings (POST /v1/embeddings) take OpenAI's request. Providers that serve OpenAI's
// embeddings API get the client's body with the upstream model, and their answer passes
// through untouched. Providers of another format (Gemini, Ollama) get the request written by
// their codec's embedRequest, and their answer is written back in OpenAI's shape, base64
// encoding included. The usage feeds the token buckets; Gemini reports none, so its calls are
// settled with the filter's estimate, marked as one (Usage.Estimated).

// embedInput is what an embeddings request carries besides its model.
type embedInput struct {
	req    hub.EmbedRequest // Model is set at routing
	base64 bool             // encoding_format "base64"
	n      int              // the number of inputs, so of embeddings to expect
}

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
	if err := r.emb.readOptions(root); err != nil {
		return err
	}
	n, err := r.emb.readInput(root.Get("input"))
	if err != nil {
		return err
	}
	r.PromptTokens = max(n, 1)
	r.Hub = r.Body
	return nil
}

// readOptions reads encoding_format and dimensions, which OpenAI's API would refuse otherwise.
func (e *embedInput) readOptions(root gjson.Result) *hub.Error {
	switch f := root.Get("encoding_format"); {
	case !f.Exists() || f.Type == gjson.Null || f.Type == gjson.String && f.Str == "float":
	case f.Type == gjson.String && f.Str == "base64":
		e.base64 = true
	default:
		return hub.Invalid("encoding_format", `must be "float" or "base64"`)
	}
	d := root.Get("dimensions")
	switch {
	case !d.Exists() || d.Type == gjson.Null:
	case d.Type == gjson.Number && d.Num >= 1 && d.Num <= 1<<20 && d.Num == float64(int64(d.Num)):
		e.req.Dimensions = int64(d.Num)
	default:
		return hub.Invalid("dimensions", "must be a positive integer")
	}
	return nil
}

// readInput reads input (a string, an array of strings, a token array or an array of token
// arrays) and estimates its tokens: four bytes of text per token, a token array its length.
func (e *embedInput) readInput(in gjson.Result) (int64, *hub.Error) {
	e.req.Input = in.Raw
	switch {
	case in.Type == gjson.String:
		e.req.Texts, e.n = append(e.req.Texts, in.Raw), 1
		return textTokens(in.Str), nil
	case !in.IsArray():
		return 0, hub.Invalid("input", "required: a string, an array of strings, or token arrays")
	}
	var n int64
	var bad bool
	in.ForEach(func(_, v gjson.Result) bool {
		switch {
		case v.Type == gjson.String:
			n += textTokens(v.Str)
			e.req.Texts = append(e.req.Texts, v.Raw)
			e.n++
		case v.Type == gjson.Number: // one token array: one input
			n++
			e.req.Tokens, e.n = true, 1
		case v.IsArray():
			n += int64(len(v.Array()))
			e.req.Tokens = true
			e.n++
		default:
			bad = true
		}
		return !bad
	})
	if bad || e.req.Tokens && len(e.req.Texts) > 0 {
		return 0, hub.Invalid("input", "must be a string, an array of strings, or token arrays")
	}
	if e.n == 0 {
		return 0, hub.Invalid("input", "must not be an empty array")
	}
	if e.req.Tokens {
		e.req.Texts = nil
	}
	return n, nil
}

func textTokens(s string) int64 { return int64(len(s)+3) / 4 }

// embeddingsBody is req's body for up: the client's own with the upstream model for a provider
// of OpenAI's format, else written by the format's codec.
func embeddingsBody(req *Request, up *Upstream) ([]byte, *hub.Error) {
	c := &codecs[up.Provider.Type.wire()]
	if c.embedRequest == nil {
		return openai.Rewrite(make([]byte, 0, len(req.Body)+64), bstr(req.Body), hub.Target{Model: up.Model}, &openai.Policy{}), nil
	}
	req.emb.req.Model = up.Model
	return c.embedRequest(make([]byte, 0, len(req.Body)+64), &req.emb.req)
}

// finishEmbeddings writes the provider's embeddings answer in OpenAI's shape (one embedding
// per input, in order) and takes its usage, or the estimate when it reports none.
func (t *ResponseTranslator) finishEmbeddings(body []byte) (int, []byte) {
	var e hub.Embeddings
	err := codecs[t.wire].decodeEmbeddings(bstr(body), &e)
	if err == nil && len(e.Vectors) != t.emb.n {
		err = &hub.Error{Message: strconv.Itoa(len(e.Vectors)) + " embeddings for " + strconv.Itoa(t.emb.n) + " inputs"}
	}
	if !e.Usage.Known {
		e.Usage = hub.Usage{Prompt: t.estimate, Total: t.estimate, Known: true, Estimated: true}
	}
	var out []byte
	if err == nil {
		out, err = openai.AppendEmbeddings(make([]byte, 0, len(body)+128), &e, t.model, t.emb.base64)
	}
	if err != nil {
		t.fault = "the provider's answer cannot be read: " + err.Message
		r := render(t.client, &hub.Error{Status: 502, Kind: hub.KindServer, Message: t.fault})
		return r.Status, r.Body
	}
	t.usage = e.Usage
	return t.status, out
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
