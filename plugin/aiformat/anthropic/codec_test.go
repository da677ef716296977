package anthropic

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
	body := `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"developer","content":"in French"},
		{"role":"user","content":"hi"}],"stop":"END","max_tokens":5000,"temperature":1.5}`
	out, err := RequestFromHub(nil, body, hub.Target{Model: "claude", MaxTokens: 100})
	if err != nil {
		t.Fatal(err.Message)
	}
	want(t, out, "model", `"claude"`)
	want(t, out, "system.#.text", `["be brief","in French"]`)
	want(t, out, "messages.#.role", `["user"]`)
	want(t, out, "stop_sequences", `["END"]`)
	want(t, out, "max_tokens", `100`)
	want(t, out, "temperature", `1`) // OpenAI's range is 0-2, Anthropic's 0-1
}

func TestRequestFromHubDefaultMaxTokens(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for _, c := range []struct {
		t    hub.Target
		want string
	}{
		{hub.Target{}, "4096"},
		{hub.Target{DefaultMaxTokens: 1024}, "1024"},
		{hub.Target{DefaultMaxTokens: 1024, MaxTokens: 2000}, "1024"},
		{hub.Target{DefaultMaxTokens: 1024, MaxTokens: 10}, "10"},
	} {
		out, err := RequestFromHub(nil, body, c.t)
		if err != nil {
			t.Fatal(err.Message)
		}
		want(t, out, "max_tokens", c.want)
	}
}

func TestRequestToHub(t *testing.T) {
	out, err := RequestToHub(nil, `{"model":"c","max_tokens":9,"system":"terse","messages":[{"role":"user","content":"hi"}],"stop_sequences":["x"]}`)
	if err != nil {
		t.Fatal(err.Message)
	}
	want(t, out, "messages.0", `{"role":"system","content":"terse"}`)
	want(t, out, "messages.1.role", `"user"`)
	want(t, out, "max_tokens", `9`)
	want(t, out, "stop", `["x"]`)
}

func TestResponse(t *testing.T) {
	var r hub.Response
	body := `{"id":"msg_1","model":"c","content":[{"type":"text","text":"hello"}],"stop_reason":"max_tokens","usage":{"input_tokens":3,"output_tokens":4}}`
	if err := DecodeResponse(body, &r); err != nil {
		t.Fatal(err.Message)
	}
	if r.ID != "msg_1" || len(r.Choices) != 1 || r.Choices[0].Finish != hub.FinishLength || r.Usage.Prompt != 3 || r.Usage.Completion != 4 {
		t.Fatalf("decoded %+v", r)
	}
	out := AppendResponse(nil, &r)
	want(t, out, "content.0.text", `"hello"`)
	want(t, out, "stop_reason", `"max_tokens"`)
	want(t, out, "usage.output_tokens", `4`)
}

func TestErrors(t *testing.T) {
	e := DecodeError(529, `{"type":"error","error":{"type":"overloaded_error","message":"busy"}}`)
	if e.Kind != hub.KindOverloaded || e.Message != "busy" {
		t.Fatalf("decoded %+v", e)
	}
	status, out := AppendError(nil, &hub.Error{Status: 429, Kind: hub.KindRateLimit, Message: "slow down"})
	if status != 429 {
		t.Errorf("status %d", status)
	}
	want(t, out, "error.type", `"rate_limit_error"`)
	want(t, out, "error.message", `"slow down"`)
}

func TestStreamDecoder(t *testing.T) {
	var d StreamDecoder
	evs := d.Decode(sse.Event{Name: "content_block_delta", Data: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`}, nil)
	if len(evs) != 1 || evs[0].Kind != hub.EvText || evs[0].Text != `"hi"` {
		t.Fatalf("decoded %+v", evs)
	}
	evs = d.Decode(sse.Event{Name: "message_delta", Data: `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}`}, evs[:0])
	finish := false
	for _, ev := range evs {
		finish = finish || ev.Kind == hub.EvFinish && ev.Finish == hub.FinishStop
	}
	if !finish {
		t.Fatalf("no stop in %+v", evs)
	}
}
