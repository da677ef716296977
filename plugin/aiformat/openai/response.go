package openai

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// DecodeResponse reads a chat.completion body into r.
func DecodeResponse(body string, r *hub.Response) *hub.Error {
	return hub.DecodeAnswer(body, r, answerFrom)
}

// answerFrom reads the parsed answer root into r (see DecodeResponse).
func answerFrom(root jsonx.Value, r *hub.Response) *hub.Error {
	var f [cCount]jsonx.Value
	root.Fields(chunkFields, f[:]) // a chat.completion has the members of a chunk
	r.ID = strings.Clone(f[cID].Str())
	r.Model = strings.Clone(f[cModel].Str())
	r.Created = f[cCreated].Int()
	var cf [3]jsonx.Value
	var mf [mCount]jsonx.Value
	for it := f[cChoices].Iter(); it.Next(); {
		it.Value().Fields(respChoiceFields, cf[:])
		ch := r.Choice(int(cf[0].Int()))
		cf[1].Fields(messageFields, mf[:])
		if t := mf[mContent]; t.IsString() {
			ch.Text = append(ch.Text, t.Raw())
		} else if t := mf[mRefusal]; t.IsString() {
			ch.Text = append(ch.Text, t.Raw())
		}
		for tcs := mf[mToolCalls].Iter(); tcs.Next(); {
			tc := tcs.Value()
			fn := tc.Get("function")
			args := fn.Get("arguments")
			call := hub.ToolCall{ID: tc.Get("id").Str(), Name: fn.Get("name").Str(), Args: args.Raw(), ArgsLit: args.IsString()}
			if !args.Exists() {
				call.Args, call.ArgsLit = `"{}"`, true
			}
			ch.Tools = append(ch.Tools, call)
		}
		ch.Finish = FinishFrom(cf[2].Str())
	}
	r.Usage = usageFrom(f[cUsage])
	return nil
}

// messageFields are the members of a choice's message the decoder reads.
var messageFields = jsonx.NewNames("content", "refusal", "tool_calls")

const (
	mContent = iota
	mRefusal
	mToolCalls
	mCount
)

// FinishFrom maps an OpenAI finish_reason to the hub.
func FinishFrom(s string) hub.Finish {
	switch s {
	case "":
		return hub.FinishNone
	case "length":
		return hub.FinishLength
	case "tool_calls", "function_call":
		return hub.FinishToolCalls
	case "content_filter":
		return hub.FinishContentFilter
	}
	return hub.FinishStop
}

// UsageFrom reads an OpenAI usage object.
func UsageFrom(u gjson.Result) hub.Usage {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(u.Raw)
	return usageFrom(d.Root())
}

func usageFrom(u jsonx.Value) hub.Usage {
	if !u.IsObject() {
		return hub.Usage{}
	}
	var f [5]jsonx.Value
	u.Fields(usageFields, f[:])
	return hub.Usage{
		Known:      true,
		Prompt:     f[0].Int(),
		Completion: f[1].Int(),
		Total:      f[2].Int(),
		CacheRead:  f[3].Get("cached_tokens").Int(),
		Reasoning:  f[4].Get("reasoning_tokens").Int(),
	}
}

var usageFields = jsonx.NewNames("prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details")

// AppendResponse appends r as a chat.completion body.
func AppendResponse(dst []byte, r *hub.Response) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Open(`{"id":`)
	w.Str(r.ID)
	w.More(`,"object":"chat.completion","created":`)
	w.Int(r.Created)
	w.More(`,"model":`)
	w.Str(r.Model)
	w.More(`,"choices":[`)
	for i := range r.Choices {
		c := &r.Choices[i]
		w.Open(`{"index":`)
		w.Int(int64(i))
		w.More(`,"message":{"role":"assistant","content":`)
		if len(c.Text) == 0 && len(c.Tools) > 0 {
			w.Null()
		} else {
			w.LitConcat(c.Text)
		}
		if len(c.Tools) > 0 {
			w.Key("tool_calls")
			w.Arr()
			for j := range c.Tools {
				appendToolCall(&w, -1, &c.Tools[j])
			}
			w.EndArr()
		}
		w.Close(`}`)
		w.More(`,"finish_reason":`)
		finish(&w, c.Finish)
		w.Close(`}`)
	}
	w.Close(`]`)
	if r.Usage.Known {
		w.Key("usage")
		appendUsage(&w, &r.Usage)
	}
	w.Close(`}`)
	return w.Buf
}

// appendToolCall writes one tool call; index >= 0 adds the index member streams carry.
func appendToolCall(w *jsonx.Writer, index int, tc *hub.ToolCall) {
	w.Obj()
	if index >= 0 {
		w.IntField("index", int64(index))
	}
	w.StrField("id", tc.ID)
	w.StrField("type", "function")
	w.Key("function")
	w.Obj()
	w.StrField("name", tc.Name)
	w.Key("arguments")
	AppendArgsLit(w, tc)
	w.End()
	w.End()
}

// AppendArgsLit writes the tool call's arguments as a JSON string, OpenAI's shape.
func AppendArgsLit(w *jsonx.Writer, tc *hub.ToolCall) {
	switch {
	case tc.ArgsLit:
		w.Raw(tc.Args)
	case tc.Args == "":
		w.Str("{}")
	default:
		w.RawAsString(tc.Args)
	}
}

func finish(w *jsonx.Writer, f hub.Finish) {
	if f == hub.FinishNone {
		w.Null()
		return
	}
	w.Str(f.String())
}

func appendUsage(w *jsonx.Writer, u *hub.Usage) {
	w.Obj()
	w.IntField("prompt_tokens", u.Prompt)
	w.IntField("completion_tokens", u.Completion)
	total := u.Total
	if total == 0 {
		total = u.Prompt + u.Completion
	}
	w.IntField("total_tokens", total)
	if u.CacheRead > 0 {
		w.Key("prompt_tokens_details")
		w.Obj()
		w.IntField("cached_tokens", u.CacheRead)
		w.End()
	}
	if u.Reasoning > 0 {
		w.Key("completion_tokens_details")
		w.Obj()
		w.IntField("reasoning_tokens", u.Reasoning)
		w.End()
	}
	w.End()
}
