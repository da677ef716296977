package openai

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
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
	dst = append(dst, '[')
	n, ok := eachNumber(vec, func(num string) bool {
		dst = append(dst, num...)
		dst = append(dst, ',')
		return true
	})
	if n > 0 {
		dst = dst[:len(dst)-1]
	}
	return append(dst, ']'), ok && n > 0
}

// appendFloat32s appends the values of the JSON array vec as little-endian float32s.
func appendFloat32s(dst []byte, vec string) ([]byte, bool) {
	n, ok := eachNumber(vec, func(num string) bool {
		f, err := strconv.ParseFloat(num, 32)
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f)))
		return err == nil
	})
	return dst, ok && n > 0
}

// eachNumber calls f with each element of the JSON array vec, which must be valid JSON (the
// decoders validated the answer): it only tells numbers from other values, by their first
// byte, and reads one to its end. It reports how many numbers it saw and whether vec was an
// array of numbers only (and f agreed).
func eachNumber(vec string, f func(num string) bool) (int, bool) {
	i := skipSpace(vec, 0)
	if i >= len(vec) || vec[i] != '[' {
		return 0, false
	}
	n := 0
	for i = skipSpace(vec, i+1); i < len(vec); i = skipSpace(vec, i+1) {
		if vec[i] == ']' && n == 0 {
			return 0, true
		}
		if c := vec[i]; c != '-' && (c < '0' || c > '9') {
			return n, false
		}
		j := i
		for j < len(vec) && isNumberByte(vec[j]) {
			j++
		}
		if !f(vec[i:j]) {
			return n, false
		}
		n++
		i = skipSpace(vec, j)
		switch {
		case i < len(vec) && vec[i] == ']':
			return n, true
		case i >= len(vec) || vec[i] != ',':
			return n, false
		}
	}
	return n, false
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
