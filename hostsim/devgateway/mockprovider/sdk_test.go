package mockprovider

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// These tests point the official clients at the mocks: if the SDKs decode our answers, streams
// and errors into their own types, the mock speaks the provider's wire format.

func openaiClient(url string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(url + "/v1/"),
		option.WithAPIKey(DefaultKey), option.WithMaxRetries(0)}, opts...)...)
}

var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Weather of a city"),
	Parameters: openai.FunctionParameters{"type": "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
})

func TestOpenAISDKCompletion(t *testing.T) {
	_, url := Start(t, OpenAI, testOptions())
	client := openaiClient(url)
	ctx := context.Background()
	res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:       "gpt-4o-mini",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hello there")},
		Temperature: openai.Float(0.3),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "mock reply to: Hello there" {
		t.Errorf("content %q", got)
	}
	if res.Model != "gpt-4o-mini" || res.Choices[0].FinishReason != "stop" || res.Usage.PromptTokens != 6 ||
		res.Usage.CompletionTokens != 7 || res.Usage.TotalTokens != 13 || res.ID != "chatcmpl-mock000001" {
		t.Errorf("completion %+v", res)
	}
}

func TestOpenAISDKToolLoop(t *testing.T) {
	_, url := Start(t, OpenAI)
	client := openaiClient(url)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(`call tool get_weather {"city":"Paris"}`)},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
	}
	res, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	calls := res.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Paris"}` ||
		res.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("tool calls %+v", res.Choices[0])
	}
	params.Messages = append(params.Messages, res.Choices[0].Message.ToParam(), openai.ToolMessage("sunny", calls[0].ID))
	res, err = client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "mock reply to tool result: sunny" {
		t.Errorf("content %q", got)
	}
}

func TestOpenAISDKStream(t *testing.T) {
	for _, tc := range []struct {
		name, text          string
		tools               bool
		wantContent, wantFn string
	}{
		{name: "text", text: "Hello stream", wantContent: "mock reply to: Hello stream"},
		{name: "tool", text: `call tool get_weather {"city":"Oslo"}`, tools: true, wantFn: `{"city":"Oslo"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := Start(t, OpenAI, Options{ChunkDelay: time.Millisecond})
			client := openaiClient(url)
			params := openai.ChatCompletionNewParams{
				Model:         "gpt-4o",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(tc.text)},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			}
			if tc.tools {
				params.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
			}
			stream := client.Chat.Completions.NewStreaming(context.Background(), params)
			acc := openai.ChatCompletionAccumulator{}
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			msg := acc.Choices[0].Message
			if tc.wantContent != "" && msg.Content != tc.wantContent {
				t.Errorf("content %q", msg.Content)
			}
			if tc.wantFn != "" && (len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Arguments != tc.wantFn ||
				msg.ToolCalls[0].Function.Name != "get_weather") {
				t.Errorf("tool calls %+v", msg.ToolCalls)
			}
			if acc.Usage.TotalTokens == 0 || chunks < 4 {
				t.Errorf("usage %+v after %d chunks", acc.Usage, chunks)
			}
		})
	}
}

func TestOpenAISDKErrors(t *testing.T) {
	s, url := Start(t, OpenAI)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}

	bad, good, retrying := openaiClient(url, option.WithAPIKey("sk-nope-000000000")), openaiClient(url),
		openaiClient(url, option.WithMaxRetries(2))
	_, err := bad.Chat.Completions.New(ctx, params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Fatalf("wrong key: %v", err)
	}
	_, err = good.Chat.Completions.New(ctx, params, option.WithJSONSet("foo", 1))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Message != "Unrecognized request argument supplied: foo" {
		t.Fatalf("unknown argument: %v", err)
	}
	// The SDK retries a 429 after Retry-After; the second attempt succeeds.
	s.FailNext(1, RateLimited(0))
	res, err := retrying.Chat.Completions.New(ctx, params)
	if err != nil || res.Choices[0].Message.Content != "mock reply to: hi" {
		t.Fatalf("retry after 429: %v", err)
	}
	if s.PendingFaults() != 0 {
		t.Errorf("fault not consumed")
	}
}

func TestAzureWithOpenAISDK(t *testing.T) {
	_, url := Start(t, Azure, Options{Deployments: map[string]string{"prod-4o": "gpt-4o-2024-08-06"}})
	client := openai.NewClient(option.WithBaseURL(url+"/openai/deployments/prod-4o/"),
		option.WithQuery("api-version", "2024-10-21"), option.WithHeader("api-key", DefaultKey), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "ignored-by-azure",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi Azure")}}
	res, err := client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != "gpt-4o-2024-08-06" || res.Choices[0].Message.Content != "mock reply to: Hi Azure" {
		t.Errorf("completion %+v", res)
	}
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != "mock reply to: Hi Azure" {
		t.Errorf("streamed %q", acc.Choices[0].Message.Content)
	}
}

func anthropicClient(url string, opts ...aoption.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]aoption.RequestOption{aoption.WithBaseURL(url), aoption.WithAPIKey(DefaultKey),
		aoption.WithMaxRetries(0)}, opts...)...)
}

var anthropicWeather = anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
	Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}}, "get_weather")

func TestAnthropicSDKMessage(t *testing.T) {
	_, url := Start(t, Anthropic, testOptions())
	client := anthropicClient(url)
	msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		System:    []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello Claude"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "mock reply to: Hello Claude" || msg.StopReason != "end_turn" ||
		msg.Usage.InputTokens != 6 || msg.Usage.OutputTokens != 7 || msg.ID != "msg_mock000001" {
		t.Errorf("message %+v", msg)
	}
}

func TestAnthropicSDKToolLoopStreamed(t *testing.T) {
	_, url := Start(t, Anthropic, Options{ChunkDelay: time.Millisecond})
	client := anthropicClient(url)
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		Tools:     []anthropic.ToolUnionParam{anthropicWeather},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(`call tool get_weather {"city":"Rome"}`))},
	}
	streamed := func() anthropic.Message {
		t.Helper()
		stream := client.Messages.NewStreaming(context.Background(), params)
		var msg anthropic.Message
		for stream.Next() {
			if err := msg.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		return msg
	}
	msg := streamed()
	if msg.StopReason != "tool_use" || len(msg.Content) != 1 || msg.Content[0].Name != "get_weather" {
		t.Fatalf("message %+v", msg)
	}
	var input map[string]string
	if err := json.Unmarshal(msg.Content[0].Input, &input); err != nil || input["city"] != "Rome" {
		t.Fatalf("input %s: %v", msg.Content[0].Input, err)
	}
	params.Messages = append(params.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(msg.Content[0].ID, "rainy", false)))
	msg = streamed()
	if msg.StopReason != "end_turn" || msg.Content[0].Text != "mock reply to tool result: rainy" || msg.Usage.OutputTokens == 0 {
		t.Fatalf("message %+v", msg)
	}
}

func TestAnthropicSDKErrors(t *testing.T) {
	s, url := Start(t, Anthropic)
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
	bad, good := anthropicClient(url, aoption.WithAPIKey("nope")), anthropicClient(url)
	_, err := bad.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("wrong key: %v", err)
	}
	s.FailNext(1, Fault{Status: 529})
	_, err = good.Messages.New(context.Background(), params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 {
		t.Fatalf("overloaded: %v", err)
	}
	_, err = good.Messages.New(context.Background(), params, aoption.WithJSONSet("n", 2))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("extra input: %v", err)
	}
}
