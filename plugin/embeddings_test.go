package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/plugin/aiformat"
)

// embedConfig routes one embedding model to Gemini and one to Ollama, under an llm_tokens rule.
const embedConfig = `{
  "providers": {
    "gem": {"type": "gemini", "cluster": "gemini", "api_keys": ["goog-provider"]},
    "ol":  {"type": "ollama", "cluster": "ollama", "host": "ollama.local:11434"}
  },
  "models": {"routes": {
    "gemini-embedding-001": "gem/gemini-embedding-001",
    "nomic-embed-text": "ol/nomic-embed-text"
  }},
  "throttle": {"rules": [{"name": "tpm", "unit": "llm_tokens", "rate": "1/min", "burst": 10000, "default_max_tokens": 1}]}
}`

func remaining(t *testing.T, s *hostsim.Stream) int {
	t.Helper()
	n, err := strconv.Atoi(s.Downstream().Headers.Get("x-ratelimit-remaining"))
	if err != nil {
		t.Fatalf("x-ratelimit-remaining: %v", err)
	}
	return n
}

// Several inputs go to Gemini's batchEmbedContents; the answer comes back in OpenAI's shape
// with the filter's estimate as its usage, marked as one in a header and the call record.
func TestEmbeddingsThroughGemini(t *testing.T) {
	h, _ := startFilter(t, embedConfig, 1)
	s := embed(h, "g-1", `{"model":"gemini-embedding-001","input":["hello world","abc"],"dimensions":2,"user":"u"}`)
	if lr := s.LocalReply(); lr != nil {
		t.Fatalf("local reply %d %s", lr.Status, lr.Body)
	}
	up := s.Upstream()
	for name, want := range map[string]string{
		":path": "/v1beta/models/gemini-embedding-001:batchEmbedContents", ":authority": "generativelanguage.googleapis.com",
		"x-stepgate-cluster": "gemini", "x-goog-api-key": "goog-provider", "authorization": "",
	} {
		if got := up.Headers.Get(name); got != want {
			t.Errorf("upstream %s = %q, want %q", name, got, want)
		}
	}
	wantBody := `{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"hello world"}]},"outputDimensionality":2},` +
		`{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"abc"}]},"outputDimensionality":2}]}`
	if string(up.Body) != wantBody {
		t.Errorf("upstream body %s", up.Body)
	}
	answerJSON(s, 200, `{"embeddings":[{"values":[0.5,0.25]},{"values":[1,-2]}]}`)
	d := s.Downstream()
	want := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.25]},` +
		`{"object":"embedding","index":1,"embedding":[1,-2]}],"model":"gemini-embedding-001",` +
		`"usage":{"prompt_tokens":4,"total_tokens":4}}`
	if string(d.Body) != want {
		t.Errorf("client got %s", d.Body)
	}
	if got := d.Headers.Get(aiformat.EstimateHeader[0]); got != "estimate" {
		t.Errorf("%s = %q", aiformat.EstimateHeader[0], got)
	}
	recordWants(t, callRecord(t, h, "g-1"), map[string]any{"tokens_in": 4, "usage_estimated": true,
		"provider": "gem", "upstream_model": "gemini-embedding-001", "status": 200})

	// One input goes to embedContent; base64 is encoded by the filter.
	s = embed(h, "g-2", `{"model":"gemini-embedding-001","input":"hi","encoding_format":"base64"}`)
	if p := s.Upstream().Headers.Get(":path"); p != "/v1beta/models/gemini-embedding-001:embedContent" {
		t.Errorf("one input: path %s", p)
	}
	answerJSON(s, 200, `{"embedding":{"values":[0.5]}}`)
	if got := gjson.GetBytes(s.Downstream().Body, "data.0.embedding").Str; got != "AAAAPw==" {
		t.Errorf("base64 embedding %q in %s", got, s.Downstream().Body)
	}
	// Token arrays are refused before anything goes upstream.
	refused(t, embed(h, "g-3", `{"model":"gemini-embedding-001","input":[[1,2]]}`), 400, "error.param", "input")
}

// Ollama's prompt_eval_count settles the llm_tokens bucket exactly, and the bucket refills on
// the virtual clock.
func TestEmbeddingsThroughOllamaSettleTokens(t *testing.T) {
	h, vc := startFilter(t, embedConfig, 1)
	s := embed(h, "o-1", `{"model":"nomic-embed-text","input":["hello","world"],"dimensions":3}`)
	up := s.Upstream()
	if p := up.Headers.Get(":path"); p != "/api/embed" || up.Headers.Get(":authority") != "ollama.local:11434" {
		t.Errorf("upstream %v", up.Headers)
	}
	if got := string(up.Body); got != `{"model":"nomic-embed-text","input":["hello","world"],"dimensions":3}` {
		t.Errorf("upstream body %s", got)
	}
	answerJSON(s, 200, `{"model":"nomic-embed-text","embeddings":[[0.1,0.2,0.3],[0.4,0.5,0.6]],`+
		`"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":3000}`)
	if got, want := remaining(t, s), 10000-4; got != want { // the estimate: 2 + 2 tokens
		t.Errorf("remaining after the reservation = %d, want %d", got, want)
	}
	if u := gjson.GetBytes(s.Downstream().Body, "usage.prompt_tokens").Int(); u != 3000 {
		t.Errorf("usage %d in %s", u, s.Downstream().Body)
	}
	if s.Downstream().Headers.Get(aiformat.EstimateHeader[0]) != "" {
		t.Errorf("a reported usage is marked as an estimate")
	}
	recordWants(t, callRecord(t, h, "o-1"), map[string]any{"tokens_in": 3000, "usage_estimated": nil})

	probe := func(id string) int {
		p := embed(h, id, `{"model":"nomic-embed-text","input":"hi"}`) // estimated at 1 token
		answerJSON(p, 200, `{"model":"nomic-embed-text","embeddings":[[1]],"prompt_eval_count":1}`)
		return remaining(t, p)
	}
	if got, want := probe("o-2"), 10000-3000-1; got != want {
		t.Errorf("remaining after 3000 reported tokens = %d, want %d", got, want)
	}
	vc.Advance(time.Minute) // one token back at 1/min
	if got, want := probe("o-3"), 10000-3000-1-1+1; got != want {
		t.Errorf("remaining a minute later = %d, want %d", got, want)
	}
}
