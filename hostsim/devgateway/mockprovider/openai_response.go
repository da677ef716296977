package mockprovider

import (
	"encoding/json"
	"fmt"
)

type oaiCompletion struct {
	ID                  string           `json:"id"`
	Object              string           `json:"object"`
	Created             int64            `json:"created"`
	Model               string           `json:"model"`
	Choices             []oaiChoice      `json:"choices"`
	Usage               *oaiUsage        `json:"usage,omitempty"`
	ServiceTier         string           `json:"service_tier,omitempty"`
	SystemFingerprint   string           `json:"system_fingerprint"`
	PromptFilterResults []azPromptFilter `json:"prompt_filter_results,omitempty"`
}

type oaiChoice struct {
	Index                int              `json:"index"`
	Message              oaiMessage       `json:"message"`
	Logprobs             *struct{}        `json:"logprobs"`
	FinishReason         string           `json:"finish_reason"`
	ContentFilterResults *azContentFilter `json:"content_filter_results,omitempty"`
}

type oaiMessage struct {
	Role        string        `json:"role"`
	Content     *string       `json:"content"`
	Refusal     *string       `json:"refusal"`
	ToolCalls   []oaiToolCall `json:"tool_calls,omitempty"`
	Annotations *[]struct{}   `json:"annotations,omitempty"`
}

type oaiToolCall struct {
	Index    *int        `json:"index,omitempty"`
	ID       string      `json:"id,omitempty"`
	Type     string      `json:"type,omitempty"`
	Function oaiFunction `json:"function"`
}

type oaiFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type oaiUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

type oaiChunk struct {
	ID                  string           `json:"id"`
	Object              string           `json:"object"`
	Created             int64            `json:"created"`
	Model               string           `json:"model"`
	ServiceTier         string           `json:"service_tier,omitempty"`
	SystemFingerprint   string           `json:"system_fingerprint,omitempty"`
	Choices             []oaiChunkChoice `json:"choices"`
	Usage               json.RawMessage  `json:"usage,omitempty"`
	PromptFilterResults []azPromptFilter `json:"prompt_filter_results,omitempty"`
}

type oaiChunkChoice struct {
	Index                int              `json:"index"`
	Delta                oaiDelta         `json:"delta"`
	Logprobs             *struct{}        `json:"logprobs"`
	FinishReason         *string          `json:"finish_reason"`
	ContentFilterResults *azContentFilter `json:"content_filter_results,omitempty"`
}

type oaiDelta struct {
	Role      string          `json:"role,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	Refusal   json.RawMessage `json:"refusal,omitempty"`
	ToolCalls []oaiToolCall   `json:"tool_calls,omitempty"`
}

// Azure's content filter annotations, all "safe".
type azSeverity struct {
	Filtered bool   `json:"filtered"`
	Severity string `json:"severity"`
}

type azContentFilter struct {
	Hate     azSeverity `json:"hate"`
	SelfHarm azSeverity `json:"self_harm"`
	Sexual   azSeverity `json:"sexual"`
	Violence azSeverity `json:"violence"`
}

type azPromptFilter struct {
	PromptIndex          int             `json:"prompt_index"`
	ContentFilterResults azContentFilter `json:"content_filter_results"`
}

func safeFilter() *azContentFilter {
	s := azSeverity{Severity: "safe"}
	return &azContentFilter{Hate: s, SelfHarm: s, Sexual: s, Violence: s}
}

func oaiFinish(f finish) string {
	switch f {
	case finishLength:
		return "length"
	case finishTools:
		return "tool_calls"
	}
	return "stop"
}

func (d openaiDialect) usage(c *call, rep reply) *oaiUsage {
	u := &oaiUsage{PromptTokens: rep.promptTokens, CompletionTokens: rep.completionTokens * c.n}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func (d openaiDialect) toolCalls(c *call, rep reply) []oaiToolCall {
	var out []oaiToolCall
	for i, tc := range rep.calls {
		out = append(out, oaiToolCall{ID: fmt.Sprintf("call_%s_%d", c.id, i), Type: "function",
			Function: oaiFunction{Name: tc.name, Arguments: tc.args}})
	}
	return out
}

func (d openaiDialect) respond(c *call, rep reply) []byte {
	out := oaiCompletion{
		ID: "chatcmpl-" + c.id, Object: "chat.completion", Created: c.created.Unix(), Model: c.model,
		Usage: d.usage(c, rep), SystemFingerprint: "fp_mock",
	}
	if d.azure {
		out.PromptFilterResults = []azPromptFilter{{ContentFilterResults: *safeFilter()}}
	} else {
		out.ServiceTier = "default"
	}
	for i := range c.n {
		msg := oaiMessage{Role: "assistant", ToolCalls: d.toolCalls(c, rep)}
		if len(rep.calls) == 0 {
			msg.Content = &rep.text
		}
		ch := oaiChoice{Index: i, Message: msg, FinishReason: oaiFinish(rep.finish)}
		if d.azure {
			ch.ContentFilterResults = safeFilter()
		} else {
			ch.Message.Annotations = &[]struct{}{}
		}
		out.Choices = append(out.Choices, ch)
	}
	return marshal(out)
}

func sseData(v any) []byte {
	return append(append([]byte("data: "), marshal(v)...), '\n', '\n')
}

func (d openaiDialect) stream(c *call, rep reply) (string, [][]byte, int) {
	var frames [][]byte
	if d.azure {
		// Azure opens every stream with a chunk that only carries the prompt filter results.
		frames = append(frames, sseData(oaiChunk{Choices: []oaiChunkChoice{},
			PromptFilterResults: []azPromptFilter{{ContentFilterResults: *safeFilter()}}}))
	}
	chunk := func(choices []oaiChunkChoice) []byte {
		ch := oaiChunk{ID: "chatcmpl-" + c.id, Object: "chat.completion.chunk", Created: c.created.Unix(),
			Model: c.model, SystemFingerprint: "fp_mock", Choices: choices}
		if !d.azure {
			ch.ServiceTier = "default"
		}
		if c.usage {
			ch.Usage = json.RawMessage("null")
		}
		return sseData(ch)
	}
	for i := range c.n {
		deltas := d.streamDeltas(c, rep)
		for k, delta := range deltas {
			cc := oaiChunkChoice{Index: i, Delta: delta}
			if d.azure && k > 0 {
				cc.ContentFilterResults = safeFilter()
			}
			frames = append(frames, chunk([]oaiChunkChoice{cc}))
		}
		reason := oaiFinish(rep.finish)
		frames = append(frames, chunk([]oaiChunkChoice{{Index: i, Delta: oaiDelta{}, FinishReason: &reason}}))
	}
	if c.usage {
		ch := oaiChunk{ID: "chatcmpl-" + c.id, Object: "chat.completion.chunk", Created: c.created.Unix(),
			Model: c.model, SystemFingerprint: "fp_mock", Choices: []oaiChunkChoice{}, Usage: marshal(d.usage(c, rep))}
		if !d.azure {
			ch.ServiceTier = "default"
		}
		frames = append(frames, sseData(ch))
	}
	frames = append(frames, []byte("data: [DONE]\n\n"))
	first := 1
	if d.azure {
		first = 2
	}
	return "text/event-stream; charset=utf-8", frames, first
}

// streamDeltas are the deltas of one choice: the role first, then content word by word or tool
// calls (name first, arguments in pieces).
func (d openaiDialect) streamDeltas(c *call, rep reply) []oaiDelta {
	jsonString := func(s string) json.RawMessage { return marshal(s) }
	if len(rep.calls) == 0 {
		out := []oaiDelta{{Role: "assistant", Content: jsonString(""), Refusal: json.RawMessage("null")}}
		for _, w := range words(rep.text) {
			out = append(out, oaiDelta{Content: jsonString(w)})
		}
		return out
	}
	out := []oaiDelta{{Role: "assistant", Content: json.RawMessage("null"), Refusal: json.RawMessage("null")}}
	for i, tc := range d.toolCalls(c, rep) {
		idx := i
		out = append(out, oaiDelta{ToolCalls: []oaiToolCall{{Index: &idx, ID: tc.ID, Type: "function",
			Function: oaiFunction{Name: tc.Function.Name}}}})
		for _, piece := range halves(tc.Function.Arguments) {
			out = append(out, oaiDelta{ToolCalls: []oaiToolCall{{Index: &idx, Function: oaiFunction{Arguments: piece}}}})
		}
	}
	return out
}

// defaultModels are listed when Options.Models is empty.
var defaultModels = map[Kind][]string{
	OpenAI:    {"gpt-4o", "gpt-4o-mini", "gpt-4.1-mini"},
	Azure:     {"gpt-4o", "gpt-4o-mini"},
	Anthropic: {"claude-sonnet-4-5", "claude-haiku-4-5"},
	Gemini:    {"gemini-2.5-flash", "gemini-2.5-pro"},
	Ollama:    {"llama3.2:latest", "qwen3:8b"},
}

func modelList(s *Server) []string {
	if len(s.opts.Models) > 0 {
		return s.opts.Models
	}
	return defaultModels[s.kind]
}

func (d openaiDialect) listModels(s *Server) []byte {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, m := range modelList(s) {
		out.Data = append(out.Data, model{ID: m, Object: "model", Created: 1700000000, OwnedBy: "system"})
	}
	return marshal(out)
}
