package bedrock

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
)

// ExceptionPrefix marks, in an event's name, an exception message of the stream: the framing
// layer names it ExceptionPrefix + its :exception-type (or :error-code).
const ExceptionPrefix = "exception:"

// maxBlocks bounds the content-block index the decoder tracks; a hostile stream must not make
// it allocate without limit.
const maxBlocks = 1024

// StreamDecoder turns ConverseStream events (name = :event-type, data = the JSON payload) into
// hub events. The stream is messageStart, content blocks (contentBlockStart for a tool use,
// contentBlockDelta with text or a fragment of the tool's input, contentBlockStop),
// messageStop with the stop reason, then metadata with the usage.
type StreamDecoder struct {
	blockTool []int16 // content block index -> hub tool index (-1: not a tool block)
	nextTool  int
	doc       jsonx.Doc
}

var eventFields = jsonx.NewNames("contentBlockIndex", "start", "delta", "stopReason", "usage")

const (
	eIndex = iota
	eStart
	eDelta
	eStopReason
	eUsage
	eCount
)

// Decode appends the hub events of one stream message to out.
func (d *StreamDecoder) Decode(ev sse.Event, out []hub.Event) []hub.Event {
	if name, ok := strings.CutPrefix(ev.Name, ExceptionPrefix); ok {
		e := DecodeError(exceptionStatus(name), ev.Data)
		if e.Message == "upstream returned HTTP 500" {
			e.Message = "the provider's stream failed: " + name
		}
		return append(out, hub.Event{Kind: hub.EvError, Err: e})
	}
	if !d.doc.ParseNext(ev.Data) {
		return append(out, hub.Event{Kind: hub.EvMalformed})
	}
	var f [eCount]jsonx.Value
	d.doc.Root().Fields(eventFields, f[:])
	switch ev.Name {
	case "messageStart":
		out = append(out, hub.Event{Kind: hub.EvStart})
	case "contentBlockStart":
		out = d.blockStart(&f, out)
	case "contentBlockDelta":
		out = d.blockDelta(&f, out)
	case "messageStop":
		out = append(out, hub.Event{Kind: hub.EvFinish, Finish: FinishFrom(f[eStopReason].Str())})
	case "metadata":
		if u := usageFrom(f[eUsage]); u.Known {
			out = append(out, hub.Event{Kind: hub.EvUsage, Usage: u})
		}
		out = append(out, hub.Event{Kind: hub.EvDone})
	}
	return out
}

func (d *StreamDecoder) blockStart(f *[eCount]jsonx.Value, out []hub.Event) []hub.Event {
	tu := f[eStart].Get("toolUse")
	if !tu.IsObject() {
		return out
	}
	ti := d.nextTool
	d.nextTool++
	if idx := int(f[eIndex].Int()); idx >= 0 && idx < maxBlocks {
		for len(d.blockTool) <= idx {
			d.blockTool = append(d.blockTool, -1)
		}
		d.blockTool[idx] = int16(ti)
	}
	return append(out, hub.Event{Kind: hub.EvToolStart, Tool: ti, ToolID: tu.Get("toolUseId").Str(), ToolName: tu.Get("name").Str()})
}

func (d *StreamDecoder) blockDelta(f *[eCount]jsonx.Value, out []hub.Event) []hub.Event {
	delta := f[eDelta]
	if t := delta.Get("text"); t.IsString() && t.Raw() != `""` {
		return append(out, hub.Event{Kind: hub.EvText, Text: t.Raw()})
	}
	in := delta.Path("toolUse", "input")
	idx := int(f[eIndex].Int())
	if !in.IsString() || in.Raw() == `""` || idx < 0 || idx >= len(d.blockTool) || d.blockTool[idx] < 0 {
		return out
	}
	return append(out, hub.Event{Kind: hub.EvToolArgs, Tool: int(d.blockTool[idx]), Text: in.Raw()})
}

// Close ends a stream that stopped without its metadata event.
func (d *StreamDecoder) Close(out []hub.Event) []hub.Event {
	return append(out, hub.Event{Kind: hub.EvDone})
}
