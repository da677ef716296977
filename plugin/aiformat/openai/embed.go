package openai

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// AppendEmbeddings writes e as OpenAI's embeddings answer: a list of {"object":"embedding",
// "index","embedding"} and the usage. Each vector must be a non-empty array of numbers; with
// b64 it becomes what OpenAI sends for encoding_format "base64": its values as little-endian
// float32, base64-encoded. Numbers are otherwise copied as the provider wrote them.
func AppendEmbeddings(dst []byte, e *hub.Embeddings, model string, b64 bool) ([]byte, *hub.Error) {
	if e.Model != "" {
		model = e.Model
	}
	dst = append(dst, `{"object":"list","data":[`...)
	var raw []byte // float32 bytes of one vector (base64)
	for i, v := range e.Vectors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"object":"embedding","index":`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `,"embedding":`...)
		var ok bool
		if b64 {
			raw, ok = appendFloat32s(raw[:0], v)
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, raw)
			dst = append(dst, '"')
		} else {
			dst, ok = appendNumbers(dst, v)
		}
		if !ok {
			return nil, &hub.Error{Status: 502, Kind: hub.KindServer,
				Message: "embedding " + strconv.Itoa(i) + " is not a non-empty array of numbers"}
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `],"model":`...)
	dst = jsonx.AppendString(dst, model)
	dst = append(dst, `,"usage":{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, e.Usage.Prompt, 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, max(e.Usage.Total, e.Usage.Prompt), 10)
	return append(dst, "}}"...), nil
}

// appendNumbers copies the JSON array vec without its whitespace, checking that it holds
// numbers only.
func appendNumbers(dst []byte, vec string) ([]byte, bool) {
	a := gjson.Parse(vec)
	if !a.IsArray() {
		return dst, false
	}
	dst = append(dst, '[')
	n, ok := 0, true
	a.ForEach(func(_, x gjson.Result) bool {
		if x.Type != gjson.Number {
			ok = false
			return false
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, x.Raw...)
		n++
		return true
	})
	return append(dst, ']'), ok && n > 0
}

// appendFloat32s appends the values of the JSON array vec as little-endian float32s.
func appendFloat32s(dst []byte, vec string) ([]byte, bool) {
	a := gjson.Parse(vec)
	if !a.IsArray() {
		return dst, false
	}
	n, ok := 0, true
	a.ForEach(func(_, x gjson.Result) bool {
		f, err := strconv.ParseFloat(x.Raw, 32)
		if x.Type != gjson.Number || err != nil {
			ok = false
			return false
		}
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f)))
		n++
		return true
	})
	return dst, ok && n > 0
}
