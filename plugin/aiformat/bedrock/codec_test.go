package bedrock

import (
	"testing"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
	"github.com/tidwall/gjson"
)

func TestPath(t *testing.T) {
	for model, want := range map[string]string{
		"anthropic.claude-3-haiku-20240307-v1:0":                                                     "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0": "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3-2-1b-instruct-v1%3A0/converse",
		"../x?y#z": "/model/..%2Fx%3Fy%23z/converse",
	} {
		if got := Path("", model, false); got != want {
			t.Errorf("Path(%q) = %s, want %s", model, got, want)
		}
	}
	if got := Path("/base", "m", true); got != "/base/model/m/converse-stream" {
		t.Errorf("stream path %s", got)
	}
	for _, bad := range []string{"", ".", "..", "a b", "é", "a\nb"} {
		if ModelIDSafe(bad) {
			t.Errorf("ModelIDSafe(%q)", bad)
		}
	}
}

func TestRequestFromHub(t *testing.T) {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(`{"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},
		{"type":"image_url","image_url":{"url":"data:image/jpg;base64,AAAA"}}]}],"stop":"END","max_tokens":500,"temperature":0.2,"top_p":0.9,
		"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`)
	out, err := RequestFromHubDoc(nil, d.Root(), hub.Target{Model: "x", MaxTokens: 100})
	if err != nil {
		t.Fatal(err.Message)
	}
	for path, want := range map[string]string{
		"system":                      `[{"text":"be brief"}]`,
		"messages.0.content.1.image":  `{"format":"jpeg","source":{"bytes":"AAAA"}}`,
		"inferenceConfig":             `{"maxTokens":100,"temperature":0.2,"topP":0.9,"stopSequences":["END"]}`,
		"toolConfig.tools.0.toolSpec": `{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}`,
		"toolConfig.toolChoice":       `{"tool":{"name":"f"}}`,
		"model":                       ``,
	} {
		if got := gjson.GetBytes(out, path).Raw; got != want {
			t.Errorf("%s = %s, want %s in %s", path, got, want, out)
		}
	}
	d.Parse(`{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`)
	if _, err := RequestFromHubDoc(nil, d.Root(), hub.Target{}); err == nil || err.Param != "n" {
		t.Errorf("n=2: %v", err)
	}
}

func TestFinishAndErrors(t *testing.T) {
	for s, want := range map[string]hub.Finish{"end_turn": hub.FinishStop, "stop_sequence": hub.FinishStop, "max_tokens": hub.FinishLength,
		"tool_use": hub.FinishToolCalls, "guardrail_intervened": hub.FinishContentFilter, "content_filtered": hub.FinishContentFilter} {
		if got := FinishFrom(s); got != want {
			t.Errorf("FinishFrom(%s) = %v", s, got)
		}
	}
	if e := DecodeError(429, `{"message":"slow"}`); e.Kind != hub.KindRateLimit || e.Message != "slow" {
		t.Errorf("%+v", e)
	}
	if e := DecodeError(403, `{"Message":"denied"}`); e.Kind != hub.KindPermission || e.Message != "denied" {
		t.Errorf("%+v", e)
	}
	if e := DecodeError(502, `<html>`); e.Message != "upstream returned HTTP 502" {
		t.Errorf("%+v", e)
	}
	var dec StreamDecoder
	evs := dec.Decode(sse.Event{Name: ExceptionPrefix + "serviceUnavailableException", Data: `{"message":"busy"}`}, nil)
	if len(evs) != 1 || evs[0].Kind != hub.EvError || evs[0].Err.Status != 503 || evs[0].Err.Kind != hub.KindOverloaded {
		t.Errorf("%+v", evs)
	}
	if evs := dec.Decode(sse.Event{Name: "contentBlockDelta", Data: `{"delta":`}, nil); len(evs) != 1 || evs[0].Kind != hub.EvMalformed {
		t.Errorf("%+v", evs)
	}
}
