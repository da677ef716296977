package aiformat

import (
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/anthropic"
	"github.com/stepgate/stepgate/plugin/aiformat/gemini"
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/ollama"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
	"github.com/stepgate/stepgate/plugin/aiformat/sse"
	"github.com/tidwall/gjson"
)

// Usage is token usage in the hub's terms (prompt includes cached tokens, completion includes
// reasoning tokens).
type Usage = hub.Usage

type decoder interface {
	Decode(ev sse.Event, out []hub.Event) []hub.Event
	Close(out []hub.Event) []hub.Event
}

type encoder interface {
	Encode(dst []byte, ev *hub.Event) []byte
	Close(dst []byte) []byte
}

type mode uint8

const (
	modeJSON        mode = iota // buffered JSON answer translated at Finish
	modeStream                  // stream translated chunk by chunk
	modeSynthStream             // stream asked, JSON received: buffered, answered as a stream
	modeError                   // error answer translated at Finish
)

// Head is the response head to send to the client.
type Head struct {
	Status      int
	ContentType string
	// Buffer: hold the whole body and call Finish at its end; otherwise call Write per chunk.
	Buffer bool
}

// ResponseTranslator rewrites one provider response into the client's dialect. Use Headers
// once, then either Write for every body chunk (streams) or Finish with the whole body
// (Head.Buffer). The filter must drop content-length from the response: the body changes.
// It is not safe for concurrent use (a stream lives on one VM).
type ResponseTranslator struct {
	client      Dialect
	wire        Dialect
	stream      bool
	wantUsage   bool
	passthrough bool
	now         int64
	model       string // fallback model name when the provider gives none

	mode   mode
	status int
	sc     sse.Scanner
	dec    decoder
	enc    encoder
	events []hub.Event
	out    []byte
	resp   hub.Response
	usage  hub.Usage
}

// NewResponseTranslator prepares the translation of up's answer to req's client. now is the
// time in nanoseconds, used as "created" where the provider gives none.
func NewResponseTranslator(req *Request, up *Upstream, now int64) *ResponseTranslator {
	return newTranslator(req.Dialect, up.Provider.Type.wire(), req.Stream, req.WantsUsage, now, up.Model)
}

func newTranslator(client, wire Dialect, stream, wantUsage bool, now int64, model string) *ResponseTranslator {
	t := &ResponseTranslator{client: client, wire: wire, stream: stream, wantUsage: wantUsage, now: now, model: model,
		passthrough: client == wire}
	t.sc.NDJSON = wire == dialectOllama
	return t
}

// Headers decides how the body will be handled from the upstream status and content type.
func (t *ResponseTranslator) Headers(status int, contentType string) Head {
	t.status = status
	switch {
	case status >= 400:
		t.mode = modeError
		return Head{Status: errorStatus(t.client, status), ContentType: ContentType, Buffer: true}
	case t.stream && !strings.HasPrefix(contentType, "application/json"):
		t.mode = modeStream
		t.dec = newDecoder(t.wire)
		if !t.passthrough {
			t.enc = t.newEncoder()
		}
		return Head{Status: status, ContentType: "text/event-stream", Buffer: false}
	case t.stream:
		t.mode = modeSynthStream
		return Head{Status: status, ContentType: "text/event-stream", Buffer: true}
	}
	t.mode = modeJSON
	return Head{Status: status, ContentType: ContentType, Buffer: true}
}

// errorStatus adjusts an upstream error status for the client: Anthropic calls overload 529,
// the others 503.
func errorStatus(client Dialect, status int) int {
	switch {
	case client == DialectAnthropic && status == 503:
		return 529
	case client != DialectAnthropic && status == 529:
		return 503
	}
	return status
}

func newDecoder(wire Dialect) decoder {
	switch wire {
	case DialectAnthropic:
		return &anthropic.StreamDecoder{}
	case DialectGemini:
		return &gemini.StreamDecoder{}
	case dialectOllama:
		return &ollama.StreamDecoder{}
	}
	return &openai.StreamDecoder{}
}

func (t *ResponseTranslator) newEncoder() encoder {
	switch t.client {
	case DialectAnthropic:
		return &anthropic.StreamEncoder{}
	case DialectGemini:
		return &gemini.StreamEncoder{}
	}
	return &openai.StreamEncoder{WantUsage: t.wantUsage, Created: t.now / 1e9}
}

// Write translates one chunk of a streamed body; end marks the last chunk. The result is only
// valid until the next call. Events are translated as soon as they are complete: nothing
// waits for the end of the stream.
func (t *ResponseTranslator) Write(chunk []byte, end bool) []byte {
	t.out = t.out[:0]
	if t.mode != modeStream {
		return append(t.out, chunk...)
	}
	t.sc.Push(chunk)
	if end {
		t.sc.End()
	}
	for {
		ev, ok := t.sc.Next()
		if !ok {
			break
		}
		t.events = t.dec.Decode(ev, t.events[:0])
		t.emit(ev)
	}
	if t.sc.Overflow() {
		t.events = append(t.events[:0], hub.Event{Kind: hub.EvError, Err: hub.Error{Status: 502, Kind: hub.KindServer, Message: "upstream stream line too long"}})
		t.emit(sse.Event{})
		t.mode = modeJSON // stop translating: the rest is dropped
		return t.out
	}
	if end {
		t.events = t.dec.Close(t.events[:0])
		t.emit(sse.Event{})
		if t.enc != nil {
			t.out = t.enc.Close(t.out)
		}
	}
	return t.out
}

// emit writes the decoded events of one upstream event.
func (t *ResponseTranslator) emit(src sse.Event) {
	hide, any := false, false
	for i := range t.events {
		ev := &t.events[i]
		if ev.Kind == hub.EvStart && t.enc != nil {
			if ev.ID == "" {
				ev.ID = t.genID()
			}
			if ev.Model == "" {
				ev.Model = t.model
			}
		}
		switch ev.Kind {
		case hub.EvUsage:
			t.usage.Merge(ev.Usage)
			hide = !t.wantUsage
		case hub.EvText, hub.EvToolStart, hub.EvToolArgs, hub.EvFinish, hub.EvError, hub.EvDone:
			any = true
		}
		if t.enc != nil {
			t.out = t.enc.Encode(t.out, ev)
		}
	}
	if t.enc != nil || src.Data == "" {
		return
	}
	if hide && !any { // the usage-only chunk we asked OpenAI for on the client's behalf
		return
	}
	sep := "\n\n"
	if t.wire == DialectGemini {
		sep = "\r\n\r\n"
	}
	t.out = sse.AppendEvent(t.out, src.Name, src.Data, sep)
}

// Finish translates a buffered body (Head.Buffer) and returns the status and body to send.
// The status differs from the one Headers gave only when the provider's answer could not be
// read (502); a filter that already sent the head keeps its status.
func (t *ResponseTranslator) Finish(body []byte) (int, []byte) {
	switch t.mode {
	case modeError:
		return t.finishError(body)
	case modeStream:
		return t.status, t.Write(body, true)
	}
	t.resp.Reset()
	if err := decodeResponse(t.wire, bstr(body), &t.resp); err != nil {
		e := render(t.client, err)
		return e.Status, e.Body
	}
	t.usage = t.resp.Usage
	if t.resp.ID == "" {
		t.resp.ID = t.genID()
	}
	if t.resp.Model == "" {
		t.resp.Model = t.model
	}
	if t.resp.Created == 0 {
		t.resp.Created = t.now / 1e9
	}
	if t.mode == modeSynthStream {
		return t.status, t.synthStream()
	}
	if t.passthrough {
		return t.status, body
	}
	out := make([]byte, 0, len(body)+256)
	switch t.client {
	case DialectAnthropic:
		out = anthropic.AppendResponse(out, &t.resp)
	case DialectGemini:
		out = gemini.AppendResponse(out, &t.resp)
	default:
		out = openai.AppendResponse(out, &t.resp)
	}
	return t.status, out
}

func decodeResponse(wire Dialect, body string, r *hub.Response) *hub.Error {
	switch wire {
	case DialectAnthropic:
		return anthropic.DecodeResponse(body, r)
	case DialectGemini:
		return gemini.DecodeResponse(body, r)
	case dialectOllama:
		return ollama.DecodeResponse(body, r)
	}
	return openai.DecodeResponse(body, r)
}

func (t *ResponseTranslator) finishError(body []byte) (int, []byte) {
	status := errorStatus(t.client, t.status)
	s := bstr(body)
	if t.passthrough && (t.wire != DialectOpenAI || gjson.Get(s, "error.message").Type == gjson.String) {
		return status, body // already in the client's dialect
	}
	var he hub.Error
	switch t.wire {
	case DialectAnthropic:
		he = anthropic.DecodeError(t.status, s)
	case DialectGemini:
		he = gemini.DecodeError(t.status, s)
	case dialectOllama:
		he = ollama.DecodeError(t.status, s)
	default:
		he = openai.DecodeError(t.status, s)
	}
	he.Status = status
	e := render(t.client, &he)
	return status, e.Body
}

// synthStream answers a client that asked for a stream but got a whole JSON response: the
// response is replayed as the client dialect's stream events.
func (t *ResponseTranslator) synthStream() []byte {
	enc := t.newEncoder()
	var out []byte
	r := &t.resp
	ev := hub.Event{Kind: hub.EvStart, ID: r.ID, Model: r.Model, Created: r.Created}
	out = enc.Encode(out, &ev)
	var lit []byte
	for i := range r.Choices {
		c := &r.Choices[i]
		for _, s := range c.Text {
			out = enc.Encode(out, &hub.Event{Kind: hub.EvText, Choice: i, Text: s})
		}
		for j := range c.Tools {
			tc := &c.Tools[j]
			args := tc.Args
			if !tc.ArgsLit {
				lit = jsonx.AppendString(lit[:0], args)
				args = string(lit)
			}
			out = enc.Encode(out, &hub.Event{Kind: hub.EvToolStart, Choice: i, Tool: j, ToolID: tc.ID, ToolName: tc.Name, Text: args})
		}
		out = enc.Encode(out, &hub.Event{Kind: hub.EvFinish, Choice: i, Finish: c.Finish})
	}
	out = enc.Encode(out, &hub.Event{Kind: hub.EvUsage, Usage: r.Usage})
	out = enc.Encode(out, &hub.Event{Kind: hub.EvDone})
	return out
}

// genID makes a response id for providers that give none (Gemini may not, Ollama never does).
func (t *ResponseTranslator) genID() string {
	id := strconv.FormatInt(t.now, 36)
	switch t.client {
	case DialectAnthropic:
		return "msg_" + id
	case DialectGemini:
		return id
	}
	return "chatcmpl-" + id
}

// Usage is the token usage the provider reported (Known is false when it reported none).
func (t *ResponseTranslator) Usage() Usage { return t.usage }
