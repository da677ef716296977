package mockprovider

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/http"

	"github.com/tidwall/gjson"
)

// OpenAI's embeddings API (POST /v1/embeddings; Azure: /openai/deployments/{d}/embeddings), served
// by the OpenAI and Azure mocks: strict about the request's fields and types, answering a
// deterministic unit vector per input and usage counted as four bytes of text per token.

// embeddingsFields lists the embeddings request parameters (from the API reference).
var embeddingsFields = map[string]bool{"input": true, "model": true, "encoding_format": true, "dimensions": true, "user": true}

const defaultEmbeddingDims = 8

func (d openaiDialect) embeddings(rt route, r *http.Request, body []byte, s *Server) ([]byte, *apiError) {
	bad := func(msg, param string) *apiError {
		return oaiErr(http.StatusBadRequest, msg, "invalid_request_error", param, "")
	}
	if !isJSON(r) || !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
		return nil, bad("We could not parse the JSON body of your request.", "")
	}
	root := gjson.ParseBytes(body)
	var unknown string
	root.ForEach(func(k, _ gjson.Result) bool {
		if !embeddingsFields[k.Str] {
			unknown = k.Str
		}
		return unknown == ""
	})
	if unknown != "" {
		return nil, bad(fmt.Sprintf("Unrecognized request argument supplied: %s", unknown), unknown)
	}
	model := rt.model
	if !d.azure {
		m := root.Get("model")
		if m.Type != gjson.String || m.Str == "" {
			return nil, bad("you must provide a model parameter", "model")
		}
		model = m.Str
	}
	c := &call{model: model}
	if aerr := s.checkModel(c, rt); aerr != nil {
		return nil, aerr
	}
	model = c.model
	dims := defaultEmbeddingDims
	if v := root.Get("dimensions"); v.Exists() {
		if v.Type != gjson.Number || v.Int() < 1 || v.Int() > 3072 || float64(v.Int()) != v.Num {
			return nil, bad("dimensions: must be an integer between 1 and 3072", "dimensions")
		}
		dims = int(v.Int())
	}
	if f := root.Get("encoding_format"); f.Exists() && f.Str != "float" {
		return nil, bad("encoding_format: this mock serves only \"float\"", "encoding_format")
	}
	var inputs []string
	in := root.Get("input")
	switch {
	case in.Type == gjson.String && in.Str != "":
		inputs = []string{in.Str}
	case in.IsArray() && len(in.Array()) > 0:
		for _, v := range in.Array() {
			if v.Type != gjson.String || v.Str == "" {
				return nil, bad("'$.input' is invalid: each input must be a non-empty string", "input")
			}
			inputs = append(inputs, v.Str)
		}
	default:
		return nil, bad("'$.input' is invalid: a non-empty string or array of strings is required", "input")
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  struct {
			Prompt int `json:"prompt_tokens"`
			Total  int `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Model: model}
	for i, text := range inputs {
		out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: vectorOf(text, dims)})
		out.Usage.Prompt += (len(text) + 3) / 4
	}
	out.Usage.Total = out.Usage.Prompt
	return marshal(out), nil
}

// vectorOf is a deterministic unit vector for text.
func vectorOf(text string, dims int) []float64 {
	v := make([]float64, dims)
	var norm float64
	for i := range v {
		h := fnv.New32a()
		_, _ = fmt.Fprintf(h, "%d:%s", i, text)
		v[i] = float64(h.Sum32())/math.MaxUint32*2 - 1
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = math.Round(v[i]/norm*1e6) / 1e6
	}
	return v
}
