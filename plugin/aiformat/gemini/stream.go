package gemini

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
)

// StreamDecoder turns streamGenerateContent?alt=sse events (each a whole
// GenerateContentResponse) into hub events. Gemini sends function calls whole, so each becomes
// a tool start carrying all its arguments.
type StreamDecoder struct {
	started bool
	calls   int
	args    []byte // scratch for the arguments literal of the current call
	doc     jsonx.Doc
}

// Decode appends the hub events of one SSE event to out.
func (d *StreamDecoder) Decode(ev sse.Event, out []hub.Event) []hub.Event {
	if ev.Data == "" {
		return out // an event without data (a keep-alive): nothing to translate
	}
	if !d.doc.ParseNext(ev.Data) {
		return append(out, hub.Event{Kind: hub.EvMalformed})
	}
	var f [gCount]jsonx.Value
	d.doc.Root().Fields(responseFields, f[:])
	if f[gError].Exists() {
		return append(out, hub.Event{Kind: hub.EvError, Err: DecodeError(500, ev.Data)})
	}
	if !d.started {
		d.started = true
		out = append(out, hub.Event{Kind: hub.EvStart, ID: strings.Clone(f[gResponseID].Str()), Model: strings.Clone(f[gModelVersion].Str())})
	}
	var cf [cCount]jsonx.Value
	var pf [pCount]jsonx.Value
	for it := f[gCandidates].Iter(); it.Next(); {
		it.Value().Fields(candidateFields, cf[:])
		idx := int(cf[cIndex].Int())
		for pit := cf[cContent].Get("parts").Iter(); pit.Next(); {
			pit.Value().Fields(partFields, pf[:])
			if t := pf[pText]; t.IsString() && t.Raw() != `""` && !pf[pThought].IsTrue() {
				out = append(out, hub.Event{Kind: hub.EvText, Choice: idx, Text: t.Raw()})
			}
			if fc := pf[pFunctionCall]; fc.Exists() {
				args := fc.Get("args").Raw()
				if args == "" {
					args = "{}"
				}
				lit := string(jsonx.AppendString(d.args[:0], args))
				out = append(out, hub.Event{Kind: hub.EvToolStart, Choice: idx, Tool: d.calls,
					ToolID: callID(fc.Get("id").Str(), d.calls), ToolName: fc.Get("name").Str(), Text: lit})
				d.calls++
			}
		}
		if fr := cf[cFinishReason]; fr.IsString() {
			out = append(out, hub.Event{Kind: hub.EvFinish, Choice: idx, Finish: FinishFrom(fr.Str(), d.calls > 0)})
		}
	}
	if u := f[gUsageMetadata]; u.IsObject() {
		out = append(out, hub.Event{Kind: hub.EvUsage, Usage: usageFrom(u)})
	}
	return out
}

// Close ends the stream: Gemini has no end marker, the stream just ends.
func (d *StreamDecoder) Close(out []hub.Event) []hub.Event {
	return append(out, hub.Event{Kind: hub.EvDone})
}

// pendingCall is a tool call whose arguments are still arriving: Gemini clients expect each
// functionCall whole, so argument fragments are gathered until the call is complete.
type pendingCall struct {
	choice int
	call   hub.ToolCall
	args   []byte
}

// StreamEncoder writes hub events as streamGenerateContent?alt=sse events. Text leaves at once;
// a tool call leaves when it is complete (next call, finish or end); the last event carries
// finishReason and usageMetadata.
type StreamEncoder struct {
	id, model string
	started   bool
	done      bool
	pending   []pendingCall
	finishes  []hub.Finish // per choice
	usage     hub.Usage
	scratch   []byte
}

// Encode appends the SSE output for one hub event.
func (e *StreamEncoder) Encode(dst []byte, ev *hub.Event) []byte {
	if e.done {
		return dst
	}
	if !e.started {
		e.started = true
		e.id, e.model = strings.Clone(ev.ID), strings.Clone(ev.Model)
	}
	switch ev.Kind {
	case hub.EvText:
		dst = e.textChunk(dst, ev.Choice, ev.Text)
	case hub.EvToolStart:
		dst = e.flush(dst)
		p := pendingCall{choice: ev.Choice, call: hub.ToolCall{ID: strings.Clone(ev.ToolID), Name: strings.Clone(ev.ToolName)}}
		p.args = jsonx.AppendUnquoted(p.args, ev.Text)
		e.pending = append(e.pending, p)
	case hub.EvToolArgs:
		if n := len(e.pending); n > 0 {
			e.pending[n-1].args = jsonx.AppendUnquoted(e.pending[n-1].args, ev.Text)
		}
	case hub.EvFinish:
		dst = e.flush(dst)
		if ev.Choice >= 0 && ev.Choice < 64 {
			for len(e.finishes) <= ev.Choice {
				e.finishes = append(e.finishes, hub.FinishNone)
			}
			e.finishes[ev.Choice] = ev.Finish
		}
	case hub.EvUsage:
		e.usage.Merge(ev.Usage)
	case hub.EvError:
		e.done = true
		e.scratch = appendErrorObject(e.scratch[:0], 500, &ev.Err)
		dst = sse.AppendEvent(dst, "", e.scratch, "\r\n\r\n")
	case hub.EvDone:
		dst = e.end(dst)
	}
	return dst
}

// Close ends the client's stream.
func (e *StreamEncoder) Close(dst []byte) []byte {
	if e.done || !e.started {
		return dst
	}
	return e.end(dst)
}

func (e *StreamEncoder) open(w *jsonx.Writer) {
	w.Open(`{"candidates":[{"content":{"parts":[`)
}

func (e *StreamEncoder) close(w *jsonx.Writer, choice int, finish string, usage bool) []byte {
	w.Close(`],"role":"model"}`)
	if finish != "" {
		w.StrField("finishReason", finish)
	}
	w.IntField("index", int64(choice))
	w.Close(`}]`)
	if usage && e.usage.Known {
		w.Key("usageMetadata")
		appendUsage(w, &e.usage)
	}
	w.StrField("modelVersion", e.model)
	if e.id != "" {
		w.StrField("responseId", e.id)
	}
	w.End()
	return w.Buf
}

func (e *StreamEncoder) textChunk(dst []byte, choice int, lit string) []byte {
	w := jsonx.Writer{Buf: e.scratch[:0]}
	e.open(&w)
	w.Wrap(`{"text":`, lit, `}`)
	e.scratch = e.close(&w, choice, "", false)
	return sse.AppendEvent(dst, "", e.scratch, "\r\n\r\n")
}

// flush writes the gathered tool calls, one event per call.
func (e *StreamEncoder) flush(dst []byte) []byte {
	for i := range e.pending {
		p := &e.pending[i]
		w := jsonx.Writer{Buf: e.scratch[:0]}
		e.open(&w)
		if p.args == nil {
			p.args = []byte{}
		}
		appendCall(&w, &p.call, p.args)
		e.scratch = e.close(&w, p.choice, "", false)
		dst = sse.AppendEvent(dst, "", e.scratch, "\r\n\r\n")
	}
	e.pending = e.pending[:0]
	return dst
}

func (e *StreamEncoder) end(dst []byte) []byte {
	e.done = true
	dst = e.flush(dst)
	if len(e.finishes) == 0 {
		e.finishes = append(e.finishes, hub.FinishStop)
	}
	for i, f := range e.finishes {
		if f == hub.FinishNone {
			f = hub.FinishStop
		}
		w := jsonx.Writer{Buf: e.scratch[:0]}
		e.open(&w)
		textPart(&w, `""`)
		e.scratch = e.close(&w, i, FinishReason(f), i == len(e.finishes)-1)
		dst = sse.AppendEvent(dst, "", e.scratch, "\r\n\r\n")
	}
	return dst
}
