package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// Bedrock's failures reach the official clients in their own dialect: its throttling as a 429,
// an answer that is not JSON as a 502, and a frame the event-stream decoder refuses (the mock's
// malformed fault cuts JSON inside a frame, so its CRC no longer matches) as the dialect's
// stream error after the text that came before.
func TestBedrockFailuresReachClientsInTheirDialect(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	ctx := context.Background()
	const model = "claude-3-haiku"
	t.Run("openai throttled", func(t *testing.T) {
		var rr rawResponse
		client := openaiClient(g, rr.openai(), option.WithHeader("x-mock-fault", "429"))
		_, err := client.Chat.Completions.New(ctx, userText(model, "hello"))
		checkOpenAIError(t, err, &rr, 429, "requests")
	})
	t.Run("openai html", func(t *testing.T) {
		var rr rawResponse
		client := openaiClient(g, rr.openai(), option.WithHeader("x-mock-fault", "html"))
		_, err := client.Chat.Completions.New(ctx, userText(model, "hello"))
		checkOpenAIError(t, err, &rr, 502, "server_error")
	})
	t.Run("openai broken frame", func(t *testing.T) {
		client := openaiClient(g, option.WithHeader("x-mock-fault", "malformed"))
		stream := client.Chat.Completions.NewStreaming(ctx, userText(model, "hello"))
		for stream.Next() {
		}
		var apiErr *openai.Error
		if err := stream.Err(); err == nil || errors.As(err, &apiErr) && apiErr.StatusCode != 200 ||
			!strings.Contains(err.Error(), "broken event stream") {
			t.Errorf("stream error %v, want the broken event stream's error event", err)
		}
	})
	t.Run("anthropic broken frame", func(t *testing.T) {
		client := anthropicClient(g, aoption.WithHeader("x-mock-fault", "malformed"))
		stream := client.Messages.NewStreaming(ctx, anthropicParams(model, "hello"))
		var msg anthropic.Message
		for stream.Next() {
			_ = msg.Accumulate(stream.Current())
		}
		if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "broken event stream") {
			t.Errorf("stream error %v, want the broken event stream's error event", err)
		}
	})
}
