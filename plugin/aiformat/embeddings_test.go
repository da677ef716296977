package aiformat

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// TestGoldenEmbeddings sends every embeddings request in testdata/embeddings to every provider:
// OpenAI-like and Azure get the client's body with the upstream model at their embeddings path,
// Gemini and Ollama their own request (token arrays refused), Anthropic refuses it.
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
		{`{"model":"m","input":"x","encoding_format":"base64","dimensions":8}`, 0, 1},
		{`{"model":"m","input":"x","encoding_format":"int8"}`, 400, 0},
		{`{"model":"m","input":"x","dimensions":0}`, 400, 0},
		{`{"model":"m","input":"x","dimensions":1.5}`, 400, 0},
		{`{"model":"m","input":"x","dimensions":"8"}`, 400, 0},
		{`{"model":"m","input":[]}`, 400, 0},
		{`{"model":"m","input":["a",[1]]}`, 400, 0},
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

// TestGoldenEmbeddingAnswers writes every Gemini and Ollama embeddings answer in
// testdata/embedding-answers as OpenAI's, with float and base64 vectors.
func TestGoldenEmbeddingAnswers(t *testing.T) {
	r := testRouter(t)
	for _, file := range readInputs(t, "embedding-answers") {
		base := strings.TrimSuffix(filepath.Base(file), ".json")
		answer, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		prov, _, _ := strings.Cut(base, "_")
		for _, format := range []string{"float", "base64"} {
			t.Run(base+"/"+format, func(t *testing.T) {
				inputs := `["one","two"]`
				if strings.Contains(base, "_one") {
					inputs = `"one"`
				}
				body := `{"model":"to-` + prov + `","input":` + inputs + `,"encoding_format":"` + format + `"}`
				status, out, u := embedAnswer(t, r, body, 200, answer)
				got := append([]byte("status: "+itoa(status)+", usage: "+usageLine(u)+"\n\n"), prettyJSON(out)...)
				golden(t, filepath.Join("testdata", "golden", "embedding-answers", base+"."+format+".txt"), got)
			})
		}
	}
}

func usageLine(u Usage) string {
	s := "prompt " + itoa(int(u.Prompt)) + ", total " + itoa(int(u.Total))
	if u.Estimated {
		s += ", estimated"
	}
	return s
}

// embedAnswer routes an embeddings request and translates the provider's answer.
func embedAnswer(t *testing.T, r *Router, body string, status int, answer []byte) (int, []byte, Usage) {
	t.Helper()
	req, perr := r.Config().ParseRequest("POST", "/v1/embeddings", "", []byte(body))
	if perr != nil {
		t.Fatal(perr.Message)
	}
	up, rerr := r.Route(req, 0, 0)
	if rerr != nil {
		t.Fatal(rerr.Message)
	}
	rt := NewResponseTranslator(req, up, 0)
	if head := rt.Headers(status, "application/json"); !head.Buffer {
		t.Fatalf("head %+v", head)
	}
	st, out := rt.Finish(answer)
	return st, out, rt.Usage()
}

// The base64 form is OpenAI's: the values as little-endian float32s.
func TestEmbeddingsBase64(t *testing.T) {
	r := testRouter(t)
	_, out, _ := embedAnswer(t, r, `{"model":"to-ollama","input":"x","encoding_format":"base64"}`, 200,
		[]byte(`{"embeddings":[[0.5,-2,1e-3]],"prompt_eval_count":3}`))
	b, err := base64.StdEncoding.DecodeString(gjson.GetBytes(out, "data.0.embedding").Str)
	if err != nil || len(b) != 12 {
		t.Fatalf("%s: %v", out, err)
	}
	for i, want := range []float32{0.5, -2, 1e-3} {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])); got != want {
			t.Errorf("value %d = %v, want %v", i, got, want)
		}
	}
}

// Answers that cannot be written as OpenAI's are a 502; provider errors come back in OpenAI's
// shape with their status.
func TestEmbeddingsBadAnswers(t *testing.T) {
	r := testRouter(t)
	for _, c := range []struct{ model, input, answer string }{
		{"to-gemini", `"x"`, `{"embedding":{"values":[]}}`},
		{"to-gemini", `"x"`, `{"embedding":{"values":["a"]}}`},
		{"to-gemini", `["x","y"]`, `{"embeddings":[{"values":[1]}]}`},
		{"to-gemini", `"x"`, `{}`},
		{"to-gemini", `"x"`, `{"embedding":`},
		{"to-ollama", `["x","y"]`, `{"embeddings":[[1],[2],[3]]}`},
		{"to-ollama", `"x"`, `{"embeddings":[{"a":1}]}`},
		{"to-ollama", `"x"`, `{"embeddings":"no"}`},
	} {
		body := `{"model":"` + c.model + `","input":` + c.input + `}`
		status, out, _ := embedAnswer(t, r, body, 200, []byte(c.answer))
		if status != 502 || gjson.GetBytes(out, "error.type").Str != "server_error" {
			t.Errorf("%s %s: %d %s", c.model, c.answer, status, out)
		}
	}
	status, out, _ := embedAnswer(t, r, `{"model":"to-gemini","input":"x"}`, 429,
		[]byte(`{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}`))
	if status != 429 || gjson.GetBytes(out, "error.message").Str != "Resource exhausted" {
		t.Errorf("gemini error: %d %s", status, out)
	}
	status, out, _ = embedAnswer(t, r, `{"model":"to-ollama","input":"x"}`, 404, []byte(`{"error":"model \"m\" not found"}`))
	if status != 404 || !strings.Contains(gjson.GetBytes(out, "error.message").Str, "not found") {
		t.Errorf("ollama error: %d %s", status, out)
	}
}
