package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
)

// The Anthropic dialect: the official Anthropic client reaching an OpenAI-backed model (the
// request is translated both ways) and an Anthropic-backed one (passed through with the
// provider's credentials).

func anthropicClient(g *gateway, opts ...aoption.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]aoption.RequestOption{aoption.WithBaseURL(g.URL),
		aoption.WithAPIKey(clientKey), aoption.WithMaxRetries(0), aoption.WithRequestTimeout(30 * time.Second)}, opts...)...)
}

// anthropicRoutes are the example models an Anthropic client is tested against.
func anthropicRoutes() []route {
	var rs []route
	for _, r := range exampleRoutes {
		if r.name == "openai" || r.name == "anthropic" || r.name == "bedrock" {
			rs = append(rs, r)
		}
	}
	return rs
}

const systemPrompt = "Answer briefly."

func anthropicParams(model, text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 256,
		System:    []anthropic.TextBlockParam{{Text: systemPrompt}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

func streamMessage(t *testing.T, client anthropic.Client, params anthropic.MessageNewParams) (anthropic.Message, []string) {
	t.Helper()
	stream := client.Messages.NewStreaming(context.Background(), params)
	defer stream.Close()
	var msg anthropic.Message
	var events []string
	for stream.Next() {
		ev := stream.Current()
		events = append(events, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("accumulating %s: %v", ev.Type, err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return msg, events
}

func TestAnthropicClientMessages(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	cfg := exampleConfig(t)
	client := anthropicClient(g)
	for _, r := range anthropicRoutes() {
		for _, streamed := range []bool{false, true} {
			name := r.name
			if streamed {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var msg anthropic.Message
				var events []string
				var text string
				req := g.via(t, r, func(marker string) {
					text = "Hi Claude " + marker
					if streamed {
						msg, events = streamMessage(t, client, anthropicParams(r.model, text))
						return
					}
					m, err := client.Messages.New(context.Background(), anthropicParams(r.model, text))
					if err != nil {
						t.Fatal(err)
					}
					msg = *m
				})
				checkUpstream(t, cfg, r, req)
				if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != replyTo(text) {
					t.Fatalf("content %+v, want one text block %q", msg.Content, replyTo(text))
				}
				if msg.Role != "assistant" || msg.Type != "message" || msg.StopReason != anthropic.StopReasonEndTurn {
					t.Errorf("role %q type %q stop %q, want assistant message end_turn", msg.Role, msg.Type, msg.StopReason)
				}
				wantIn, wantOut := mockTokens(systemPrompt)+mockTokens(text), mockTokens(replyTo(text))
				if msg.Usage.InputTokens != wantIn || msg.Usage.OutputTokens != wantOut {
					t.Errorf("usage %d in, %d out; want %d, %d", msg.Usage.InputTokens, msg.Usage.OutputTokens, wantIn, wantOut)
				}
				if streamed {
					if len(events) < 6 || events[0] != "message_start" || events[len(events)-1] != "message_stop" {
						t.Errorf("events %v, want message_start … message_stop", events)
					}
				}
			})
		}
	}
}

var anthropicWeather = anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
	Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}}, "get_weather")

// TestAnthropicClientToolUse runs a tool loop from an Anthropic client on both models.
func TestAnthropicClientToolUse(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	cfg := exampleConfig(t)
	client := anthropicClient(g)
	for _, r := range anthropicRoutes() {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			var params anthropic.MessageNewParams
			var msg anthropic.Message
			var args string
			req := g.via(t, r, func(marker string) {
				args = `{"city":"Rome ` + marker + `"}`
				params = anthropicParams(r.model, "call tool get_weather "+args)
				params.Tools = []anthropic.ToolUnionParam{anthropicWeather}
				msg, _ = streamMessage(t, client, params)
			})
			checkUpstream(t, cfg, r, req)
			if msg.StopReason != anthropic.StopReasonToolUse || len(msg.Content) != 1 || msg.Content[0].Type != "tool_use" ||
				msg.Content[0].Name != "get_weather" || msg.Content[0].ID == "" {
				t.Fatalf("message %+v, want one get_weather tool_use", msg)
			}
			if !jsonEqual(string(msg.Content[0].Input), args) {
				t.Errorf("input %s, want %s", msg.Content[0].Input, args)
			}
			history := append(params.Messages, msg.ToParam())
			var answer *anthropic.Message
			var result string
			g.via(t, r, func(marker string) {
				result = "rainy in " + marker
				p := params
				p.Messages = append(append([]anthropic.MessageParam(nil), history...),
					anthropic.NewUserMessage(anthropic.NewToolResultBlock(msg.Content[0].ID, result, false)))
				var err error
				if answer, err = client.Messages.New(context.Background(), p); err != nil {
					t.Fatal(err)
				}
			})
			if len(answer.Content) != 1 || answer.Content[0].Text != "mock reply to tool result: "+result {
				b, _ := json.Marshal(answer.Content)
				t.Errorf("answer %s, want the reply to %q", b, result)
			}
		})
	}
}

// TestAnthropicClientStreamIsNotBuffered: with the provider pausing between chunks, the first
// text event reaches the Anthropic client long before the stream ends, translated or not.
func TestAnthropicClientStreamIsNotBuffered(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	const drip = 150 * time.Millisecond
	client := anthropicClient(g, aoption.WithHeader("x-mock-fault", "drip-150"))
	for _, r := range anthropicRoutes() {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			var first, total time.Duration
			var text string
			g.via(t, r, func(marker string) {
				start := time.Now()
				first = 0
				stream := client.Messages.NewStreaming(context.Background(), anthropicParams(r.model, "one two three four five "+marker))
				defer stream.Close()
				var msg anthropic.Message
				for stream.Next() {
					ev := stream.Current()
					if ev.Type == "content_block_delta" && first == 0 {
						first = time.Since(start)
					}
					if err := msg.Accumulate(ev); err != nil {
						t.Fatal(err)
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				total = time.Since(start)
				text = msg.Content[0].Text
			})
			if !strings.HasPrefix(text, replyTo("one two three")) {
				t.Errorf("assembled %q", text)
			}
			if total < 6*drip {
				t.Fatalf("the stream took %v; the mock's drip did not apply", total)
			}
			if first == 0 || first > total-3*drip {
				t.Errorf("first text after %v of %v: the stream was held back", first, total)
			}
		})
	}
}
