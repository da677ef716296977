package anthropic

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// DecodeResponse reads an Anthropic message into r (one choice). Thinking blocks are dropped.
func DecodeResponse(body string, r *hub.Response) *hub.Error {
	return hub.DecodeAnswer(body, r, answerFrom)
}

// answerFrom reads the parsed answer root into r (see DecodeResponse).
func answerFrom(root jsonx.Value, r *hub.Response) *hub.Error {
	var f [rCount]jsonx.Value
	root.Fields(messageFields, f[:])
	r.ID = strings.Clone(f[rID].Str())
	r.Model = strings.Clone(f[rModel].Str())
	ch := r.Choice(0)
	var b [dCount + 1]jsonx.Value
	for it := f[rContent].Iter(); it.Next(); {
		it.Value().Fields(blockFields, b[:])
		switch b[dType].Str() {
		case "text":
			if t := b[dText]; t.IsString() {
				ch.Text = append(ch.Text, t.Raw())
			}
		case "tool_use":
			input := b[dInput].Raw()
			if input == "" {
				input = "{}"
			}
			ch.Tools = append(ch.Tools, hub.ToolCall{ID: b[dID].Str(), Name: b[dName].Str(), Args: input})
		}
	}
	ch.Finish = FinishFrom(f[rStopReason].Str())
	r.Usage = usageFrom(f[rUsage])
	return nil
}

// messageFields are the members of a message the decoder reads; blockFields those of a
// content block (indexed like deltaFields, plus input).
var (
	messageFields = jsonx.NewNames("id", "model", "content", "stop_reason", "usage")
	blockFields   = jsonx.NewNames("type", "text", "partial_json", "stop_reason", "id", "name", "input")
)

const (
	rID = iota
	rModel
	rContent
	rStopReason
	rUsage
	rCount
)

const dInput = dCount // blockFields' extra name

// FinishFrom maps an Anthropic stop_reason to the hub.
func FinishFrom(s string) hub.Finish {
	switch s {
	case "":
		return hub.FinishNone
	case "max_tokens", "model_context_window_exceeded":
		return hub.FinishLength
	case "tool_use":
		return hub.FinishToolCalls
	case "refusal":
		return hub.FinishContentFilter
	}
	return hub.FinishStop // end_turn, stop_sequence, pause_turn
}

// StopReason maps a hub finish reason to Anthropic's stop_reason.
func StopReason(f hub.Finish) string {
	switch f {
	case hub.FinishLength:
		return "max_tokens"
	case hub.FinishToolCalls:
		return "tool_use"
	case hub.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

// UsageFrom reads an Anthropic usage object. Anthropic's input_tokens excludes cache reads and
// writes; the hub's Prompt includes them, as OpenAI's prompt_tokens does.
func UsageFrom(u gjson.Result) hub.Usage {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(u.Raw)
	return usageFrom(d.Root())
}

var usageFields = jsonx.NewNames("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")

func usageFrom(u jsonx.Value) hub.Usage {
	if !u.IsObject() {
		return hub.Usage{}
	}
	var f [4]jsonx.Value
	u.Fields(usageFields, f[:])
	in := f[0].Int()
	cr := f[1].Int()
	cw := f[2].Int()
	out := f[3].Int()
	us := hub.Usage{Known: true, Completion: out, CacheRead: cr, CacheWrite: cw}
	if in+cr+cw > 0 {
		us.Prompt = in + cr + cw
	}
	return us
}

// AppendResponse appends choice 0 of r as an Anthropic message.
func AppendResponse(dst []byte, r *hub.Response) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Open(`{"id":`)
	w.Str(msgID(r.ID))
	w.More(`,"type":"message","role":"assistant","model":`)
	w.Str(r.Model)
	w.More(`,"content":[`)
	var ch hub.Choice
	if len(r.Choices) > 0 {
		ch = r.Choices[0]
	}
	if len(ch.Text) > 0 {
		w.Open(`{"type":"text","text":`)
		w.LitConcat(ch.Text)
		w.Close(`}`)
	}
	for i := range ch.Tools {
		tc := &ch.Tools[i]
		w.Obj()
		w.StrField("type", "tool_use")
		w.StrField("id", tc.ID)
		w.StrField("name", tc.Name)
		w.RawField("input", argsObject(tc))
		w.End()
	}
	w.Close(`]`)
	w.More(`,"stop_reason":`)
	w.Str(StopReason(ch.Finish))
	w.More(`,"stop_sequence":null,"usage":`)
	appendUsage(&w, &r.Usage)
	w.Close(`}`)
	return w.Buf
}

func msgID(id string) string {
	if id == "" {
		return "msg_stepgate"
	}
	return id
}

// argsObject returns the tool call's arguments as a JSON object (invalid JSON becomes {}).
func argsObject(tc *hub.ToolCall) string {
	if !tc.ArgsLit {
		if tc.Args == "" {
			return "{}"
		}
		return tc.Args
	}
	obj, _ := jsonx.ArgsObject(jsonx.Unquote(tc.Args))
	return obj
}

func appendUsage(w *jsonx.Writer, u *hub.Usage) {
	w.Obj()
	in := u.Prompt - u.CacheRead - u.CacheWrite
	if in < 0 {
		in = 0
	}
	w.IntField("input_tokens", in)
	w.IntField("output_tokens", u.Completion)
	if u.CacheRead > 0 {
		w.IntField("cache_read_input_tokens", u.CacheRead)
	}
	if u.CacheWrite > 0 {
		w.IntField("cache_creation_input_tokens", u.CacheWrite)
	}
	w.End()
}
