package gemini

import (
	"testing"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
	"github.com/tidwall/gjson"
)

func want(t *testing.T, doc []byte, path, value string) {
	t.Helper()
	if got := gjson.GetBytes(doc, path).Raw; got != value {
		t.Errorf("%s = %s, want %s in\n%s", path, got, value, doc)
	}
}

func TestPaths(t *testing.T) {
	model, stream, ok := ParsePath("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
	if !ok || !stream || model != "gemini-2.5-flash" {
		t.Errorf("ParsePath: %q %v %v", model, stream, ok)
	}
	if _, _, ok := ParsePath("/v1beta/cachedContents"); ok {
		t.Error("ParsePath accepted a path that is not a generation")
	}
	if p := Path("/v1beta", "g", true); p != "/v1beta/models/g:streamGenerateContent?alt=sse" {
		t.Errorf("Path: %s", p)
	}
}

func TestRequestFromHub(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},
		{"role":"assistant","content":"hello"}],"stop":["a","b"],"max_completion_tokens":50,"temperature":0.3}`
	out, err := RequestFromHub(nil, body, hub.Target{Model: "g", MaxTokens: 20})
	if err != nil {
		t.Fatal(err.Message)
	}
	want(t, out, "systemInstruction.parts.0.text", `"be brief"`)
	want(t, out, "contents.#.role", `["user","model"]`)
	want(t, out, "generationConfig.stopSequences", `["a","b"]`)
	want(t, out, "generationConfig.maxOutputTokens", `20`)
	want(t, out, "generationConfig.temperature", `0.3`)
	want(t, out, "model", ``) // the model is in the path
}

func TestRequestToHub(t *testing.T) {
	body := `{"systemInstruction":{"parts":[{"text":"terse"}]},"contents":[{"role":"user","parts":[{"text":"hi"}]}],
		"generationConfig":{"maxOutputTokens":8,"stopSequences":["x"]}}`
	out, err := RequestToHub(nil, body, "g", true)
	if err != nil {
		t.Fatal(err.Message)
	}
	want(t, out, "model", `"g"`)
	want(t, out, "stream", `true`)
	want(t, out, "messages.0.role", `"system"`)
	want(t, out, "messages.1.role", `"user"`)
	want(t, out, "max_tokens", `8`)
}

func TestRewriteCapsMaxTokens(t *testing.T) {
	body := `{"contents":[],"generationConfig":{"maxOutputTokens":500}}`
	want(t, Rewrite(nil, body, hub.Target{MaxTokens: 100}), "generationConfig.maxOutputTokens", `100`)
	if out := Rewrite(nil, body, hub.Target{}); string(out) != body {
		t.Errorf("an uncapped body changed: %s", out)
	}
}

func TestResponse(t *testing.T) {
	var r hub.Response
	body := `{"candidates":[{"content":{"parts":[{"text":"hello"}],"role":"model"},"finishReason":"SAFETY"}],
		"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,"totalTokenCount":7}}`
	if err := DecodeResponse(body, &r); err != nil {
		t.Fatal(err.Message)
	}
	if len(r.Choices) != 1 || r.Choices[0].Finish != hub.FinishContentFilter || r.Usage.Total != 7 {
		t.Fatalf("decoded %+v", r)
	}
	out := AppendResponse(nil, &r)
	want(t, out, "candidates.0.content.parts.0.text", `"hello"`)
	want(t, out, "usageMetadata.totalTokenCount", `7`)
}

func TestErrors(t *testing.T) {
	e := DecodeError(429, `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`)
	if e.Kind != hub.KindRateLimit || e.Message != "quota" {
		t.Fatalf("decoded %+v", e)
	}
	status, out := AppendError(nil, &hub.Error{Status: 404, Kind: hub.KindNotFound, Message: "no such model"})
	if status != 404 {
		t.Errorf("status %d", status)
	}
	want(t, out, "error.status", `"NOT_FOUND"`)
	want(t, out, "error.code", `404`)
}

func TestStreamDecoder(t *testing.T) {
	var d StreamDecoder
	evs := d.Decode(sse.Event{Data: `{"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},"index":0}]}`}, nil)
	text := false
	for _, ev := range evs {
		text = text || ev.Kind == hub.EvText && ev.Text == `"hi"`
	}
	if !text {
		t.Fatalf("no text in %+v", evs)
	}
}
