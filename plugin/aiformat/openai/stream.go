package openai

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
)

// StreamDecoder turns chat.completion.chunk events into hub events.
type StreamDecoder struct {
	started bool
	doc     jsonx.Doc
}

// Decode appends the hub events of one SSE event to out.
func (d *StreamDecoder) Decode(ev sse.Event, out []hub.Event) []hub.Event {
	data := ev.Data
	if data == "[DONE]" {
		return append(out, hub.Event{Kind: hub.EvDone})
	}
	if data == "" {
		return out // an event without data (a keep-alive): nothing to translate
	}
	if !d.doc.ParseNext(data) {
		return append(out, hub.Event{Kind: hub.EvMalformed})
	}
	var f [cCount]jsonx.Value
	d.doc.Root().Fields(chunkFields, f[:])
	if f[cError].Exists() {
		he := DecodeError(500, data)
		return append(out, hub.Event{Kind: hub.EvError, Err: he})
	}
	if !d.started {
		d.started = true
		out = append(out, hub.Event{Kind: hub.EvStart,
			ID: strings.Clone(f[cID].Str()), Model: strings.Clone(f[cModel].Str()), Created: f[cCreated].Int()})
	}
	for it := f[cChoices].Iter(); it.Next(); {
		out = decodeChoice(it.Value(), out)
	}
	if u := f[cUsage]; u.IsObject() {
		out = append(out, hub.Event{Kind: hub.EvUsage, Usage: usageFrom(u)})
	}
	return out
}

// chunkFields are the chat.completion.chunk members the decoder reads; choiceFields those of
// a choice and its delta.
var (
	chunkFields  = jsonx.NewNames("error", "id", "model", "created", "choices", "usage")
	choiceFields = jsonx.NewNames("index", "delta", "finish_reason")
	// respChoiceFields are those of a chat.completion choice.
	respChoiceFields = jsonx.NewNames("index", "message", "finish_reason")
	deltaFields      = jsonx.NewNames("content", "tool_calls")
)

const (
	cError = iota
	cID
	cModel
	cCreated
	cChoices
	cUsage
	cCount
)

func decodeChoice(c jsonx.Value, out []hub.Event) []hub.Event {
	var f, df [3]jsonx.Value
	c.Fields(choiceFields, f[:])
	idx := int(f[0].Int())
	f[1].Fields(deltaFields, df[:2])
	if t := df[0]; t.IsString() && t.Raw() != `""` {
		out = append(out, hub.Event{Kind: hub.EvText, Choice: idx, Text: t.Raw()})
	}
	for it := df[1].Iter(); it.Next(); {
		tc := it.Value()
		ti := int(tc.Get("index").Int())
		fn := tc.Get("function")
		args := fn.Get("arguments")
		text := ""
		if args.IsString() && args.Raw() != `""` {
			text = args.Raw()
		}
		id, name := tc.Get("id").Str(), fn.Get("name").Str()
		if id != "" || name != "" {
			out = append(out, hub.Event{Kind: hub.EvToolStart, Choice: idx, Tool: ti, ToolID: id, ToolName: name, Text: text})
		} else if text != "" {
			out = append(out, hub.Event{Kind: hub.EvToolArgs, Choice: idx, Tool: ti, Text: text})
		}
	}
	if fr := f[2]; fr.IsString() {
		out = append(out, hub.Event{Kind: hub.EvFinish, Choice: idx, Finish: FinishFrom(fr.Str())})
	}
	return out
}

// Close ends a stream that stopped without [DONE].
func (d *StreamDecoder) Close(out []hub.Event) []hub.Event {
	return append(out, hub.Event{Kind: hub.EvDone})
}

// StreamEncoder writes hub events as chat.completion.chunk SSE events.
type StreamEncoder struct {
	WantUsage bool  // the client asked stream_options.include_usage
	Created   int64 // used when the provider gives no timestamp

	prefix  []byte // `{"id":...,"object":...,"created":...,"model":...,"choices":[`
	started bool
	done    bool
	usage   hub.Usage
	scratch []byte
}

func (e *StreamEncoder) start(id, model string, created int64) {
	e.started = true
	if created == 0 {
		created = e.Created
	}
	w := jsonx.Writer{Buf: e.prefix[:0]}
	w.Obj()
	w.StrField("id", id)
	w.StrField("object", "chat.completion.chunk")
	w.IntField("created", created)
	w.StrField("model", model)
	w.Key("choices")
	w.Buf = append(w.Buf, '[')
	e.prefix = w.Buf
}

// Encode appends the SSE output for one hub event.
func (e *StreamEncoder) Encode(dst []byte, ev *hub.Event) []byte {
	if e.done {
		return dst
	}
	if !e.started {
		id := ev.ID
		if id == "" {
			id = "chatcmpl-stepgate"
		}
		e.start(id, ev.Model, ev.Created)
		if ev.Kind != hub.EvError {
			dst = e.chunk(dst, ev.Choice, `{"role":"assistant","content":""}`, hub.FinishNone)
		}
	}
	switch ev.Kind {
	case hub.EvText:
		dst = e.text(dst, ev.Choice, ev.Text)
	case hub.EvToolStart:
		dst = e.delta(dst, ev.Choice, func(w *jsonx.Writer) {
			w.Key("tool_calls")
			w.Arr()
			w.Obj()
			w.IntField("index", int64(ev.Tool))
			w.StrField("id", ev.ToolID)
			w.StrField("type", "function")
			w.Key("function")
			w.Obj()
			w.StrField("name", ev.ToolName)
			w.Key("arguments")
			if ev.Text != "" {
				w.Raw(ev.Text)
			} else {
				w.Str("")
			}
			w.End()
			w.End()
			w.EndArr()
		})
	case hub.EvToolArgs:
		dst = e.delta(dst, ev.Choice, func(w *jsonx.Writer) {
			w.Key("tool_calls")
			w.Arr()
			w.Obj()
			w.IntField("index", int64(ev.Tool))
			w.Key("function")
			w.Obj()
			w.RawField("arguments", ev.Text)
			w.End()
			w.End()
			w.EndArr()
		})
	case hub.EvFinish:
		dst = e.chunk(dst, ev.Choice, `{}`, ev.Finish)
	case hub.EvUsage:
		e.usage.Merge(ev.Usage)
	case hub.EvError:
		e.done = true
		e.scratch = appendErrorObject(e.scratch[:0], &ev.Err)
		dst = sse.AppendEvent(dst, "", e.scratch, "\n\n")
	case hub.EvDone:
		dst = e.finish(dst)
	}
	return dst
}

// Close ends the client's stream if the provider's did not say so.
func (e *StreamEncoder) Close(dst []byte) []byte {
	if e.done || !e.started {
		return dst
	}
	return e.finish(dst)
}

func (e *StreamEncoder) finish(dst []byte) []byte {
	e.done = true
	if e.WantUsage && e.started {
		w := jsonx.Writer{Buf: append(e.scratch[:0], e.prefix...)}
		w.Buf = append(w.Buf, ']', ',')
		w.Key("usage")
		appendUsage(&w, &e.usage)
		w.End()
		e.scratch = w.Buf
		dst = sse.AppendEvent(dst, "", e.scratch, "\n\n")
	}
	return append(dst, "data: [DONE]\n\n"...)
}

// chunk writes one chunk whose choices[0].delta is the raw object delta.
func (e *StreamEncoder) chunk(dst []byte, choice int, delta string, f hub.Finish) []byte {
	return e.write(dst, choice, delta, nil, f)
}

// text writes one chunk whose choices[0].delta is {"content": lit}: the event of almost every
// chunk, written in pieces of constant JSON.
func (e *StreamEncoder) text(dst []byte, choice int, lit string) []byte {
	w := jsonx.Writer{Buf: append(e.scratch[:0], e.prefix...)}
	w.Open(`{"index":`)
	w.Int(int64(choice))
	w.More(`,"delta":{"content":`)
	w.Raw(lit)
	w.Close(`},"finish_reason":null}]}`)
	e.scratch = w.Buf
	return sse.AppendEvent(dst, "", e.scratch, "\n\n")
}

// delta writes one chunk whose choices[0].delta members are written by body.
func (e *StreamEncoder) delta(dst []byte, choice int, body func(w *jsonx.Writer)) []byte {
	return e.write(dst, choice, "", body, hub.FinishNone)
}

func (e *StreamEncoder) write(dst []byte, choice int, raw string, body func(w *jsonx.Writer), f hub.Finish) []byte {
	w := jsonx.Writer{Buf: append(e.scratch[:0], e.prefix...)}
	w.Open(`{"index":`)
	w.Int(int64(choice))
	w.More(`,"delta":`)
	if body == nil {
		w.Raw(raw)
	} else {
		w.Obj()
		body(&w)
		w.End()
	}
	w.More(`,"finish_reason":`)
	finish(&w, f)
	w.Close(`}]}`)
	e.scratch = w.Buf
	return sse.AppendEvent(dst, "", e.scratch, "\n\n")
}
