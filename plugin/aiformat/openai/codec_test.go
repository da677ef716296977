package openai

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

func TestRewritePresets(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":500,"seed":3,"store":true,"user":"u"}`
	stream := hub.Target{Model: "up", Stream: true, MaxTokens: 100}
	for _, c := range []struct {
		preset string
		checks [][2]string
	}{
		{"", [][2]string{{"model", `"up"`}, {"max_completion_tokens", "100"}, {"store", "true"}, {"stream_options.include_usage", "true"}}},
		{"mistral", [][2]string{{"max_tokens", "100"}, {"random_seed", "3"}, {"seed", ""}, {"user", ""}, {"stream_options", ""}}},
		{"groq", [][2]string{{"max_completion_tokens", "100"}, {"store", ""}, {"user", `"u"`}}},
		{"deepseek", [][2]string{{"max_tokens", "100"}, {"seed", ""}}},
		{"together", [][2]string{{"max_tokens", "100"}, {"store", ""}, {"seed", "3"}}},
		{"openrouter", [][2]string{{"max_tokens", "100"}, {"store", ""}, {"user", `"u"`}, {"stream_options.include_usage", "true"}}},
		{"lmstudio", [][2]string{{"max_tokens", "100"}, {"max_completion_tokens", ""}, {"store", ""}, {"seed", "3"}, {"stream_options.include_usage", "true"}}},
	} {
		p, ok := Presets[c.preset]
		if !ok {
			t.Fatalf("no preset %q", c.preset)
		}
		out := Rewrite(nil, body, stream, &p.Policy)
		for _, ch := range c.checks {
			want(t, out, ch[0], ch[1])
		}
	}
}

func TestInspect(t *testing.T) {
	v, err := Inspect(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`)
	if err != nil {
		t.Fatal(err.Message)
	}
	if v.Model != "m" || !v.Stream || !v.IncludeUsage || v.MaxTokens != 9 || v.Messages != 1 {
		t.Fatalf("view %+v", v)
	}
	if _, err := Inspect(`{"model":"m","messages":[{"role":"user","content":3}]}`); err == nil {
		t.Error("a number as content was accepted")
	}
}

func TestResponse(t *testing.T) {
	var r hub.Response
	body := `{"id":"c1","model":"g","created":5,"choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"length"}],
		"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`
	if err := DecodeResponse(body, &r); err != nil {
		t.Fatal(err.Message)
	}
	if r.ID != "c1" || len(r.Choices) != 1 || r.Choices[0].Finish != hub.FinishLength || r.Usage.Total != 7 {
		t.Fatalf("decoded %+v", r)
	}
	out := AppendResponse(nil, &r)
	want(t, out, "choices.0.message.content", `"hello"`)
	want(t, out, "choices.0.finish_reason", `"length"`)
	want(t, out, "usage.total_tokens", `7`)
}

func TestErrors(t *testing.T) {
	e := DecodeError(429, `{"error":{"message":"slow down","type":"rate_limit_error"}}`)
	if e.Kind != hub.KindRateLimit || e.Message != "slow down" {
		t.Fatalf("decoded %+v", e)
	}
	status, out := AppendError(nil, &hub.Error{Status: 404, Kind: hub.KindNotFound, Message: "gone", Param: "model", Code: "model_not_found"})
	if status != 404 {
		t.Errorf("status %d", status)
	}
	want(t, out, "error.message", `"gone"`)
	want(t, out, "error.param", `"model"`)
	want(t, out, "error.code", `"model_not_found"`)
}

func TestStream(t *testing.T) {
	var d StreamDecoder
	evs := d.Decode(sse.Event{Data: `{"id":"c1","model":"g","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`}, nil)
	text := false
	for _, ev := range evs {
		text = text || ev.Kind == hub.EvText && ev.Text == `"hi"`
	}
	if !text {
		t.Fatalf("no text in %+v", evs)
	}
	e := StreamEncoder{Created: 5}
	out := e.Encode(nil, &hub.Event{Kind: hub.EvStart, ID: "c1", Model: "g"})
	out = e.Encode(out, &hub.Event{Kind: hub.EvText, Text: `"hi"`})
	out = e.Encode(out, &hub.Event{Kind: hub.EvFinish, Finish: hub.FinishStop})
	out = e.Encode(out, &hub.Event{Kind: hub.EvDone})
	out = e.Close(out)
	var sc sse.Scanner
	sc.Push(out)
	sc.End()
	var datas []string
	for {
		ev, ok := sc.Next()
		if !ok {
			break
		}
		datas = append(datas, ev.Data)
	}
	if len(datas) < 2 || datas[len(datas)-1] != "[DONE]" || gjson.Get(datas[0], "choices.0.delta.content").Raw != `"hi"` && gjson.Get(datas[1], "choices.0.delta.content").Raw != `"hi"` {
		t.Fatalf("stream:\n%s", out)
	}
}
