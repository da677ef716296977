// Package ollama is the aiformat codec for Ollama's native chat API (POST /api/chat), an
// outbound provider only: hub requests are translated to it, and its JSON responses, NDJSON
// streams and errors are translated back to the hub.
package ollama

import (
	"strconv"
	"strings"
	"time"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/dataurl"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
	"github.com/tidwall/gjson"
)

// Path is Ollama's chat endpoint.
const Path = "/api/chat"

func mpath(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

// RequestFromHub appends the /api/chat form of a validated hub request to dst. Content parts
// are flattened to text plus base64 images (Ollama takes no image URLs); sampling parameters go
// in options (max tokens as num_predict); stream is always explicit because Ollama streams by
// default.
func RequestFromHub(dst []byte, body string, t hub.Target) ([]byte, *hub.Error) {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(body)
	return RequestFromHubDoc(dst, d.Root(), t)
}

// RequestFromHubDoc is RequestFromHub for a parsed hub request.
func RequestFromHubDoc(dst []byte, root jsonx.Value, t hub.Target) ([]byte, *hub.Error) {
	var f [hCount]jsonx.Value
	root.Fields(hubFields, f[:])
	if n := f[hN]; n.Exists() && n.Int() > 1 {
		return dst, hub.Invalid("n", "Ollama returns one choice; n must be 1")
	}
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	model := t.Model
	if model == "" {
		model = f[hModel].Str()
	}
	w.StrField("model", model)
	w.Key("messages")
	w.Arr()
	if err := messages(&w, f[hMessages]); err != nil {
		return dst, err
	}
	w.EndArr()
	w.Key("stream")
	w.Bool(t.Stream)
	if tools := f[hTools]; tools.NonEmpty() {
		w.RawField("tools", tools.Raw()) // Ollama takes OpenAI's tool shape
	}
	rf := f[hResponseFormat]
	switch rf.Get("type").Str() {
	case "json_object":
		w.StrField("format", "json")
	case "json_schema":
		if s := rf.Path("json_schema", "schema"); s.IsObject() {
			w.RawField("format", s.Raw())
		} else {
			w.StrField("format", "json")
		}
	}
	options(&w, &f, t)
	w.End()
	return w.Buf, nil
}

// hubFields are the hub request members the translation reads, found in one pass; the
// sampling parameters come first, named as in Ollama's options.
var hubFields = jsonx.NewNames("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty",
	"n", "model", "messages", "tools", "response_format", "max_completion_tokens", "max_tokens", "stop")

const hSampling = 5 // the first five names

const (
	hN = hSampling + iota
	hModel
	hMessages
	hTools
	hResponseFormat
	hMaxCompletionTokens
	hMaxTokens
	hStop
	hCount
)

func messages(w *jsonx.Writer, msgs jsonx.Value) *hub.Error {
	var names [][2]string
	i := 0
	var f [hub.MsgFieldCount]jsonx.Value
	for it := msgs.Iter(); it.Next(); i++ {
		it.Value().Fields(hub.MessageFields, f[:])
		role := f[hub.MsgRole].Str()
		switch {
		case hub.IsSystem(role):
			role = "system" // Ollama knows no "developer"
		case role == "user", role == "assistant", role == "tool":
		default:
			return hub.Invalid(mpath(i)+".role", "role "+strconv.Quote(role)+" is not supported by Ollama")
		}
		w.Obj()
		w.StrField("role", role)
		if err := content(w, i, f[hub.MsgContent]); err != nil {
			return err
		}
		if role == "tool" {
			id := f[hub.MsgToolCallID].Str()
			for k := len(names) - 1; k >= 0; k-- {
				if names[k][0] == id {
					w.StrField("tool_name", names[k][1])
					break
				}
			}
		}
		if calls := f[hub.MsgToolCalls]; calls.NonEmpty() {
			w.Key("tool_calls")
			w.Arr()
			j := 0
			for cit := calls.Iter(); cit.Next(); j++ {
				tc := cit.Value()
				fn := tc.Get("function")
				args, ok := jsonx.ArgsObject(fn.Get("arguments").Str())
				if !ok {
					return hub.Invalid(mpath(i)+".tool_calls["+strconv.Itoa(j)+"].function.arguments", "must be a JSON object")
				}
				name := fn.Get("name")
				names = append(names, [2]string{tc.Get("id").Str(), name.Str()})
				w.Obj()
				w.Key("function")
				w.Obj()
				w.RawField("name", name.Raw())
				w.RawField("arguments", args)
				w.End()
				w.End()
			}
			w.EndArr()
		}
		w.End()
	}
	return nil
}

// content writes "content" (text only) and "images" (base64) from hub content.
func content(w *jsonx.Writer, i int, c jsonx.Value) *hub.Error {
	w.Key("content")
	switch {
	case c.IsString():
		w.Raw(c.Raw())
		return nil
	case !c.IsArray():
		w.Str("")
		return nil
	}
	var litBuf [8]string // most turns have few text parts: no allocation
	lits := litBuf[:0]
	images := 0
	var err *hub.Error
	j := 0
	for it := c.Iter(); it.Next(); j++ {
		p := it.Value()
		switch p.Get("type").Str() {
		case "text":
			lits = append(lits, p.Get("text").Raw())
		case "image_url":
			images++
		default:
			err = hub.Invalid(mpath(i)+".content["+strconv.Itoa(j)+"].type", "content part "+strconv.Quote(p.Get("type").String())+" is not supported by Ollama")
		}
		if err != nil {
			break
		}
	}
	w.LitConcat(lits)
	if err != nil || images == 0 {
		return err
	}
	w.Key("images")
	w.Arr()
	j = 0
	for it := c.Iter(); it.Next(); j++ {
		p := it.Value()
		if p.Get("type").StrIs("image_url") {
			u := p.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			_, data, ok := dataurl.Parse(u.Str())
			if !ok {
				err = hub.Invalid(mpath(i)+".content["+strconv.Itoa(j)+"].image_url.url", "Ollama takes only inline base64 images (data: URLs)")
				break
			}
			w.Str(data)
		}
	}
	w.EndArr()
	return err
}

func options(w *jsonx.Writer, f *[hCount]jsonx.Value, t hub.Target) {
	open := false
	field := func(k string) {
		if !open {
			w.Key("options")
			w.Obj()
			open = true
		}
		w.Key(k)
	}
	for i := 0; i < hSampling; i++ {
		if v := f[i]; v.IsNumber() {
			field(hubFields.Name(i))
			w.Raw(v.Raw())
		}
	}
	if n := t.ClampMaxTokens(hub.RequestedMaxTokens(f[hMaxCompletionTokens], f[hMaxTokens])); n > 0 {
		field("num_predict")
		w.Int(n)
	}
	if s := f[hStop]; hub.HasStop(s) {
		field("stop")
		hub.WriteStop(w, s)
	}
	if open {
		w.End()
	}
}

// FinishFrom maps Ollama's done_reason to the hub ("stop", "length", "load", "unload").
func FinishFrom(s string, calls bool) hub.Finish {
	if s == "length" {
		return hub.FinishLength
	}
	if calls {
		return hub.FinishToolCalls
	}
	return hub.FinishStop
}

// UsageFrom reads prompt_eval_count and eval_count.
func UsageFrom(root gjson.Result) hub.Usage {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(root.Raw)
	return usageFrom(d.Root())
}

func usageFrom(root jsonx.Value) hub.Usage {
	p, c := root.Get("prompt_eval_count"), root.Get("eval_count")
	if !p.Exists() && !c.Exists() {
		return hub.Usage{}
	}
	return hub.Usage{Known: true, Prompt: p.Int(), Completion: c.Int(), Total: p.Int() + c.Int()}
}

func created(root jsonx.Value) int64 {
	t, err := time.Parse(time.RFC3339Nano, root.Get("created_at").Str())
	if err != nil {
		return 0
	}
	return t.Unix()
}

// DecodeResponse reads a non-streamed /api/chat response into r. Ollama gives tool calls no
// id: they get "call_<n>".
func DecodeResponse(body string, r *hub.Response) *hub.Error {
	return hub.DecodeAnswer(body, r, answerFrom)
}

// answerFrom reads the parsed answer root into r (see DecodeResponse).
func answerFrom(root jsonx.Value, r *hub.Response) *hub.Error {
	r.Model = strings.Clone(root.Get("model").Str())
	r.Created = created(root)
	ch := r.Choice(0)
	m := root.Get("message")
	if t := m.Get("content"); t.IsString() && t.Raw() != `""` {
		ch.Text = append(ch.Text, t.Raw())
	}
	for it := m.Get("tool_calls").Iter(); it.Next(); {
		tc := it.Value()
		fn := tc.Get("function")
		args := fn.Get("arguments").Raw()
		if args == "" {
			args = "{}"
		}
		ch.Tools = append(ch.Tools, hub.ToolCall{ID: callID(tc.Get("id").Str(), len(ch.Tools)), Name: fn.Get("name").Str(), Args: args})
	}
	ch.Finish = FinishFrom(root.Get("done_reason").Str(), len(ch.Tools) > 0)
	r.Usage = usageFrom(root)
	return nil
}

func callID(id string, n int) string {
	if id != "" {
		return id
	}
	return "call_" + strconv.Itoa(n)
}

// StreamDecoder turns /api/chat NDJSON lines into hub events.
type StreamDecoder struct {
	started bool
	calls   int
	doc     jsonx.Doc
}

// Decode appends the hub events of one NDJSON line to out.
func (d *StreamDecoder) Decode(ev sse.Event, out []hub.Event) []hub.Event {
	if ev.Data == "" {
		return out
	}
	if !d.doc.ParseNext(ev.Data) {
		return append(out, hub.Event{Kind: hub.EvMalformed})
	}
	root := d.doc.Root()
	if e := root.Get("error"); e.Exists() {
		return append(out, hub.Event{Kind: hub.EvError, Err: DecodeError(500, ev.Data)})
	}
	if !d.started {
		d.started = true
		out = append(out, hub.Event{Kind: hub.EvStart, Model: strings.Clone(root.Get("model").Str()), Created: created(root)})
	}
	m := root.Get("message")
	if t := m.Get("content"); t.IsString() && t.Raw() != `""` {
		out = append(out, hub.Event{Kind: hub.EvText, Text: t.Raw()})
	}
	for it := m.Get("tool_calls").Iter(); it.Next(); {
		tc := it.Value()
		fn := tc.Get("function")
		args := fn.Get("arguments").Raw()
		if args == "" {
			args = "{}"
		}
		out = append(out, hub.Event{Kind: hub.EvToolStart, Tool: d.calls, ToolID: callID(tc.Get("id").Str(), d.calls),
			ToolName: fn.Get("name").Str(), Text: string(jsonx.AppendString(nil, args))})
		d.calls++
	}
	if root.Get("done").IsTrue() {
		out = append(out, hub.Event{Kind: hub.EvFinish, Finish: FinishFrom(root.Get("done_reason").Str(), d.calls > 0)})
		if u := usageFrom(root); u.Known {
			out = append(out, hub.Event{Kind: hub.EvUsage, Usage: u})
		}
		out = append(out, hub.Event{Kind: hub.EvDone})
	}
	return out
}

// Close ends a stream that stopped before its done line.
func (d *StreamDecoder) Close(out []hub.Event) []hub.Event {
	return append(out, hub.Event{Kind: hub.EvDone})
}

// DecodeError reads Ollama's {"error":"message"}.
func DecodeError(status int, body string) hub.Error {
	e := hub.Error{Status: status, Kind: hub.KindForStatus(status)}
	if m := gjson.Get(body, "error"); gjson.Valid(body) && m.Type == gjson.String && m.Str != "" {
		e.Message = strings.Clone(m.Str)
	} else {
		e.Message = "upstream returned HTTP " + strconv.Itoa(status)
	}
	return e
}
