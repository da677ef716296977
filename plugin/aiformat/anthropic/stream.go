package anthropic

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
)

// maxBlocks bounds the content-block index the decoder tracks; a hostile stream must not make
// it allocate without limit.
const maxBlocks = 1024

// StreamDecoder turns Anthropic Messages SSE events into hub events.
type StreamDecoder struct {
	blockTool []int16 // content block index -> hub tool index (-1: not a tool block)
	nextTool  int
	doc       jsonx.Doc
}

// eventFields are the members of a stream event the decoder reads; deltaFields those of a
// delta or content block.
var (
	eventFields = jsonx.NewNames("type", "index", "message", "content_block", "delta", "usage")
	deltaFields = jsonx.NewNames("type", "text", "partial_json", "stop_reason", "id", "name")
)

const (
	eType = iota
	eIndex
	eMessage
	eContentBlock
	eDelta
	eUsage
	eCount
)

const (
	dType = iota
	dText
	dPartialJSON
	dStopReason
	dID
	dName
	dCount
)

// Decode appends the hub events of one SSE event to out.
func (d *StreamDecoder) Decode(ev sse.Event, out []hub.Event) []hub.Event {
	if ev.Data == "" {
		return out // an event without data (a keep-alive): nothing to translate
	}
	if !d.doc.ParseNext(ev.Data) {
		return append(out, hub.Event{Kind: hub.EvMalformed})
	}
	var f [eCount]jsonx.Value
	d.doc.Root().Fields(eventFields, f[:])
	switch f[eType].Str() {
	case "message_start":
		m := f[eMessage]
		out = append(out, hub.Event{Kind: hub.EvStart, ID: strings.Clone(m.Get("id").Str()), Model: strings.Clone(m.Get("model").Str())})
		if u := usageFrom(m.Get("usage")); u.Known {
			out = append(out, hub.Event{Kind: hub.EvUsage, Usage: u})
		}
	case "content_block_start":
		out = d.blockStart(&f, out)
	case "content_block_delta":
		out = d.blockDelta(&f, out)
	case "message_delta":
		if r := f[eDelta].Get("stop_reason"); r.IsString() {
			out = append(out, hub.Event{Kind: hub.EvFinish, Finish: FinishFrom(r.Str())})
		}
		if u := usageFrom(f[eUsage]); u.Known {
			out = append(out, hub.Event{Kind: hub.EvUsage, Usage: u})
		}
	case "message_stop":
		out = append(out, hub.Event{Kind: hub.EvDone})
	case "error":
		e := DecodeError(500, ev.Data)
		out = append(out, hub.Event{Kind: hub.EvError, Err: e})
	}
	return out
}

func (d *StreamDecoder) blockStart(f *[eCount]jsonx.Value, out []hub.Event) []hub.Event {
	idx := int(f[eIndex].Int())
	var b [dCount]jsonx.Value
	f[eContentBlock].Fields(deltaFields, b[:])
	switch b[dType].Str() {
	case "text":
		if t := b[dText]; t.IsString() && t.Raw() != `""` {
			out = append(out, hub.Event{Kind: hub.EvText, Text: t.Raw()})
		}
	case "tool_use":
		ti := d.nextTool
		d.nextTool++
		if idx >= 0 && idx < maxBlocks {
			for len(d.blockTool) <= idx {
				d.blockTool = append(d.blockTool, -1)
			}
			d.blockTool[idx] = int16(ti)
		}
		out = append(out, hub.Event{Kind: hub.EvToolStart, Tool: ti, ToolID: b[dID].Str(), ToolName: b[dName].Str()})
	}
	return out
}

func (d *StreamDecoder) blockDelta(f *[eCount]jsonx.Value, out []hub.Event) []hub.Event {
	var delta [dCount]jsonx.Value
	f[eDelta].Fields(deltaFields, delta[:])
	switch delta[dType].Str() {
	case "text_delta":
		if t := delta[dText]; t.IsString() && t.Raw() != `""` {
			out = append(out, hub.Event{Kind: hub.EvText, Text: t.Raw()})
		}
	case "input_json_delta":
		idx := int(f[eIndex].Int())
		pj := delta[dPartialJSON]
		if idx < 0 || idx >= len(d.blockTool) || d.blockTool[idx] < 0 || !pj.IsString() || pj.Raw() == `""` {
			return out
		}
		out = append(out, hub.Event{Kind: hub.EvToolArgs, Tool: int(d.blockTool[idx]), Text: pj.Raw()})
	}
	return out
}

// Close ends a stream that stopped without message_stop.
func (d *StreamDecoder) Close(out []hub.Event) []hub.Event {
	return append(out, hub.Event{Kind: hub.EvDone})
}

// StreamEncoder writes hub events as Anthropic Messages SSE events: message_start and ping, then
// content blocks (text, tool_use) each opened with content_block_start, fed with
// content_block_delta and closed with content_block_stop, then message_delta with the stop
// reason and usage, and message_stop. Only choice 0 is written (Anthropic has no n).
type StreamEncoder struct {
	started   bool
	done      bool
	blockOpen bool
	blockTool int // hub tool index of the open tool block, -1 for a text block
	nextBlock int
	finish    hub.Finish
	usage     hub.Usage
	scratch   []byte
}

// Encode appends the SSE output for one hub event.
func (e *StreamEncoder) Encode(dst []byte, ev *hub.Event) []byte {
	if e.done || ev.Choice != 0 {
		return dst
	}
	if !e.started && ev.Kind != hub.EvError {
		if ev.Kind == hub.EvUsage {
			e.usage.Merge(ev.Usage)
			return dst
		}
		dst = e.start(dst, ev)
	}
	switch ev.Kind {
	case hub.EvText:
		if e.blockOpen && e.blockTool >= 0 {
			dst = e.closeBlock(dst)
		}
		if !e.blockOpen {
			dst = e.openBlock(dst, -1, `{"type":"text","text":""}`, nil)
		}
		dst = e.blockDelta(dst, "text_delta", "text", ev.Text)
	case hub.EvToolStart:
		dst = e.closeBlock(dst)
		dst = e.openBlock(dst, ev.Tool, "", ev)
		if ev.Text != "" {
			dst = e.blockDelta(dst, "input_json_delta", "partial_json", ev.Text)
		}
	case hub.EvToolArgs:
		if e.blockOpen && e.blockTool == ev.Tool {
			dst = e.blockDelta(dst, "input_json_delta", "partial_json", ev.Text)
		}
	case hub.EvFinish:
		e.finish = ev.Finish
	case hub.EvUsage:
		e.usage.Merge(ev.Usage)
	case hub.EvError:
		e.done = true
		e.scratch = appendErrorObject(e.scratch[:0], &ev.Err)
		dst = sse.AppendEvent(dst, "error", e.scratch, "\n\n")
	case hub.EvDone:
		dst = e.end(dst)
	}
	return dst
}

// Close ends the client's stream if the provider's did not.
func (e *StreamEncoder) Close(dst []byte) []byte {
	if e.done || !e.started {
		return dst
	}
	return e.end(dst)
}

func (e *StreamEncoder) start(dst []byte, ev *hub.Event) []byte {
	e.started = true
	e.usage.Merge(ev.Usage)
	w := jsonx.Writer{Buf: e.scratch[:0]}
	w.Obj()
	w.StrField("type", "message_start")
	w.Key("message")
	w.Obj()
	w.StrField("id", msgID(ev.ID))
	w.StrField("type", "message")
	w.StrField("role", "assistant")
	w.StrField("model", ev.Model)
	w.RawField("content", "[]")
	w.Key("stop_reason")
	w.Null()
	w.Key("stop_sequence")
	w.Null()
	w.Key("usage")
	appendUsage(&w, &e.usage)
	w.End()
	w.End()
	e.scratch = w.Buf
	dst = sse.AppendEvent(dst, "message_start", e.scratch, "\n\n")
	return sse.AppendEvent(dst, "ping", `{"type":"ping"}`, "\n\n") // as Anthropic does after message_start
}

func (e *StreamEncoder) openBlock(dst []byte, tool int, raw string, ev *hub.Event) []byte {
	w := jsonx.Writer{Buf: e.scratch[:0]}
	w.Obj()
	w.StrField("type", "content_block_start")
	w.IntField("index", int64(e.nextBlock))
	w.Key("content_block")
	if ev == nil {
		w.Raw(raw)
	} else {
		w.Obj()
		w.StrField("type", "tool_use")
		w.StrField("id", ev.ToolID)
		w.StrField("name", ev.ToolName)
		w.RawField("input", "{}")
		w.End()
	}
	w.End()
	e.scratch = w.Buf
	e.blockOpen, e.blockTool = true, tool
	return sse.AppendEvent(dst, "content_block_start", e.scratch, "\n\n")
}

func (e *StreamEncoder) blockDelta(dst []byte, typ, field, lit string) []byte {
	w := jsonx.Writer{Buf: e.scratch[:0]}
	w.Open(`{"type":"content_block_delta","index":`)
	w.Int(int64(e.nextBlock))
	w.More(`,"delta":{"type":`)
	w.Str(typ)
	w.RawField(field, lit)
	w.Close(`}}`)
	e.scratch = w.Buf
	return sse.AppendEvent(dst, "content_block_delta", e.scratch, "\n\n")
}

func (e *StreamEncoder) closeBlock(dst []byte) []byte {
	if !e.blockOpen {
		return dst
	}
	w := jsonx.Writer{Buf: e.scratch[:0]}
	w.Obj()
	w.StrField("type", "content_block_stop")
	w.IntField("index", int64(e.nextBlock))
	w.End()
	e.scratch = w.Buf
	e.blockOpen = false
	e.nextBlock++
	return sse.AppendEvent(dst, "content_block_stop", e.scratch, "\n\n")
}

func (e *StreamEncoder) end(dst []byte) []byte {
	e.done = true
	dst = e.closeBlock(dst)
	w := jsonx.Writer{Buf: e.scratch[:0]}
	w.Obj()
	w.StrField("type", "message_delta")
	w.Key("delta")
	w.Obj()
	w.StrField("stop_reason", StopReason(e.finish))
	w.Key("stop_sequence")
	w.Null()
	w.End()
	w.Key("usage")
	appendUsage(&w, &e.usage)
	w.End()
	e.scratch = w.Buf
	dst = sse.AppendEvent(dst, "message_delta", e.scratch, "\n\n")
	return sse.AppendEvent(dst, "message_stop", `{"type":"message_stop"}`, "\n\n")
}
