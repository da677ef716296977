package anthropic

import "github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"

// CountTokensPath is the Messages API's token counting endpoint, under the base path.
const CountTokensPath = "/messages/count_tokens"

// RewriteCountTokens writes a count_tokens request for an Anthropic provider: the client's own
// body with the upstream model. Unlike a Messages call it gets no max_tokens, which the
// endpoint does not take.
func RewriteCountTokens(dst []byte, body, model string) []byte {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(body)
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	for it := d.Root().Iter(); it.Next(); {
		if k := it.Key(); k == "model" {
			w.StrField("model", model)
		} else {
			w.KeyEsc(k)
			w.Raw(it.Value().Raw())
		}
	}
	w.End()
	return w.Buf
}
