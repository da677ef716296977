package aiformat

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// TestGoldenEmbeddings sends every embeddings request in testdata/embeddings to every provider:
// OpenAI-like and Azure get the client's body with the upstream model at their embeddings path;
// the others refuse it.
func TestGoldenEmbeddings(t *testing.T) {
	r := testRouter(t)
	for _, file := range readInputs(t, "embeddings") {
		base := strings.TrimSuffix(filepath.Base(file), ".json")
		for _, prov := range providerNames {
			t.Run(base+"/"+prov, func(t *testing.T) {
				_, _, body := inboundRequest(t, file, "to-"+prov)
				got := routeForGolden(r, "POST", "/v1/embeddings", body)
				golden(t, filepath.Join("testdata", "golden", "embeddings", base+"."+prov+".txt"), got)
			})
		}
	}
}

func TestEmbeddingsRequest(t *testing.T) {
	cfg, err := ParseConfig(gjson.Parse(testConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body   string
		status int
		tokens int64
	}{
		{`{"model":"m","input":"abcdefgh"}`, 0, 2},
		{`{"model":"m","input":["abcd","abcdefgh"]}`, 0, 3},
		{`{"model":"m","input":[[1,2,3],[4,5]]}`, 0, 5},
		{`{"model":"m","input":[1,2,3]}`, 0, 3},
		{`{"model":"m","input":""}`, 0, 1},
		{`{"model":"m"}`, 400, 0},
		{`{"model":"m","input":[{}]}`, 400, 0},
		{`{"input":"x"}`, 400, 0},
		{`[]`, 400, 0},
		{`{"model":`, 400, 0},
	} {
		req, e := cfg.ParseRequest("POST", "/v1/embeddings", "", []byte(c.body))
		switch {
		case c.status != 0 && (e == nil || e.Status != c.status):
			t.Errorf("%s: want %d, got %+v", c.body, c.status, e)
		case c.status == 0 && e != nil:
			t.Errorf("%s: %s", c.body, e.Message)
		case c.status == 0 && (req.PromptTokens != c.tokens || req.Model != "m" || req.Endpoint != EndpointEmbeddings):
			t.Errorf("%s: %+v", c.body, req)
		}
	}
}

func TestEmbeddingsResponse(t *testing.T) {
	r := testRouter(t)
	body, _ := sjson.Set(`{"input":"hello"}`, "model", "to-openai")
	req, perr := r.Config().ParseRequest("POST", "/v1/embeddings", "", []byte(body))
	if perr != nil {
		t.Fatal(perr.Message)
	}
	up, rerr := r.Route(req, 0, 0)
	if rerr != nil {
		t.Fatal(rerr.Message)
	}
	answer := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":7,"total_tokens":7}}`
	rt := NewResponseTranslator(req, up, 0)
	if head := rt.Headers(200, "application/json"); !head.Buffer || head.Status != 200 {
		t.Fatalf("head %+v", head)
	}
	status, out := rt.Finish([]byte(answer))
	if status != 200 || string(out) != answer {
		t.Errorf("answer changed: %d %s", status, out)
	}
	if u := rt.Usage(); !u.Known || u.Prompt != 7 || u.Total != 7 || u.Completion != 0 {
		t.Errorf("usage %+v", u)
	}

	rt = NewResponseTranslator(req, up, 0)
	rt.Headers(200, "application/json")
	if status, _ := rt.Finish([]byte(`{"object":"list"`)); status != 502 || rt.Failure() == "" {
		t.Errorf("broken answer: %d %q", status, rt.Failure())
	}
	rt = NewResponseTranslator(req, up, 0)
	rt.Headers(429, "application/json")
	e := `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`
	if status, out := rt.Finish([]byte(e)); status != 429 || string(out) != e {
		t.Errorf("error answer: %d %s", status, out)
	}
}
