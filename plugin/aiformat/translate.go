package aiformat

import (
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
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
	modeInvalid                 // an answer whose content type cannot be translated: a 502 instead
	modeFailed                  // a stream that failed mid-way: its error event went out, the rest is dropped
)

// Head is the response head to send to the client.
type Head struct {
	Status      int
	ContentType string
	// Buffer: hold the whole body and call Finish at its end; otherwise call Write per chunk.
	Buffer bool
	// Fail: the answer cannot be translated whatever its body (its content type says so); do
	// not forward it, answer Unanswerable's status and body instead.
	Fail bool
}

// ResponseTranslator rewrites one provider response into the client's dialect. Use Headers
// once, then either Write for every body chunk (streams) or Finish with the whole body
// (Head.Buffer). The filter must drop content-length from the response: the body changes.
// It is not safe for concurrent use (a stream lives on one VM).
type ResponseTranslator struct {
	client      Dialect
	wire        wireFormat
	stream      bool
	wantUsage   bool
	passthrough bool
	embeddings  bool // an embeddings answer: passed through (OpenAI's format) or rewritten, its usage read
	emb         *embedInput
	countTokens bool  // a count_tokens answer: passed through when it holds a count
	estimate    int64 // the request's prompt estimate, the usage of an answer that reports none
	now         int64
	model       string // fallback model name when the provider gives none

	mode   mode
	status int
	sc     sse.Scanner
	frames *eventFrames // the stream's framing when it is AWS event-stream, not SSE/NDJSON
	dec    decoder
	enc    encoder
	events []hub.Event
	out    []byte
	resp   hub.Response
	usage  hub.Usage
	// complete: the provider's stream reached its end (a finish reason, its end marker or its
	// own error event); a stream that stops before is a cut one.
	complete bool
	fault    string // why the answer could not be translated ("" when it could)
	// streamed counts the bytes of text and tool-argument deltas a stream has carried so far.
	streamed int64
	answer   []byte // Finish's translated answer, in spare storage that Recycle gives back
	// The storage of a decoded answer's first choice and first text part: nearly every answer
	// has one of each, which then costs the VM no allocation of its own.
	firstChoice [1]hub.Choice
	firstText   [1]string
}

// spareAnswers is storage for the next translated answer (see spareBody).
var spareAnswers spareBody

// Recycle gives the storage of Finish's translated answer back for the next answer, once the
// caller no longer uses it (the host has copied it). Other answers Finish returns (the
// provider's own, errors) are not the translator's and are left alone.
func (t *ResponseTranslator) Recycle() {
	if b := t.answer; b != nil {
		t.answer = nil
		spareAnswers.put(b)
	}
}

// NewResponseTranslator prepares the translation of up's answer to req's client. now is the
// time in nanoseconds, used as "created" where the provider gives none.
func NewResponseTranslator(req *Request, up *Upstream, now int64) *ResponseTranslator {
	t := new(ResponseTranslator)
	InitResponseTranslator(t, req, up, now)
	return t
}

// InitResponseTranslator makes t a new translator (NewResponseTranslator's) in storage of the
// caller's: a stream's, reused from one request to the next, where inside the VM an allocation
// per request costs more than filling it.
func InitResponseTranslator(t *ResponseTranslator, req *Request, up *Upstream, now int64) {
	initTranslator(t, req.Dialect, up.Provider.Type.wire(), req.Stream, req.WantsUsage, now, up.Model)
	if req.Endpoint == EndpointEmbeddings {
		t.embeddings, t.emb, t.estimate = true, &req.emb, req.PromptTokens
	}
	t.countTokens = req.Endpoint == EndpointCountTokens
}

func newTranslator(client Dialect, wire wireFormat, stream, wantUsage bool, now int64, model string) *ResponseTranslator {
	t := new(ResponseTranslator)
	initTranslator(t, client, wire, stream, wantUsage, now, model)
	return t
}

func initTranslator(t *ResponseTranslator, client Dialect, wire wireFormat, stream, wantUsage bool, now int64, model string) {
	*t = ResponseTranslator{client: client, wire: wire, stream: stream, wantUsage: wantUsage, now: now, model: model,
		passthrough: client != DialectNone && codecs[wire].dialect == client}
	t.sc.NDJSON = codecs[wire].ndjson
	t.firstChoice[0].Text = t.firstText[:0]
	t.resp.Choices = t.firstChoice[:0]
}

// Headers decides how the body will be handled from the upstream status and content type.
func (t *ResponseTranslator) Headers(status int, contentType string) Head {
	t.status = status
	media := mediaOf(contentType)
	switch {
	case status >= 400:
		t.mode = modeError
		return Head{Status: errorStatus(t.client, status), ContentType: ContentType, Buffer: true}
	case media == mediaOther || media == mediaStream && !t.stream:
		t.mode = modeInvalid
		t.fault = "the provider answered " + quote(contentType) + ", which cannot be translated"
		return Head{Status: 502, ContentType: ContentType, Buffer: true, Fail: true}
	case t.stream && media != mediaJSON: // a stream, or no content type: the body will tell
		t.mode = modeStream
		t.dec = codecs[t.wire].newDecoder()
		if codecs[t.wire].eventStream {
			t.frames = &eventFrames{}
		}
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

type media uint8

const (
	mediaNone   media = iota // no content type
	mediaJSON                // application/json, application/*+json
	mediaStream              // text/event-stream, NDJSON
	mediaOther               // anything else (an HTML error page, plain text…)
)

func mediaOf(contentType string) media {
	switch contentType { // the usual answers, told without cutting and lower-casing
	case "application/json":
		return mediaJSON
	case "text/event-stream":
		return mediaStream
	}
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	switch {
	case ct == "":
		return mediaNone
	case ct == "application/json" || strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+json"):
		return mediaJSON
	case ct == "text/event-stream" || ct == "application/x-ndjson" || ct == "application/ndjson" || ct == "application/jsonl",
		ct == "application/vnd.amazon.eventstream":
		return mediaStream
	}
	return mediaOther
}

// Unanswerable reports whether the answer cannot be translated as far as its head tells (its
// content type, or end: the head ended the answer without a body, which no successful answer
// does), and then the status and body to send the client instead: a 502 in its dialect.
func (t *ResponseTranslator) Unanswerable(end bool) (status int, body []byte, ok bool) {
	switch {
	case t.mode == modeInvalid:
	case !end || t.mode == modeError:
		return 0, nil, false
	case t.mode == modeStream:
		t.fault = "the provider sent an empty stream"
	default:
		st, b := t.Finish(nil)
		return st, b, t.fault != ""
	}
	e := render(t.client, &hub.Error{Status: 502, Kind: hub.KindServer, Message: t.fault})
	return e.Status, e.Body, true
}

// Failure says why the provider's answer could not be translated ("" when it could). For a
// buffered answer Finish then returned a 502 to send instead; for a stream the client got an
// error event in its dialect and nothing after it.
func (t *ResponseTranslator) Failure() string { return t.fault }

// errorStatus adjusts an upstream error status for the client: Anthropic calls overload 529,
// the others 503.
func errorStatus(client Dialect, status int) int {
	if status == 503 || status == 529 {
		return client.codec().overload
	}
	return status
}

func (t *ResponseTranslator) newEncoder() encoder {
	return t.client.codec().newEncoder(t.wantUsage, t.now/1e9)
}

// Write translates one chunk of a streamed body; end marks the last chunk. The result is only
// valid until the next call. Events are translated as soon as they are complete: nothing
// waits for the end of the stream.
func (t *ResponseTranslator) Write(chunk []byte, end bool) []byte {
	t.out = t.out[:0]
	switch t.mode {
	case modeFailed:
		return t.out
	case modeStream:
	default:
		return append(t.out, chunk...)
	}
	t.push(chunk, end)
	for {
		ev, ok := t.next()
		if !ok {
			break
		}
		t.events = t.dec.Decode(ev, t.events[:0])
		t.emit(ev)
		if t.mode == modeFailed {
			return t.out
		}
	}
	if msg := t.framingFailure(); msg != "" {
		t.fail(msg)
		return t.out
	}
	if end && !t.complete {
		t.fail("the provider's stream ended before the response was complete")
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

func (t *ResponseTranslator) push(chunk []byte, end bool) {
	if t.frames != nil {
		t.frames.push(chunk)
		if end {
			t.frames.end()
		}
		return
	}
	t.sc.Push(chunk)
	if end {
		t.sc.End()
	}
}

// next is the stream's next complete event.
func (t *ResponseTranslator) next() (sse.Event, bool) {
	if t.frames != nil {
		return t.frames.next()
	}
	return t.sc.Next()
}

// framingFailure says why the stream's framing cannot be read further ("" while it can).
func (t *ResponseTranslator) framingFailure() string {
	switch {
	case t.frames != nil:
		return t.frames.failure()
	case t.sc.Overflow():
		return "the provider sent a stream line too long to translate"
	}
	return ""
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
		case hub.EvMalformed:
			t.fail("the provider sent a malformed stream event")
			return
		case hub.EvUsage:
			t.usage.Merge(ev.Usage)
			hide = !t.wantUsage
		case hub.EvFinish, hub.EvError, hub.EvDone:
			t.complete = true
			any = true
		case hub.EvText, hub.EvToolStart, hub.EvToolArgs:
			any = true
			t.streamed += int64(len(ev.Text))
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
	t.out = sse.AppendEvent(t.out, src.Name, src.Data, codecs[t.wire].sseSep)
}

// fail ends a stream that cannot be translated further: an error event in the client's
// dialect (a passthrough stream gets one from a fresh encoder of that dialect), then nothing.
func (t *ResponseTranslator) fail(msg string) {
	t.fault = msg
	t.mode = modeFailed
	enc := t.enc
	if enc == nil {
		enc = t.newEncoder()
	}
	ev := hub.Event{Kind: hub.EvError, Err: hub.Error{Status: 502, Kind: hub.KindServer, Message: msg}}
	t.out = enc.Encode(t.out, &ev)
}

// Finish translates a buffered body (Head.Buffer) and returns the status and body to send.
// The status differs from the one Headers gave only when the provider's answer could not be
// read (502); a filter that already sent the head keeps its status.
func (t *ResponseTranslator) Finish(body []byte) (int, []byte) {
	switch t.mode {
	case modeError:
		return t.finishError(body)
	case modeStream, modeFailed:
		return t.status, t.Write(body, true)
	case modeInvalid:
		e := render(t.client, &hub.Error{Status: 502, Kind: hub.KindServer, Message: t.fault})
		return e.Status, e.Body
	}
	if t.countTokens {
		return t.finishCountTokens(body)
	}
	if t.embeddings && codecs[t.wire].decodeEmbeddings != nil {
		return t.finishEmbeddings(body)
	}
	if t.embeddings {
		u, ok := embeddingsUsage(bstr(body))
		if !ok {
			t.fault = "the provider's answer cannot be read: not valid JSON"
			e := render(t.client, &hub.Error{Status: 502, Kind: hub.KindServer, Message: t.fault})
			return e.Status, e.Body
		}
		t.usage = u
		return t.status, body
	}
	t.resp.Reset()
	if err := codecs[t.wire].decodeResponse(bstr(body), &t.resp); err != nil {
		t.fault = "the provider's answer cannot be read: " + err.Message
		e := render(t.client, &hub.Error{Status: 502, Kind: hub.KindServer, Message: t.fault})
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
	t.answer = t.client.codec().appendResponse(spareAnswers.take(len(body)+256), &t.resp)
	return t.status, t.answer
}

func (t *ResponseTranslator) finishError(body []byte) (int, []byte) {
	status := errorStatus(t.client, t.status)
	s := bstr(body)
	c := &codecs[t.wire]
	if t.passthrough && (!c.looseErrors || gjson.Get(s, "error.message").Type == gjson.String) {
		return status, body // already in the client's dialect
	}
	he := c.decodeError(t.status, s)
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
	return t.client.codec().idPrefix + strconv.FormatInt(t.now, 36)
}

// Usage is the token usage the provider reported (Known is false when it reported none).
func (t *ResponseTranslator) Usage() Usage { return t.usage }

// StreamedTokens approximates the completion tokens a stream has carried so far, before the
// provider reports its usage: about four bytes of delta text (as JSON string literals) a token.
func (t *ResponseTranslator) StreamedTokens() int64 { return (t.streamed + 3) / 4 }
