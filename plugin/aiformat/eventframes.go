package aiformat

import (
	"github.com/stepgate/stepgate/plugin/aiformat/bedrock"
	"github.com/stepgate/stepgate/plugin/aiformat/eventstream"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
)

// eventFrames reads a stream in AWS's event-stream framing and hands each message to the
// provider's decoder as an SSE-like event: an event's name is its :event-type; an exception's
// (or an error's) is bedrock.ExceptionPrefix + its :exception-type (or :error-code), so the
// decoder can tell it apart from every event.
type eventFrames struct {
	dec eventstream.Decoder
	err []byte // scratch for an error message's JSON
}

func (f *eventFrames) push(chunk []byte) { f.dec.Push(chunk) }

func (f *eventFrames) end() { f.dec.End() }

// failure is why the framing broke ("" while it holds).
func (f *eventFrames) failure() string {
	if err := f.dec.Err(); err != nil {
		return "the provider sent a broken event stream: " + err.Error()
	}
	return ""
}

func (f *eventFrames) next() (sse.Event, bool) {
	m, ok := f.dec.Next()
	if !ok {
		return sse.Event{}, false
	}
	switch m.Get(":message-type") {
	case "exception":
		return sse.Event{Name: bedrock.ExceptionPrefix + m.Get(":exception-type"), Data: string(m.Payload)}, true
	case "error":
		f.err = append(f.err[:0], `{"message":`...)
		f.err = jsonx.AppendString(f.err, m.Get(":error-message"))
		f.err = append(f.err, '}')
		return sse.Event{Name: bedrock.ExceptionPrefix + m.Get(":error-code"), Data: string(f.err)}, true
	}
	return sse.Event{Name: m.Get(":event-type"), Data: string(m.Payload)}, true
}
