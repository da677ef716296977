package ollama

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

func TestRequestFromHub(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}],
		"stop":"END","max_tokens":500,"temperature":0.2,"response_format":{"type":"json_object"}}`
	out, err := RequestFromHub(nil, body, hub.Target{Model: "llama3.2", MaxTokens: 100})
	if err != nil {
		t.Fatal(err.Message)
	}
	want(t, out, "model", `"llama3.2"`)
	want(t, out, "messages.#.role", `["system","user"]`) // Ollama knows no "developer"
	want(t, out, "stream", `false`)                      // explicit: Ollama streams by default
	want(t, out, "options.stop", `["END"]`)
	want(t, out, "options.num_predict", `100`)
	want(t, out, "options.temperature", `0.2`)
	want(t, out, "format", `"json"`)
}

func TestRequestFromHubRefuses(t *testing.T) {
	for body, param := range map[string]string{
		`{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`: "n",
		`{"model":"m","messages":[{"role":"critic","content":"hi"}]}`:     "messages[0].role",
	} {
		_, err := RequestFromHub(nil, body, hub.Target{})
		if err == nil || err.Param != param {
			t.Errorf("%s: got %+v, want an error on %s", body, err, param)
		}
	}
}

func TestResponse(t *testing.T) {
	var r hub.Response
	body := `{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"hello"},
		"done":true,"done_reason":"length","prompt_eval_count":3,"eval_count":4}`
	if err := DecodeResponse(body, &r); err != nil {
		t.Fatal(err.Message)
	}
	if len(r.Choices) != 1 || r.Choices[0].Finish != hub.FinishLength || r.Usage.Prompt != 3 || r.Usage.Completion != 4 || r.Created == 0 {
		t.Fatalf("decoded %+v", r)
	}
}

func TestStreamDecoder(t *testing.T) {
	var d StreamDecoder
	evs := d.Decode(sse.Event{Data: `{"model":"llama3.2","message":{"role":"assistant","content":"hi"},"done":false}`}, nil)
	text := false
	for _, ev := range evs {
		text = text || ev.Kind == hub.EvText && ev.Text == `"hi"`
	}
	if !text {
		t.Fatalf("no text in %+v", evs)
	}
	evs = d.Decode(sse.Event{Data: `{"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":2}`}, evs[:0])
	done := false
	for _, ev := range evs {
		done = done || ev.Kind == hub.EvFinish && ev.Finish == hub.FinishStop
	}
	if !done {
		t.Fatalf("no finish in %+v", evs)
	}
}

func TestDecodeError(t *testing.T) {
	e := DecodeError(404, `{"error":"model \"x\" not found, try pulling it first"}`)
	if e.Kind != hub.KindNotFound || e.Message == "" {
		t.Fatalf("decoded %+v", e)
	}
}
