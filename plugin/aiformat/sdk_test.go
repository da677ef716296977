package aiformat

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	assestream "github.com/anthropics/anthropic-sdk-go/packages/ssestream"
	"github.com/openai/openai-go/v3"
	ossestream "github.com/openai/openai-go/v3/packages/ssestream"
)

// The official SDKs decode request params leniently but drop what they do not know when they
// marshal again, so decode-then-marshal giving back our exact JSON proves every field we send
// has the name, place and type the SDK's schema gives it.

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

func upstreamBodies(t *testing.T, provider string) map[string][]byte {
	t.Helper()
	r := testRouter(t)
	out := map[string][]byte{}
	for _, file := range readInputs(t, "requests") {
		method, path, body := inboundRequest(t, file, "to-"+provider)
		req, perr := r.Config().ParseRequest(method, path, "", body)
		if perr != nil {
			t.Fatalf("%s: %s", file, perr.Body)
		}
		up, rerr := r.Route(req, 0, 0)
		if rerr != nil {
			continue // a request the provider cannot express; covered by the golden files
		}
		out[filepath.Base(file)] = up.Body
	}
	return out
}

func TestAnthropicRequestsMatchSDK(t *testing.T) {
	for name, body := range upstreamBodies(t, "anthropic") {
		var p anthropic.MessageNewParams
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("%s: SDK cannot decode our request: %v", name, err)
			continue
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(anthropicComparable(t, body), anthropicComparable(t, again)) {
			t.Errorf("%s: the SDK's schema does not hold our request\nours: %s\nsdk:  %s", name, body, again)
		}
	}
}

func TestOpenAIRequestsMatchSDK(t *testing.T) {
	for _, prov := range []string{"openai", "azure"} {
		for name, body := range upstreamBodies(t, prov) {
			var p openai.ChatCompletionNewParams
			if err := json.Unmarshal(body, &p); err != nil {
				t.Errorf("%s: SDK cannot decode our request: %v", name, err)
				continue
			}
			again, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(openAIComparable(t, body), openAIComparable(t, again)) {
				t.Errorf("%s/%s: the SDK's schema does not hold our request\nours: %s\nsdk:  %s", prov, name, body, again)
			}
		}
	}
}

// anthropicComparable removes what anthropic-sdk-go legitimately changes on the way through:
// "stream" (its streaming call sets it) and the string shorthand of system, message and
// tool_result content, which it spells as one text block.
func anthropicComparable(t *testing.T, b []byte) any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	delete(v, "stream")
	if sys, ok := v["system"]; ok {
		v["system"] = textBlocksOf(sys)
	}
	msgs, _ := v["messages"].([]any)
	for _, m := range msgs {
		mm := m.(map[string]any)
		mm["content"] = textBlocksOf(mm["content"])
		blocks, _ := mm["content"].([]any)
		for _, b := range blocks {
			if bm := b.(map[string]any); bm["type"] == "tool_result" {
				bm["content"] = textBlocksOf(bm["content"])
			}
		}
	}
	return v
}

func textBlocksOf(c any) any {
	if s, ok := c.(string); ok {
		return []any{map[string]any{"type": "text", "text": s}}
	}
	return c
}

// openAIComparable removes what openai-go legitimately does not round-trip: "stream" (its
// streaming call sets it), null members (it omits them), and a named tool_choice (its union
// decoder keeps only the type; checked by the golden files instead).
func openAIComparable(t *testing.T, b []byte) any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	delete(v, "stream")
	if _, ok := v["tool_choice"].(map[string]any); ok {
		delete(v, "tool_choice")
	}
	return dropNulls(v)
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropNulls(x[i])
		}
	}
	return v
}

// TestResponsesDecodeWithSDK decodes every translated response with the client's SDK and
// checks that no field is left over as unknown.
func TestResponsesDecodeWithSDK(t *testing.T) {
	for _, file := range readInputs(t, "responses") {
		base := strings.TrimSuffix(filepath.Base(file), ".json")
		body, _ := os.ReadFile(file)
		tr := newTranslator(DialectAnthropic, wireOf(base), false, true, testNow, "m")
		tr.Headers(200, "application/json")
		_, out := tr.Finish(body)
		var m anthropic.Message
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if len(m.JSON.ExtraFields) > 0 || m.Type != "message" || m.Role != "assistant" || m.StopReason == "" {
			t.Errorf("%s: anthropic SDK sees %+v", base, m)
		}
		for _, c := range m.Content {
			if c.Type != "text" && c.Type != "tool_use" && wireOf(base) != wireAnthropic {
				t.Errorf("%s: unexpected block %q", base, c.Type)
			}
		}

		tr = newTranslator(DialectOpenAI, wireOf(base), false, true, testNow, "m")
		tr.Headers(200, "application/json")
		_, out = tr.Finish(body)
		var cc openai.ChatCompletion
		if err := json.Unmarshal(out, &cc); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if len(cc.JSON.ExtraFields) > 0 || len(cc.Choices) == 0 || cc.Choices[0].FinishReason == "" || cc.Object != "chat.completion" {
			t.Errorf("%s: openai SDK sees %+v", base, cc)
		}
	}
}

func sseResponse(body []byte) *http.Response {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": []string{"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(body))}
}

// TestStreamsAccumulateWithSDK feeds every translated stream to the Anthropic and OpenAI SDKs'
// own accumulators and checks that both reconstruct the same answer: text, tool calls, stop
// reason and usage.
func TestStreamsAccumulateWithSDK(t *testing.T) {
	stopFor := map[string]anthropic.StopReason{"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens", "content_filter": "refusal"}
	for _, file := range readInputs(t, "streams") {
		base, in := streamInput(t, file)
		t.Run(base, func(t *testing.T) {
			outA, _ := runStream(clients[2], wireOf(base), [][]byte{in})
			stream := assestream.NewStream[anthropic.MessageStreamEventUnion](assestream.NewDecoder(sseResponse(outA)), nil)
			var msg anthropic.Message
			for stream.Next() {
				if err := msg.Accumulate(stream.Current()); err != nil {
					t.Fatalf("anthropic accumulate: %v\n%s", err, outA)
				}
			}
			if stream.Err() != nil {
				t.Fatal(stream.Err())
			}

			outO, _ := runStream(clients[1], wireOf(base), [][]byte{in})
			ostream := ossestream.NewStream[openai.ChatCompletionChunk](ossestream.NewDecoder(sseResponse(outO)), nil)
			acc := openai.ChatCompletionAccumulator{}
			for ostream.Next() {
				acc.AddChunk(ostream.Current())
			}
			if ostream.Err() != nil {
				t.Fatal(ostream.Err())
			}
			if len(acc.Choices) != 1 {
				t.Fatalf("openai: %d choices\n%s", len(acc.Choices), outO)
			}
			ch := acc.Choices[0]

			var text string
			var calls []anthropic.ContentBlockUnion
			for _, b := range msg.Content {
				switch b.Type {
				case "text":
					text += b.Text
				case "tool_use":
					calls = append(calls, b)
				}
			}
			if text != ch.Message.Content {
				t.Errorf("text: anthropic %q, openai %q", text, ch.Message.Content)
			}
			if len(calls) != len(ch.Message.ToolCalls) {
				t.Fatalf("tool calls: anthropic %d, openai %d", len(calls), len(ch.Message.ToolCalls))
			}
			for i, c := range calls {
				oc := ch.Message.ToolCalls[i]
				if c.ID != oc.ID || c.Name != oc.Function.Name || !sameJSON(t, c.Input, []byte(oc.Function.Arguments)) {
					t.Errorf("tool call %d: anthropic %s %s %s, openai %s %s %s", i, c.ID, c.Name, c.Input, oc.ID, oc.Function.Name, oc.Function.Arguments)
				}
			}
			if stopFor[ch.FinishReason] != msg.StopReason {
				t.Errorf("stop: anthropic %q, openai %q", msg.StopReason, ch.FinishReason)
			}
			if msg.Usage.OutputTokens != acc.Usage.CompletionTokens || msg.Usage.InputTokens+msg.Usage.CacheReadInputTokens != acc.Usage.PromptTokens {
				t.Errorf("usage: anthropic %+v, openai %+v", msg.Usage, acc.Usage)
			}
		})
	}
}
