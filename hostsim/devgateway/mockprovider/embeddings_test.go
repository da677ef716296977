package mockprovider

import (
	"testing"

	"github.com/tidwall/gjson"
)

func TestEmbeddings(t *testing.T) {
	for _, c := range []struct {
		name   string
		kind   Kind
		path   string
		body   string
		hdr    []string
		status int
		check  string // a gjson path that must exist in a 200 answer, or the error message
	}{
		{"openai", OpenAI, "/v1/embeddings", `{"model":"text-embedding-3-small","input":["a","bcdef"],"dimensions":4}`, hOpenAI, 200, ""},
		{"azure", Azure, "/openai/deployments/emb/embeddings?api-version=2024-10-21", `{"input":"hello"}`, hAzure, 200, ""},
		{"unknown field", OpenAI, "/v1/embeddings", `{"model":"m","input":"x","messages":[]}`, hOpenAI, 400, "Unrecognized request argument supplied: messages"},
		{"no input", OpenAI, "/v1/embeddings", `{"model":"m"}`, hOpenAI, 400, "'$.input' is invalid: a non-empty string or array of strings is required"},
		{"no model", OpenAI, "/v1/embeddings", `{"input":"x"}`, hOpenAI, 400, "you must provide a model parameter"},
		{"no key", OpenAI, "/v1/embeddings", `{"model":"m","input":"x"}`, []string{"Content-Type: application/json"}, 401, ""},
	} {
		w := serve(t, c.kind, post(c.path, c.body, c.hdr...))
		body := w.Body.String()
		if w.Code != c.status {
			t.Errorf("%s: %d %s", c.name, w.Code, body)
			continue
		}
		if c.status != 200 {
			if c.check != "" && gjson.Get(body, "error.message").Str != c.check {
				t.Errorf("%s: %s", c.name, body)
			}
			continue
		}
		n := len(gjson.Get(body, "data").Array())
		dims := len(gjson.Get(body, "data.0.embedding").Array())
		if n == 0 || dims == 0 || gjson.Get(body, "usage.prompt_tokens").Int() == 0 || gjson.Get(body, "object").Str != "list" {
			t.Errorf("%s: %s", c.name, body)
		}
	}
	// The same text gets the same vector.
	a := serve(t, OpenAI, post("/v1/embeddings", `{"model":"m","input":"same"}`, hOpenAI...)).Body.String()
	b := serve(t, OpenAI, post("/v1/embeddings", `{"model":"m","input":"same"}`, hOpenAI...)).Body.String()
	if gjson.Get(a, "data.0.embedding").Raw != gjson.Get(b, "data.0.embedding").Raw {
		t.Errorf("vectors differ: %s / %s", a, b)
	}
}

func TestGeminiAndOllamaEmbeddings(t *testing.T) {
	const one, batch = "/v1beta/models/gemini-embedding-001:embedContent", "/v1beta/models/gemini-embedding-001:batchEmbedContents"
	req := func(text string) string {
		return `{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"` + text + `"}]}}`
	}
	for _, c := range []struct {
		name   string
		kind   Kind
		path   string
		body   string
		hdr    []string
		status int
		check  string // a gjson path whose array length is the vectors' in a 200 answer, or the error message
		n      int
	}{
		{"gemini one", Gemini, one, `{"content":{"parts":[{"text":"hello"}]},"outputDimensionality":4,"taskType":"RETRIEVAL_QUERY"}`, hGemini, 200, "embedding.values", 4},
		{"gemini batch", Gemini, batch, `{"requests":[` + req("a") + `,` + req("b") + `]}`, hGemini, 200, "embeddings", 2},
		{"gemini unknown field", Gemini, one, `{"content":{"parts":[{"text":"x"}]},"dimensions":4}`, hGemini, 400,
			`Invalid JSON payload received. Unknown name "dimensions": Cannot find field.`, 0},
		{"gemini no content", Gemini, one, `{}`, hGemini, 400, "* EmbedContentRequest.content: contents is not specified\n", 0},
		{"gemini empty text", Gemini, one, `{"content":{"parts":[{"text":" "}]}}`, hGemini, 400, "* EmbedContentRequest.content: the text to embed is empty\n", 0},
		{"gemini bad dims", Gemini, one, `{"content":{"parts":[{"text":"x"}]},"outputDimensionality":0}`, hGemini, 400,
			"* EmbedContentRequest.output_dimensionality: must be between 1 and 3072\n", 0},
		{"gemini batch without model", Gemini, batch, `{"requests":[{"content":{"parts":[{"text":"x"}]}}]}`, hGemini, 400,
			"* BatchEmbedContentsRequest.requests[0].model: model is required\n", 0},
		{"gemini batch of another model", Gemini, batch, `{"requests":[{"model":"models/x","content":{"parts":[{"text":"x"}]}}]}`, hGemini, 400,
			"* BatchEmbedContentsRequest.requests[0].model: model \"models/x\" must be the batch's model \"models/gemini-embedding-001\"\n", 0},
		{"gemini batch as one", Gemini, batch, `{"content":{"parts":[{"text":"x"}]}}`, hGemini, 400,
			`Invalid JSON payload received. Unknown name "content": Cannot find field.`, 0},
		{"gemini no key", Gemini, one, `{"content":{"parts":[{"text":"x"}]}}`, hOllama, 403, "", 0},
		{"ollama", Ollama, "/api/embed", `{"model":"nomic-embed-text","input":["a","bcdef"],"dimensions":4,"truncate":true}`, hOllama, 200, "embeddings", 2},
		{"ollama one", Ollama, "/api/embed", `{"model":"nomic-embed-text","input":"a"}`, hOllama, 200, "embeddings", 1},
		{"ollama unknown field", Ollama, "/api/embed", `{"model":"m","input":"x","encoding_format":"float"}`, hOllama, 400, `json: unknown field "encoding_format"`, 0},
		{"ollama token arrays", Ollama, "/api/embed", `{"model":"m","input":[[1,2]]}`, hOllama, 400, "invalid input type", 0},
		{"ollama no model", Ollama, "/api/embed", `{"input":"x"}`, hOllama, 400, "model is required", 0},
		{"ollama bad dims", Ollama, "/api/embed", `{"model":"m","input":"x","dimensions":"4"}`, hOllama, 400,
			"json: cannot unmarshal string into Go struct field EmbedRequest.dimensions of type int", 0},
	} {
		w := serve(t, c.kind, post(c.path, c.body, c.hdr...))
		body := w.Body.String()
		if w.Code != c.status {
			t.Errorf("%s: %d %s", c.name, w.Code, body)
			continue
		}
		msg := gjson.Get(body, "error.message").Str
		if c.kind == Ollama {
			msg = gjson.Get(body, "error").Str
		}
		switch {
		case c.status != 200 && c.check != "" && msg != c.check:
			t.Errorf("%s: %s", c.name, body)
		case c.status == 200 && len(gjson.Get(body, c.check).Array()) != c.n:
			t.Errorf("%s: %s", c.name, body)
		case c.status == 200 && c.kind == Ollama && gjson.Get(body, "prompt_eval_count").Int() == 0:
			t.Errorf("%s: no prompt_eval_count in %s", c.name, body)
		case c.status == 200 && c.kind == Gemini && gjson.Get(body, "usageMetadata").Exists():
			t.Errorf("%s: usage in %s", c.name, body)
		}
	}
}
