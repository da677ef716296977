package mockprovider

import (
	"encoding/json"
	"time"
)

type olFunction struct {
	Index     int             `json:"index"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

type olToolCall struct {
	Function olFunction `json:"function"`
}

type olMessage struct {
	Role      string       `json:"role"`
	Content   string       `json:"content"`
	ToolCalls []olToolCall `json:"tool_calls,omitempty"`
}

type olResponse struct {
	Model              string    `json:"model"`
	CreatedAt          string    `json:"created_at"`
	Message            olMessage `json:"message"`
	DoneReason         string    `json:"done_reason,omitempty"`
	Done               bool      `json:"done"`
	TotalDuration      int64     `json:"total_duration,omitempty"`
	LoadDuration       int64     `json:"load_duration,omitempty"`
	PromptEvalCount    int       `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64     `json:"prompt_eval_duration,omitempty"`
	EvalCount          int       `json:"eval_count,omitempty"`
	EvalDuration       int64     `json:"eval_duration,omitempty"`
}

func olDoneReason(f finish) string {
	if f == finishLength {
		return "length"
	}
	return "stop"
}

func olToolCalls(rep reply) []olToolCall {
	var out []olToolCall
	for i, tc := range rep.calls {
		out = append(out, olToolCall{Function: olFunction{Index: i, Name: tc.name, Arguments: json.RawMessage(tc.args)}})
	}
	return out
}

// final is the done:true object; durations are deterministic: 1 ms to load, 1 ms per token.
func (ollamaDialect) final(c *call, rep reply, msg olMessage) olResponse {
	ms := int64(time.Millisecond)
	r := olResponse{Model: c.model, CreatedAt: rfc3339(c.created), Message: msg, Done: true,
		DoneReason: olDoneReason(rep.finish), LoadDuration: ms,
		PromptEvalCount: rep.promptTokens, PromptEvalDuration: int64(rep.promptTokens) * ms,
		EvalCount: rep.completionTokens, EvalDuration: int64(rep.completionTokens) * ms}
	r.TotalDuration = r.LoadDuration + r.PromptEvalDuration + r.EvalDuration
	return r
}

func (d ollamaDialect) respond(c *call, rep reply) []byte {
	msg := olMessage{Role: "assistant", Content: rep.text, ToolCalls: olToolCalls(rep)}
	return marshal(d.final(c, rep, msg))
}

// stream is NDJSON: one object per word (or one with the tool calls), then the done:true object.
func (d ollamaDialect) stream(c *call, rep reply) (string, [][]byte, int) {
	line := func(v olResponse) []byte { return append(marshal(v), '\n') }
	var frames [][]byte
	partial := func(msg olMessage) olResponse {
		return olResponse{Model: c.model, CreatedAt: rfc3339(c.created), Message: msg}
	}
	if len(rep.calls) > 0 {
		frames = append(frames, line(partial(olMessage{Role: "assistant", ToolCalls: olToolCalls(rep)})))
	}
	for _, w := range words(rep.text) {
		frames = append(frames, line(partial(olMessage{Role: "assistant", Content: w})))
	}
	frames = append(frames, line(d.final(c, rep, olMessage{Role: "assistant"})))
	return "application/x-ndjson", frames, 0
}
