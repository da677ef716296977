package ollama

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
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
// "prompt_eval_count"}; the vectors (raw JSON, in body) are checked when written.
func DecodeEmbeddings(body string, e *hub.Embeddings) *hub.Error {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	if !d.Parse(body) {
		return &hub.Error{Status: 502, Kind: hub.KindServer, Message: "not valid JSON"}
	}
	root := d.Root()
	vecs := root.Get("embeddings")
	if !vecs.IsArray() {
		return &hub.Error{Status: 502, Kind: hub.KindServer, Message: "no embeddings"}
	}
	for it := vecs.Iter(); it.Next(); {
		e.Vectors = append(e.Vectors, it.Value().Raw())
	}
	if m := root.Get("model"); m.IsString() {
		e.Model = m.Str()
	}
	if p := root.Get("prompt_eval_count"); p.IsNumber() && p.Int() >= 0 {
		e.Usage = hub.Usage{Prompt: p.Int(), Total: p.Int(), Known: true}
	}
	return nil
}
