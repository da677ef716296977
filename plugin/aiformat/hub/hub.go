// Package hub defines the neutral shapes every aiformat codec reads into or writes from: a
// decoded chat response, one stream event, token usage, finish reasons and errors.
//
// The hub wire format is OpenAI Chat Completions; these types are that format decoded just
// enough to re-encode it in another dialect. Text is carried as JSON string literals taken
// verbatim from the source document (quotes and escapes included), so it moves between
// dialects without being unescaped and escaped again.
package hub

import "github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"

// Finish is why the model stopped, in the hub's vocabulary.
type Finish uint8

// Finish reasons. Each dialect maps its own values onto these (see docs/AI-FORMAT.md).
const (
	FinishNone Finish = iota
	FinishStop
	FinishLength
	FinishToolCalls
	FinishContentFilter
)

// String is the hub (OpenAI) name of the finish reason.
func (f Finish) String() string {
	switch f {
	case FinishStop:
		return "stop"
	case FinishLength:
		return "length"
	case FinishToolCalls:
		return "tool_calls"
	case FinishContentFilter:
		return "content_filter"
	}
	return ""
}

// Usage is token accounting in the hub's terms: Prompt includes cached prompt tokens and
// Completion includes reasoning tokens, as OpenAI counts them.
type Usage struct {
	Prompt     int64
	Completion int64
	Total      int64
	CacheRead  int64 // prompt tokens served from a cache (part of Prompt)
	CacheWrite int64 // prompt tokens written to a cache (part of Prompt; Anthropic only)
	Reasoning  int64 // reasoning/thinking tokens (part of Completion)
	Known      bool  // the provider reported usage (or, with Estimated, the filter estimated it)
	// Estimated: the provider reports no usage for this kind of call (Gemini's embeddings), so
	// Prompt is the filter's estimate of the input.
	Estimated bool
}

// Merge takes every non-zero field of u into the receiver. Streams report usage piecewise
// (Anthropic: input tokens at start, output tokens at the end) or cumulatively (Gemini).
func (dst *Usage) Merge(u Usage) {
	if !u.Known {
		return
	}
	dst.Known = true
	if u.Prompt != 0 {
		dst.Prompt = u.Prompt
	}
	if u.Completion != 0 {
		dst.Completion = u.Completion
	}
	if u.CacheRead != 0 {
		dst.CacheRead = u.CacheRead
	}
	if u.CacheWrite != 0 {
		dst.CacheWrite = u.CacheWrite
	}
	if u.Reasoning != 0 {
		dst.Reasoning = u.Reasoning
	}
	if u.Total != 0 {
		dst.Total = u.Total
	}
	if dst.Total < dst.Prompt+dst.Completion {
		dst.Total = dst.Prompt + dst.Completion
	}
}

// ToolCall is one function call the model made. Args is the arguments JSON: when ArgsLit is
// set it is a JSON string literal whose content is the JSON text (OpenAI's shape), otherwise
// it is the raw JSON object itself (Anthropic, Gemini, Ollama).
type ToolCall struct {
	ID      string
	Name    string
	Args    string
	ArgsLit bool
}

// Choice is one candidate answer.
type Choice struct {
	Text   []string // JSON string literals, joined in order
	Tools  []ToolCall
	Finish Finish
}

// Response is a complete (non-streamed) chat response.
type Response struct {
	ID      string
	Model   string
	Created int64
	Choices []Choice
	Usage   Usage
}

// Reset empties r keeping its storage.
func (r *Response) Reset() {
	for i := range r.Choices {
		r.Choices[i].Text = r.Choices[i].Text[:0]
		r.Choices[i].Tools = r.Choices[i].Tools[:0]
		r.Choices[i].Finish = FinishNone
	}
	r.Choices = r.Choices[:0]
	r.ID, r.Model, r.Created, r.Usage = "", "", 0, Usage{}
}

// Choice returns choice i, growing the slice as needed. Indexes beyond 64 are clamped: no
// provider returns that many candidates and a hostile body must not make us allocate.
func (r *Response) Choice(i int) *Choice {
	if i < 0 {
		i = 0
	}
	if i > 63 {
		i = 63
	}
	for len(r.Choices) <= i {
		if cap(r.Choices) > len(r.Choices) {
			r.Choices = r.Choices[:len(r.Choices)+1]
		} else {
			r.Choices = append(r.Choices, Choice{})
		}
	}
	return &r.Choices[i]
}

// EventKind says what a stream Event carries.
type EventKind uint8

// Stream event kinds.
const (
	EvStart     EventKind = iota + 1 // a response begins: ID, Model, Created (and Usage if known)
	EvText                           // Text is a JSON string literal to append to the content
	EvToolStart                      // a tool call begins: Tool, ToolID, ToolName (Text may hold a first Args fragment)
	EvToolArgs                       // Text is a JSON string literal with the next fragment of the arguments JSON
	EvFinish                         // Finish is set
	EvUsage                          // Usage is set (cumulative, merge it)
	EvError                          // Err is set; the stream ends
	EvDone                           // the provider ended the response
	// EvMalformed: the provider sent an event that is not what its API sends (broken JSON);
	// the stream cannot be trusted further. Decoders emit it, translators never encode it.
	EvMalformed
)

// Event is one hub stream event. Strings are only valid until the next decoder call.
type Event struct {
	Kind     EventKind
	Choice   int
	ID       string
	Model    string
	Created  int64
	Text     string
	Tool     int
	ToolID   string
	ToolName string
	Finish   Finish
	Usage    Usage
	Err      Error
}

// Target is what an outbound request encoder needs beyond the hub body.
type Target struct {
	Model            string // upstream model name
	Stream           bool
	MaxTokens        int64 // cap set by the caller (throttle degrade step); 0 = none
	DefaultMaxTokens int64 // used when the request has none and the provider requires it
}

// View is what the filter needs to know about a hub request without translating it: the
// throttle's inputs and the routing key.
type View struct {
	Model        string
	Stream       bool
	IncludeUsage bool  // stream_options.include_usage
	MaxTokens    int64 // max_completion_tokens or max_tokens; 0 when absent
	N            int64 // choices asked for (1 when absent)
	Messages     int
	Images       int
	PromptChars  int // bytes of (JSON-escaped) text in messages and tool definitions
}

// EstimatedPromptTokens is a cheap upper-ish estimate of the prompt size for token buckets:
// four bytes of text per token (non-ASCII text counts more bytes, so it errs high), a few tokens of framing per message, a flat cost per image.
// Providers report the real figure, which the throttle settles with afterwards.
func (v *View) EstimatedPromptTokens() int64 {
	return int64((v.PromptChars+3)/4 + 4*v.Messages + 3 + 765*v.Images)
}

// DecodeAnswer indexes a provider's non-streamed answer and has decode read it into r, or
// reports that the answer is not JSON. It is every codec's DecodeResponse: the Doc is a reused
// one, given back after decode (which must not keep its Values), without a deferred call,
// which inside the VM costs more than the call.
func DecodeAnswer(body string, r *Response, decode func(root jsonx.Value, r *Response) *Error) *Error {
	d := jsonx.GetDoc()
	if !d.Parse(body) {
		jsonx.PutDoc(d)
		return &Error{Status: 502, Kind: KindServer, Message: "upstream response is not valid JSON"}
	}
	err := decode(d.Root(), r)
	jsonx.PutDoc(d)
	return err
}
