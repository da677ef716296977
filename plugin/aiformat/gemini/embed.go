package gemini

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

// Gemini's embeddings: models/{model}:embedContent takes one text, :batchEmbedContents
// several (each request of the batch names the model again). Neither answer carries usage.

// EmbedPath is the path of the embeddings method for model: batchEmbedContents for a batch.
func EmbedPath(base, model string, batch bool) string {
	if batch {
		return base + "/models/" + model + ":batchEmbedContents"
	}
	return base + "/models/" + model + ":embedContent"
}

// AppendEmbedRequest writes r as an EmbedContentRequest, or for a batch as a
// BatchEmbedContentsRequest. "dimensions" becomes outputDimensionality. Gemini embeds text
// only: token arrays are refused.
func AppendEmbedRequest(dst []byte, r *hub.EmbedRequest) ([]byte, *hub.Error) {
	if r.Tokens {
		return nil, hub.Invalid("input", "token arrays cannot be embedded by a Gemini model: send the text")
	}
	if !r.Batch() {
		dst = append(dst, '{')
		dst = appendEmbedContent(dst, r, r.Texts[0])
		return append(dst, '}'), nil
	}
	dst = append(dst, `{"requests":[`...)
	for i, text := range r.Texts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"model":`...)
		dst = jsonx.AppendString(dst, "models/"+r.Model)
		dst = append(dst, ',')
		dst = appendEmbedContent(dst, r, text)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), nil
}

// appendEmbedContent writes the members of one EmbedContentRequest but its model.
func appendEmbedContent(dst []byte, r *hub.EmbedRequest, text string) []byte {
	dst = append(dst, `"content":{"parts":[{"text":`...)
	dst = append(dst, text...)
	dst = append(dst, "}]}"...)
	if r.Dimensions > 0 {
		dst = append(dst, `,"outputDimensionality":`...)
		dst = strconv.AppendInt(dst, r.Dimensions, 10)
	}
	return dst
}

// DecodeEmbeddings reads embedContent's {"embedding":{"values":[…]}} or batchEmbedContents'
// {"embeddings":[{"values":[…]},…]}; the vectors (raw JSON, in body) are checked when written.
func DecodeEmbeddings(body string, e *hub.Embeddings) *hub.Error {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	if !d.Parse(body) {
		return &hub.Error{Status: 502, Kind: hub.KindServer, Message: "not valid JSON"}
	}
	root := d.Root()
	if one := root.Get("embedding"); one.IsObject() {
		e.Vectors = append(e.Vectors, one.Get("values").Raw())
		return nil
	}
	batch := root.Get("embeddings")
	if !batch.IsArray() {
		return &hub.Error{Status: 502, Kind: hub.KindServer, Message: "no embedding or embeddings"}
	}
	for it := batch.Iter(); it.Next(); {
		e.Vectors = append(e.Vectors, it.Value().Get("values").Raw())
	}
	return nil
}
