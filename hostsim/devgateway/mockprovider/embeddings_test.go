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
