package openai

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// DecodeResponse reads a chat.completion body into r.
func DecodeResponse(body string, r *hub.Response) *hub.Error {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	if !d.Parse(body) {
		return &hub.Error{Status: 502, Kind: hub.KindServer, Message: "upstream response is not valid JSON"}
	}
	root := d.Root()
	r.ID = strings.Clone(root.Get("id").Str())
	r.Model = strings.Clone(root.Get("model").Str())
	r.Created = root.Get("created").Int()
	for it := root.Get("choices").Iter(); it.Next(); {
		c := it.Value()
		ch := r.Choice(int(c.Get("index").Int()))
		m := c.Get("message")
		if t := m.Get("content"); t.IsString() {
			ch.Text = append(ch.Text, t.Raw())
		} else if t := m.Get("refusal"); t.IsString() {
			ch.Text = append(ch.Text, t.Raw())
		}
		for tcs := m.Get("tool_calls").Iter(); tcs.Next(); {
			tc := tcs.Value()
			fn := tc.Get("function")
			args := fn.Get("arguments")
			call := hub.ToolCall{ID: tc.Get("id").Str(), Name: fn.Get("name").Str(), Args: args.Raw(), ArgsLit: args.IsString()}
			if !args.Exists() {
				call.Args, call.ArgsLit = `"{}"`, true
			}
			ch.Tools = append(ch.Tools, call)
		}
		ch.Finish = FinishFrom(c.Get("finish_reason").Str())
	}
	r.Usage = usageFrom(root.Get("usage"))
	return nil
}

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
	return hub.Usage{
		Known:      true,
		Prompt:     u.Get("prompt_tokens").Int(),
		Completion: u.Get("completion_tokens").Int(),
		Total:      u.Get("total_tokens").Int(),
		CacheRead:  u.Path("prompt_tokens_details", "cached_tokens").Int(),
		Reasoning:  u.Path("completion_tokens_details", "reasoning_tokens").Int(),
	}
}

// AppendResponse appends r as a chat.completion body.
func AppendResponse(dst []byte, r *hub.Response) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	w.StrField("id", r.ID)
	w.StrField("object", "chat.completion")
	w.IntField("created", r.Created)
	w.StrField("model", r.Model)
	w.Key("choices")
	w.Arr()
	for i := range r.Choices {
		c := &r.Choices[i]
		w.Obj()
		w.IntField("index", int64(i))
		w.Key("message")
		w.Obj()
		w.StrField("role", "assistant")
		w.Key("content")
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
		w.End()
		w.Key("finish_reason")
		finish(&w, c.Finish)
		w.End()
	}
	w.EndArr()
	if r.Usage.Known {
		w.Key("usage")
		appendUsage(&w, &r.Usage)
	}
	w.End()
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
