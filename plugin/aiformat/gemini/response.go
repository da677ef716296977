package gemini

import (
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// DecodeResponse reads a GenerateContentResponse into r. Thought parts are dropped; a
// function call without id gets "call_<n>".
func DecodeResponse(body string, r *hub.Response) *hub.Error {
	return hub.DecodeAnswer(body, r, answerFrom)
}

// answerFrom reads the parsed answer root into r (see DecodeResponse).
func answerFrom(root jsonx.Value, r *hub.Response) *hub.Error {
	var f [gCount]jsonx.Value
	root.Fields(responseFields, f[:])
	r.ID = strings.Clone(f[gResponseID].Str())
	r.Model = strings.Clone(f[gModelVersion].Str())
	calls := 0
	var cf [cCount]jsonx.Value
	var pf [pCount]jsonx.Value
	for it := f[gCandidates].Iter(); it.Next(); {
		it.Value().Fields(candidateFields, cf[:])
		ch := r.Choice(int(cf[cIndex].Int()))
		for pit := cf[cContent].Get("parts").Iter(); pit.Next(); {
			pit.Value().Fields(partFields, pf[:])
			if t := pf[pText]; t.IsString() && !pf[pThought].IsTrue() {
				ch.Text = append(ch.Text, t.Raw())
			}
			if fc := pf[pFunctionCall]; fc.Exists() {
				ch.Tools = append(ch.Tools, hub.ToolCall{ID: callID(fc.Get("id").Str(), calls), Name: fc.Get("name").Str(), Args: fc.Get("args").Raw()})
				calls++
			}
		}
		ch.Finish = FinishFrom(cf[cFinishReason].Str(), len(ch.Tools) > 0)
	}
	if len(r.Choices) == 0 && f[gPromptFeedback].Get("blockReason").Exists() {
		r.Choice(0).Finish = hub.FinishContentFilter
	}
	r.Usage = usageFrom(f[gUsageMetadata])
	return nil
}

// responseFields, candidateFields and partFields are the members of a
// GenerateContentResponse, a candidate and a part that the decoders read.
var (
	responseFields  = jsonx.NewNames("error", "responseId", "modelVersion", "candidates", "promptFeedback", "usageMetadata")
	candidateFields = jsonx.NewNames("index", "content", "finishReason")
	partFields      = jsonx.NewNames("text", "thought", "functionCall")
)

const (
	gError = iota
	gResponseID
	gModelVersion
	gCandidates
	gPromptFeedback
	gUsageMetadata
	gCount
)

const (
	cIndex = iota
	cContent
	cFinishReason
	cCount
)

const (
	pText = iota
	pThought
	pFunctionCall
	pCount
)

func callID(id string, n int) string {
	if id != "" {
		return id
	}
	return "call_" + strconv.Itoa(n)
}

// FinishFrom maps a Gemini finishReason to the hub. Gemini says STOP after function calls too;
// with calls it is the hub's tool_calls.
func FinishFrom(s string, calls bool) hub.Finish {
	switch s {
	case "":
		return hub.FinishNone
	case "MAX_TOKENS":
		return hub.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "LANGUAGE":
		return hub.FinishContentFilter
	}
	if calls {
		return hub.FinishToolCalls
	}
	return hub.FinishStop // STOP, OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, ...
}

// FinishReason maps a hub finish reason to Gemini's finishReason.
func FinishReason(f hub.Finish) string {
	switch f {
	case hub.FinishLength:
		return "MAX_TOKENS"
	case hub.FinishContentFilter:
		return "SAFETY"
	}
	return "STOP"
}

// UsageFrom reads usageMetadata. Thought tokens are billed as output, so they count in the
// hub's Completion (as OpenAI's reasoning tokens do); tool-use prompt tokens count as prompt.
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
	var f [6]jsonx.Value
	u.Fields(usageFields, f[:])
	thoughts := f[0].Int()
	return hub.Usage{
		Known:      true,
		Prompt:     f[1].Int() + f[2].Int(),
		Completion: f[3].Int() + thoughts,
		Total:      f[4].Int(),
		CacheRead:  f[5].Int(),
		Reasoning:  thoughts,
	}
}

var usageFields = jsonx.NewNames("thoughtsTokenCount", "promptTokenCount", "toolUsePromptTokenCount",
	"candidatesTokenCount", "totalTokenCount", "cachedContentTokenCount")

// AppendResponse appends r as a GenerateContentResponse.
func AppendResponse(dst []byte, r *hub.Response) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	w.Key("candidates")
	w.Arr()
	for i := range r.Choices {
		c := &r.Choices[i]
		w.Obj()
		w.Key("content")
		w.Obj()
		w.Key("parts")
		w.Arr()
		if len(c.Text) > 0 {
			w.Obj()
			w.Key("text")
			w.LitConcat(c.Text)
			w.End()
		}
		for j := range c.Tools {
			appendCall(&w, &c.Tools[j], nil)
		}
		w.EndArr()
		w.StrField("role", "model")
		w.End()
		w.StrField("finishReason", FinishReason(c.Finish))
		w.IntField("index", int64(i))
		w.End()
	}
	w.EndArr()
	if r.Usage.Known {
		w.Key("usageMetadata")
		appendUsage(&w, &r.Usage)
	}
	w.StrField("modelVersion", r.Model)
	if r.ID != "" {
		w.StrField("responseId", r.ID)
	}
	w.End()
	return w.Buf
}

// appendCall writes a functionCall part. args, when not nil, is the arguments JSON text
// accumulated from a stream.
func appendCall(w *jsonx.Writer, tc *hub.ToolCall, args []byte) {
	w.Obj()
	w.Key("functionCall")
	w.Obj()
	if tc.ID != "" {
		w.StrField("id", tc.ID)
	}
	w.StrField("name", tc.Name)
	w.Key("args")
	switch {
	case args != nil:
		obj, _ := jsonx.ArgsObject(string(args))
		w.Raw(obj)
	case tc.ArgsLit:
		obj, _ := jsonx.ArgsObject(jsonx.Unquote(tc.Args))
		w.Raw(obj)
	case tc.Args == "":
		w.Raw("{}")
	default:
		w.Raw(tc.Args)
	}
	w.End()
	w.End()
}

func appendUsage(w *jsonx.Writer, u *hub.Usage) {
	w.Obj()
	w.IntField("promptTokenCount", u.Prompt)
	w.IntField("candidatesTokenCount", u.Completion-u.Reasoning)
	total := u.Total
	if total == 0 {
		total = u.Prompt + u.Completion
	}
	w.IntField("totalTokenCount", total)
	if u.CacheRead > 0 {
		w.IntField("cachedContentTokenCount", u.CacheRead)
	}
	if u.Reasoning > 0 {
		w.IntField("thoughtsTokenCount", u.Reasoning)
	}
	w.End()
}
