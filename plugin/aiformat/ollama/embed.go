package ollama

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// EmbedPath is Ollama's embeddings endpoint (the older /api/embeddings takes one prompt only).
const EmbedPath = "/api/embed"

// AppendEmbedRequest writes r for /api/embed: the client's input as it is (a string or an
// array of strings) and its dimensions. Ollama embeds text only: token arrays are refused.
func AppendEmbedRequest(dst []byte, r *hub.EmbedRequest) ([]byte, *hub.Error) {
	if r.Tokens {
		return nil, hub.Invalid("input", "token arrays cannot be embedded by an Ollama model: send the text")
	}
	dst = append(dst, `{"model":`...)
	dst = jsonx.AppendString(dst, r.Model)
	dst = append(dst, `,"input":`...)
	dst = append(dst, r.Input...)
	if r.Dimensions > 0 {
		dst = append(dst, `,"dimensions":`...)
		dst = strconv.AppendInt(dst, r.Dimensions, 10)
	}
	return append(dst, '}'), nil
}

// DecodeEmbeddings reads /api/embed's answer: {"model","embeddings":[[…],…],
// "prompt_eval_count"}; the vectors are checked when written.
func DecodeEmbeddings(body string, e *hub.Embeddings) *hub.Error {
	if !gjson.Valid(body) {
		return &hub.Error{Status: 502, Kind: hub.KindServer, Message: "not valid JSON"}
	}
	root := gjson.Parse(body)
	vecs := root.Get("embeddings")
	if !vecs.IsArray() {
		return &hub.Error{Status: 502, Kind: hub.KindServer, Message: "no embeddings"}
	}
	vecs.ForEach(func(_, v gjson.Result) bool {
		e.Vectors = append(e.Vectors, v.Raw)
		return true
	})
	if m := root.Get("model"); m.Type == gjson.String {
		e.Model = m.Str
	}
	if p := root.Get("prompt_eval_count"); p.Type == gjson.Number && p.Int() >= 0 {
		e.Usage = hub.Usage{Prompt: p.Int(), Total: p.Int(), Known: true}
	}
	return nil
}
