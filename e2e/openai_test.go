package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The hub dialect: the official OpenAI client against every provider type of the example
// configuration, each answer checked against the mock's deterministic reply and token formula.

func openaiClient(g *gateway, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(g.URL + "/v1/"),
		option.WithAPIKey(clientKey), option.WithMaxRetries(0), option.WithRequestTimeout(30 * time.Second)}, opts...)...)
}

func userText(model, text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
	}
}

var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Current weather of a city"),
	Parameters: openai.FunctionParameters{"type": "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
})

func TestOpenAIClientCompletion(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	cfg := exampleConfig(t)
	client := openaiClient(g)
	for _, r := range exampleRoutes {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			var res *openai.ChatCompletion
			var text string
			req := g.via(t, r, func(marker string) {
				text = "Hello " + marker
				var err error
				if res, err = client.Chat.Completions.New(context.Background(), userText(r.model, text)); err != nil {
					t.Fatal(err)
				}
			})
			checkUpstream(t, cfg, r, req)
			if len(res.Choices) != 1 {
				t.Fatalf("%d choices, want 1: %s", len(res.Choices), res.RawJSON())
			}
			c := res.Choices[0]
			if c.Message.Content != replyTo(text) || c.Message.Role != "assistant" || c.FinishReason != "stop" {
				t.Errorf("choice = %q (role %q, finish %q), want %q (assistant, stop)",
					c.Message.Content, c.Message.Role, c.FinishReason, replyTo(text))
			}
			wantIn, wantOut := mockTokens(text), mockTokens(replyTo(text))
			if u := res.Usage; u.PromptTokens != wantIn || u.CompletionTokens != wantOut || u.TotalTokens != wantIn+wantOut {
				t.Errorf("usage = %d+%d=%d, want %d+%d=%d", u.PromptTokens, u.CompletionTokens, u.TotalTokens,
					wantIn, wantOut, wantIn+wantOut)
			}
			if res.Object != "chat.completion" || res.ID == "" {
				t.Errorf("object %q id %q", res.Object, res.ID)
			}
		})
	}
}

// streamResult is what a client assembled from a chat completion stream.
type streamResult struct {
	acc            openai.ChatCompletionAccumulator
	contentChunks  int           // chunks carrying text
	usageChunks    int           // chunks with usage (the include_usage chunk has no choices)
	firstContent   time.Duration // from the request to the first text
	total          time.Duration
	finishReason   string
	noChoiceChunks int
}

func streamChat(t *testing.T, client openai.Client, params openai.ChatCompletionNewParams, opts ...option.RequestOption) streamResult {
	t.Helper()
	start := time.Now()
	stream := client.Chat.Completions.NewStreaming(context.Background(), params, opts...)
	defer stream.Close()
	var sr streamResult
	for stream.Next() {
		c := stream.Current()
		if !sr.acc.AddChunk(c) {
			t.Errorf("the accumulator refused chunk %s", c.RawJSON())
		}
		if len(c.Choices) == 0 {
			sr.noChoiceChunks++
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" {
				if sr.contentChunks == 0 {
					sr.firstContent = time.Since(start)
				}
				sr.contentChunks++
			}
			if ch.FinishReason != "" {
				sr.finishReason = ch.FinishReason
			}
		}
		if c.JSON.Usage.Valid() && c.Usage.TotalTokens > 0 {
			sr.usageChunks++
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	sr.total = time.Since(start)
	return sr
}

func TestOpenAIClientStreaming(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	cfg := exampleConfig(t)
	client := openaiClient(g)
	for _, r := range exampleRoutes {
		for _, includeUsage := range []bool{true, false} {
			name := r.name + "/usage"
			if !includeUsage {
				name = r.name + "/no-usage"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var sr streamResult
				var text string
				req := g.via(t, r, func(marker string) {
					text = "Stream to me " + marker
					params := userText(r.model, text)
					if includeUsage {
						params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
					}
					sr = streamChat(t, client, params)
				})
				checkUpstream(t, cfg, r, req)
				if len(sr.acc.Choices) != 1 {
					t.Fatalf("assembled %d choices, want 1", len(sr.acc.Choices))
				}
				if got := sr.acc.Choices[0].Message.Content; got != replyTo(text) {
					t.Errorf("assembled text %q, want %q", got, replyTo(text))
				}
				if sr.finishReason != "stop" {
					t.Errorf("finish reason %q, want stop", sr.finishReason)
				}
				if sr.contentChunks < 2 {
					t.Errorf("text came in %d chunks; the mock streams one per word", sr.contentChunks)
				}
				wantIn, wantOut := mockTokens(text), mockTokens(replyTo(text))
				if includeUsage {
					u := sr.acc.Usage
					if sr.usageChunks != 1 || u.PromptTokens != wantIn || u.CompletionTokens != wantOut || u.TotalTokens != wantIn+wantOut {
						t.Errorf("%d usage chunks, usage %d+%d=%d; want 1 chunk with %d+%d=%d", sr.usageChunks,
							u.PromptTokens, u.CompletionTokens, u.TotalTokens, wantIn, wantOut, wantIn+wantOut)
					}
				} else if sr.usageChunks != 0 {
					t.Errorf("a client that did not ask for usage got %d usage chunks", sr.usageChunks)
				}
				if sr.noChoiceChunks > sr.usageChunks {
					// Azure's prompt_filter_results chunk has no choices; it passes through.
					t.Logf("%d chunks without choices reached the client", sr.noChoiceChunks-sr.usageChunks)
				}
			})
		}
	}
}

// TestOpenAIClientStreamIsNotBuffered slows the provider between stream chunks: the first words
// must reach the client long before the last, whatever the provider's framing.
func TestOpenAIClientStreamIsNotBuffered(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	client := openaiClient(g)
	const drip = 150 * time.Millisecond
	for _, r := range exampleRoutes {
		if r.shared {
			continue // one provider with OpenAI's framing is enough; repeats would cost seconds
		}
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			var sr streamResult
			g.via(t, r, func(marker string) {
				sr = streamChat(t, client, userText(r.model, "one two three four five "+marker),
					option.WithHeader("x-mock-fault", "drip-150"))
			})
			// The reply has 9 words, streamed 150 ms apart: ≥ 1.2 s in all.
			if sr.total < 6*drip {
				t.Fatalf("the stream took %v; the mock's drip did not apply", sr.total)
			}
			if sr.firstContent > sr.total-3*drip {
				t.Errorf("first text after %v of %v: the stream was held back", sr.firstContent, sr.total)
			}
		})
	}
}

func TestOpenAIClientToolCallRoundTrip(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	cfg := exampleConfig(t)
	client := openaiClient(g)
	for _, r := range exampleRoutes {
		for _, streamed := range []bool{false, true} {
			name := r.name
			if streamed {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				var params openai.ChatCompletionNewParams
				var msg openai.ChatCompletionMessage
				var finish string
				var args string
				req := g.via(t, r, func(marker string) {
					args = `{"city":"Paris ` + marker + `"}`
					params = openai.ChatCompletionNewParams{
						Model:    r.model,
						Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("call tool get_weather " + args)},
						Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
					}
					if streamed {
						sr := streamChat(t, client, params)
						msg, finish = sr.acc.Choices[0].Message, sr.finishReason
						return
					}
					res, err := client.Chat.Completions.New(ctx, params)
					if err != nil {
						t.Fatal(err)
					}
					msg, finish = res.Choices[0].Message, res.Choices[0].FinishReason
				})
				checkUpstream(t, cfg, r, req)
				if len(msg.ToolCalls) != 1 || finish != "tool_calls" {
					t.Fatalf("got %d tool calls (finish %q), want 1 (tool_calls); message %+v", len(msg.ToolCalls), finish, msg)
				}
				call := msg.ToolCalls[0]
				if call.Function.Name != "get_weather" || call.ID == "" || call.Type != "function" {
					t.Errorf("tool call %+v", call)
				}
				if !jsonEqual(call.Function.Arguments, args) {
					t.Errorf("arguments %s, want %s", call.Function.Arguments, args)
				}

				// Second turn: the tool's result goes back, the model answers it.
				history := append(params.Messages, msg.ToParam())
				var res *openai.ChatCompletion
				var result string
				req = g.via(t, r, func(marker string) {
					result = "sunny in " + marker
					p := params
					p.Messages = append(append([]openai.ChatCompletionMessageParamUnion(nil), history...),
						openai.ToolMessage(result, call.ID))
					var err error
					if res, err = client.Chat.Completions.New(ctx, p); err != nil {
						t.Fatal(err)
					}
				})
				checkUpstream(t, cfg, r, req)
				if got, want := res.Choices[0].Message.Content, "mock reply to tool result: "+result; got != want {
					t.Errorf("answer to the tool result %q, want %q", got, want)
				}
				if !strings.Contains(string(req.Body), "get_weather") {
					t.Errorf("the second turn reached %s without the tool call: %s", r.kind, req.Body)
				}
			})
		}
	}
}
