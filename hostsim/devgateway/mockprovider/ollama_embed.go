package mockprovider

import (
	"net/http"
	"time"

	"github.com/tidwall/gjson"
)

// Ollama's embeddings (POST /api/embed): input a string or an array of strings, answered with
// one vector per input and prompt_eval_count, as the real server does. Unknown fields are
// refused in encoding/json's words, like the chat endpoint's.

var olEmbedFields = []string{"model", "input", "truncate", "dimensions", "keep_alive", "options"}

// olMaxDims bounds dimensions (the largest embedding models' size).
const olMaxDims = 4096

func (ollamaDialect) embeddings(_ route, r *http.Request, body []byte, s *Server) ([]byte, *apiError) {
	if !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
		return nil, olErr(http.StatusBadRequest, "invalid character in request body")
	}
	root := gjson.ParseBytes(body)
	if err := olOnlyKeys(root, olEmbedFields...); err != nil {
		return nil, err
	}
	m := field(root, "model")
	if err := olString("EmbedRequest.model", m); err != nil {
		return nil, err
	}
	if m.Str == "" {
		return nil, olErr(http.StatusBadRequest, "model is required")
	}
	c := &call{model: m.Str}
	if aerr := s.checkModel(c, route{}); aerr != nil {
		return nil, aerr
	}
	if t := field(root, "truncate"); t.Exists() && !isBool(t) {
		return nil, olType("EmbedRequest.truncate", "bool", t)
	}
	dims := defaultEmbeddingDims
	if d := field(root, "dimensions"); d.Exists() {
		if !isInt(d) {
			return nil, olType("EmbedRequest.dimensions", "int", d)
		}
		if d.Int() < 1 || d.Int() > olMaxDims {
			return nil, olErr(http.StatusBadRequest, "dimensions must be between 1 and %d", olMaxDims)
		}
		dims = int(d.Int())
	}
	inputs, aerr := olEmbedInputs(field(root, "input"))
	if aerr != nil {
		return nil, aerr
	}
	out := struct {
		Model      string      `json:"model"`
		Embeddings [][]float64 `json:"embeddings"`
		Total      int64       `json:"total_duration"`
		Load       int64       `json:"load_duration"`
		Prompt     int         `json:"prompt_eval_count"`
	}{Model: c.model, Embeddings: [][]float64{}, Total: int64(14 * time.Millisecond), Load: int64(time.Millisecond)}
	for _, text := range inputs {
		out.Embeddings = append(out.Embeddings, vectorOf(text, dims))
		out.Prompt += (len(text) + 3) / 4
	}
	return marshal(out), nil
}

// olEmbedInputs reads input: a string or an array of strings (a token array is not one).
func olEmbedInputs(in gjson.Result) ([]string, *apiError) {
	switch {
	case in.Type == gjson.String:
		return []string{in.Str}, nil
	case in.IsArray():
		var out []string
		for _, v := range in.Array() {
			if v.Type != gjson.String {
				return nil, olErr(http.StatusBadRequest, "invalid input type")
			}
			out = append(out, v.Str)
		}
		return out, nil
	case !in.Exists() || in.Type == gjson.Null:
		return nil, nil // Ollama loads the model and answers no embeddings
	}
	return nil, olErr(http.StatusBadRequest, "invalid input type")
}
