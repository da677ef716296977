package aiformat

import (
	"testing"

	"github.com/tidwall/gjson"
)

func TestModelResponse(t *testing.T) {
	cfg, err := ParseConfig(gjson.Parse(testConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		d      Dialect
		id     string
		allow  []string
		status int
		want   string
	}{
		{"openai", DialectOpenAI, "to-anthropic", nil, 200, `{"id":"to-anthropic","object":"model","created":0,"owned_by":"anthropic"}`},
		{"allowed by pattern", DialectOpenAI, "to-azure", []string{"to-a*"}, 200, `{"id":"to-azure","object":"model","created":0,"owned_by":"azure"}`},
		{"anthropic", DialectAnthropic, "to-openai", nil, 200, `{"type":"model","id":"to-openai","display_name":"to-openai","created_at":"1970-01-01T00:00:00Z"}`},
		{"gemini", DialectGemini, "to-gemini", nil, 200, `{"name":"models/to-gemini","displayName":"to-gemini","supportedGenerationMethods":["generateContent","streamGenerateContent"]}`},
		{"not allowed", DialectOpenAI, "to-openai", []string{"to-a*"}, 404, `{"error":{"message":"model \"to-openai\" does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}`},
		{"unknown", DialectOpenAI, "gpt-5", nil, 404, `{"error":{"message":"model \"gpt-5\" does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}`},
		{"unknown anthropic", DialectAnthropic, "nope", nil, 404, `{"type":"error","error":{"type":"not_found_error","message":"model \"nope\" does not exist"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, e := cfg.ModelResponse(c.d, c.id, c.allow)
			status := 200
			if e != nil {
				status, body = e.Status, e.Body
			}
			if status != c.status || string(body) != c.want {
				t.Errorf("got %d %s\nwant %d %s", status, body, c.status, c.want)
			}
		})
	}
}

func TestMatchModelAndCountTokens(t *testing.T) {
	for _, c := range []struct {
		method, path string
		d            Dialect
		ep           Endpoint
		id           string
	}{
		{"GET", "/v1/models/gpt-4o", DialectOpenAI, EndpointModel, "gpt-4o"},
		{"GET", "/api/v1/models/meta-llama/Llama-3-8B?x=1", DialectOpenAI, EndpointModel, "meta-llama/Llama-3-8B"},
		{"GET", "/v1/models/meta-llama%2FLlama-3-8B", DialectOpenAI, EndpointModel, "meta-llama/Llama-3-8B"},
		{"GET", "/v1beta/models/gemini-2.5-flash", DialectGemini, EndpointModel, "gemini-2.5-flash"},
		{"GET", "/v1/models/", DialectNone, EndpointNone, ""},
		{"GET", "/v1beta/models/g:generateContent", DialectNone, EndpointNone, ""},
		{"POST", "/v1/models/gpt-4o", DialectNone, EndpointNone, ""},
		{"POST", "/v1/messages/count_tokens", DialectAnthropic, EndpointCountTokens, ""},
		{"GET", "/v1/messages/count_tokens", DialectNone, EndpointNone, ""},
	} {
		d, ep := Match(c.method, c.path)
		if d != c.d || ep != c.ep || (ep == EndpointModel && ModelID(c.path) != c.id) {
			t.Errorf("%s %s: %v %v %q", c.method, c.path, d, ep, ModelID(c.path))
		}
	}
}

func TestCountTokensResponse(t *testing.T) {
	cfg, err := ParseConfig(gjson.Parse(testConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"to-anthropic","system":"Be brief.","messages":[{"role":"user","content":"How many tokens is this prompt, roughly?"}]}`
	req, perr := cfg.ParseRequest("POST", "/v1/messages/count_tokens", "", []byte(body))
	if perr != nil {
		t.Fatal(perr.Message)
	}
	if req.Endpoint != EndpointCountTokens || req.PromptTokens == 0 {
		t.Fatalf("request %+v", req)
	}
	out, e := cfg.CountTokensResponse(req)
	if e != nil {
		t.Fatal(e.Message)
	}
	if want := `{"input_tokens":` + itoa(int(req.PromptTokens)) + `}`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}

	req, _ = cfg.ParseRequest("POST", "/v1/messages/count_tokens", "", []byte(`{"model":"unrouted","messages":[{"role":"user","content":"hi"}]}`))
	noDefault, _ := ParseConfig(gjson.Parse(`{"providers":{"a":{"type":"anthropic","cluster":"a","api_key":"k"}},"models":{"routes":{"claude":"a"}}}`), "")
	if _, e := noDefault.CountTokensResponse(req); e == nil || e.Status != 404 || gjson.GetBytes(e.Body, "error.type").Str != "not_found_error" {
		t.Errorf("unknown model: %+v", e)
	}
}
