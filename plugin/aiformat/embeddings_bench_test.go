package aiformat

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkEmbeddingAnswer translates a Gemini batch answer and an Ollama answer of four
// 768-dimension vectors (about 40 KB) to OpenAI's shape, as floats and as base64.
func BenchmarkEmbeddingAnswer(b *testing.B) {
	var vec strings.Builder
	vec.WriteByte('[')
	for i := range 768 {
		if i > 0 {
			vec.WriteByte(',')
		}
		vec.WriteString(strconv.FormatFloat(float64(i%97)/97-0.5, 'g', 9, 64))
	}
	vec.WriteByte(']')
	v := vec.String()
	gem := `{"embeddings":[{"values":` + v + `},{"values":` + v + `},{"values":` + v + `},{"values":` + v + `}]}`
	oll := `{"model":"nomic-embed-text","embeddings":[` + v + `,` + v + `,` + v + `,` + v + `],"prompt_eval_count":40}`
	r := testRouter(b)
	for _, c := range []struct{ name, model, answer string }{{"gemini", "to-gemini", gem}, {"ollama", "to-ollama", oll}} {
		for _, format := range []string{"float", "base64"} {
			body := []byte(`{"model":"` + c.model + `","input":["a","b","c","d"],"encoding_format":"` + format + `"}`)
			b.Run(c.name+"/"+format, func(b *testing.B) {
				answer := []byte(c.answer)
				b.SetBytes(int64(len(answer)))
				b.ReportAllocs()
				for b.Loop() {
					req, _ := r.Config().ParseRequest("POST", "/v1/embeddings", "", body)
					up, _ := r.Route(req, 0, 0)
					rt := NewResponseTranslator(req, up, 0)
					rt.Headers(200, "application/json")
					if status, _ := rt.Finish(answer); status != 200 {
						b.Fatal(rt.Failure())
					}
				}
			})
		}
	}
}
