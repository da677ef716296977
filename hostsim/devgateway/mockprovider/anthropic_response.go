package mockprovider

import (
	"encoding/json"
	"fmt"
)

type antUsage struct {
	InputTokens              int    `json:"input_tokens"`
	CacheCreationInputTokens int    `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int    `json:"cache_read_input_tokens"`
	OutputTokens             int    `json:"output_tokens"`
	ServiceTier              string `json:"service_tier,omitempty"`
}

type antBlock struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

type antMessageOut struct {
	ID           string     `json:"id"`
	Type         string     `json:"type"`
	Role         string     `json:"role"`
	Model        string     `json:"model"`
	Content      []antBlock `json:"content"`
	StopReason   *string    `json:"stop_reason"`
	StopSequence *string    `json:"stop_sequence"`
	Usage        antUsage   `json:"usage"`
}

func antStopReason(f finish) string {
	switch f {
	case finishLength:
		return "max_tokens"
	case finishTools:
		return "tool_use"
	case finishStopSeq:
		return "stop_sequence"
	}
	return "end_turn"
}

func (anthropicDialect) blocks(c *call, rep reply) []antBlock {
	if len(rep.calls) == 0 {
		return []antBlock{{Type: "text", Text: &rep.text}}
	}
	var out []antBlock
	for i, tc := range rep.calls {
		out = append(out, antBlock{Type: "tool_use", ID: fmt.Sprintf("toolu_%s_%d", c.id, i), Name: tc.name,
			Input: json.RawMessage(tc.args)})
	}
	return out
}

func (d anthropicDialect) respond(c *call, rep reply) []byte {
	reason := antStopReason(rep.finish)
	out := antMessageOut{
		ID: "msg_" + c.id, Type: "message", Role: "assistant", Model: c.model, Content: d.blocks(c, rep),
		StopReason: &reason, StopSequence: nullable(rep.stopSeq),
		Usage: antUsage{InputTokens: rep.promptTokens, OutputTokens: rep.completionTokens, ServiceTier: "standard"},
	}
	return marshal(out)
}

func antEvent(name string, v any) []byte {
	return []byte("event: " + name + "\ndata: " + string(marshal(v)) + "\n\n")
}

type antDeltaOut struct {
	Type        string  `json:"type"`
	Text        string  `json:"text,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
}

type antTypeOnly struct {
	Type string `json:"type"`
}

type antStartEvent struct {
	Type    string        `json:"type"`
	Message antMessageOut `json:"message"`
}

type antBlockEvent struct {
	Type         string       `json:"type"`
	Index        int          `json:"index"`
	ContentBlock *antBlock    `json:"content_block,omitempty"`
	Delta        *antDeltaOut `json:"delta,omitempty"`
}

type antStop struct {
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

type antMessageDeltaEvent struct {
	Type  string   `json:"type"`
	Delta antStop  `json:"delta"`
	Usage antUsage `json:"usage"`
}

func (d anthropicDialect) stream(c *call, rep reply) (string, [][]byte, int) {
	start := antMessageOut{ID: "msg_" + c.id, Type: "message", Role: "assistant", Model: c.model, Content: []antBlock{},
		Usage: antUsage{InputTokens: rep.promptTokens, OutputTokens: 1, ServiceTier: "standard"}}
	frames := [][]byte{antEvent("message_start", antStartEvent{Type: "message_start", Message: start})}
	first := 0
	for i, b := range d.blocks(c, rep) {
		startBlock := b
		var deltas []antDeltaOut
		if b.Type == "text" {
			empty := ""
			startBlock.Text = &empty
			for _, w := range words(*b.Text) {
				deltas = append(deltas, antDeltaOut{Type: "text_delta", Text: w})
			}
		} else {
			startBlock.Input = json.RawMessage("{}")
			for _, piece := range halves(string(b.Input)) {
				deltas = append(deltas, antDeltaOut{Type: "input_json_delta", PartialJSON: &piece})
			}
		}
		frames = append(frames, antEvent("content_block_start",
			antBlockEvent{Type: "content_block_start", Index: i, ContentBlock: &startBlock}))
		if i == 0 {
			frames = append(frames, antEvent("ping", antTypeOnly{Type: "ping"}))
		}
		if first == 0 {
			first = len(frames)
		}
		for _, delta := range deltas {
			frames = append(frames, antEvent("content_block_delta",
				antBlockEvent{Type: "content_block_delta", Index: i, Delta: &delta}))
		}
		frames = append(frames, antEvent("content_block_stop", antBlockEvent{Type: "content_block_stop", Index: i}))
	}
	frames = append(frames,
		antEvent("message_delta", antMessageDeltaEvent{Type: "message_delta",
			Delta: antStop{StopReason: antStopReason(rep.finish), StopSequence: nullable(rep.stopSeq)},
			Usage: antUsage{InputTokens: rep.promptTokens, OutputTokens: rep.completionTokens}}),
		antEvent("message_stop", antTypeOnly{Type: "message_stop"}))
	return "text/event-stream; charset=utf-8", frames, first
}
