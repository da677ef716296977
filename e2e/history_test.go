package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aparam "github.com/anthropics/anthropic-sdk-go/packages/param"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// verbatim is an assistant message pushed back exactly as the answer carried it, the way the
// OpenAI SDK examples in JavaScript and Python build a conversation (Go's ToParam copies only
// the request fields): annotations, a null refusal and all.
func verbatim(msg openai.ChatCompletionMessage) openai.ChatCompletionMessageParamUnion {
	asst := param.Override[openai.ChatCompletionAssistantMessageParam](json.RawMessage(msg.RawJSON()))
	return openai.ChatCompletionMessageParamUnion{OfAssistant: &asst}
}

// TestOpenAIClientConversationWithVerbatimHistory runs a three-turn conversation on every route
// with each answer pushed back verbatim: a tool call, the tool's result, then a plain follow-up
// whose history holds a text answer with its response-only members.
func TestOpenAIClientConversationWithVerbatimHistory(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	client := openaiClient(g)
	ctx := context.Background()
	for _, r := range exampleRoutes {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			params := openai.ChatCompletionNewParams{Model: r.model, Tools: []openai.ChatCompletionToolUnionParam{weatherTool}}
			ask := func(add ...openai.ChatCompletionMessageParamUnion) openai.ChatCompletionMessage {
				t.Helper()
				params.Messages = append(params.Messages, add...)
				res, err := client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatalf("turn %d: %v", len(params.Messages), err)
				}
				return res.Choices[0].Message
			}

			call := ask(openai.UserMessage(`call tool get_weather {"city":"Oslo"}`))
			if len(call.ToolCalls) != 1 {
				t.Fatalf("first turn: %s, want one tool call", call.RawJSON())
			}
			answer := ask(verbatim(call), openai.ToolMessage("snow", call.ToolCalls[0].ID))
			if answer.Content != "mock reply to tool result: snow" {
				t.Fatalf("second turn: %q", answer.Content)
			}
			follow := ask(verbatim(answer), openai.UserMessage("thanks"))
			if follow.Content != replyTo("thanks") {
				t.Errorf("third turn: %q, want %q", follow.Content, replyTo("thanks"))
			}
			if r.kind == mockprovider.OpenAI && !strings.Contains(answer.RawJSON(), `"annotations"`) {
				t.Errorf("the mock's answer has no annotations, so the history exercised nothing: %s", answer.RawJSON())
			}
		})
	}
}

// verbatimBlocks are an answer's content blocks pushed back exactly as they came, as the
// Anthropic SDK examples in other languages do ({role: "assistant", content: message.content}).
func verbatimBlocks(msg *anthropic.Message) anthropic.MessageParam {
	blocks := make([]anthropic.ContentBlockParamUnion, len(msg.Content))
	for i, b := range msg.Content {
		raw := json.RawMessage(b.RawJSON())
		switch b.Type {
		case "tool_use":
			tu := aparam.Override[anthropic.ToolUseBlockParam](raw)
			blocks[i] = anthropic.ContentBlockParamUnion{OfToolUse: &tu}
		default:
			tb := aparam.Override[anthropic.TextBlockParam](raw)
			blocks[i] = anthropic.ContentBlockParamUnion{OfText: &tb}
		}
	}
	return anthropic.MessageParam{Role: anthropic.MessageParamRoleAssistant, Content: blocks}
}

// TestAnthropicClientConversationWithVerbatimHistory is the same three-turn conversation from the
// Anthropic client, on every route.
func TestAnthropicClientConversationWithVerbatimHistory(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	client := anthropicClient(g)
	for _, r := range exampleRoutes {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			params := anthropicParams(r.model, `call tool get_weather {"city":"Oslo"}`)
			params.Tools = []anthropic.ToolUnionParam{anthropicWeather}
			ask := func(add ...anthropic.MessageParam) *anthropic.Message {
				t.Helper()
				params.Messages = append(params.Messages, add...)
				res, err := client.Messages.New(context.Background(), params)
				if err != nil {
					t.Fatalf("turn %d: %v", len(params.Messages), err)
				}
				return res
			}

			call := ask()
			if len(call.Content) != 1 || call.Content[0].Type != "tool_use" {
				t.Fatalf("first turn: %s, want one tool_use", call.RawJSON())
			}
			answer := ask(verbatimBlocks(call),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock(call.Content[0].ID, "snow", false)))
			if len(answer.Content) != 1 || answer.Content[0].Text != "mock reply to tool result: snow" {
				t.Fatalf("second turn: %s", answer.RawJSON())
			}
			follow := ask(verbatimBlocks(answer), anthropic.NewUserMessage(anthropic.NewTextBlock("thanks")))
			if len(follow.Content) != 1 || follow.Content[0].Text != replyTo("thanks") {
				t.Errorf("third turn: %s, want %q", follow.RawJSON(), replyTo("thanks"))
			}
		})
	}
}
