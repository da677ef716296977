package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// A provider answer the filter cannot translate reaches the official clients as a 502 in their
// dialect before the stream starts, and as their dialect's stream error after; each counts as
// an upstream error with the provider's status.
func TestUntranslatableAnswersReachClientsAsErrors(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	needsInProcess(t, "the gateway's metrics")
	const errors200 = "stepgate_upstream_errors_total.provider.mock-anthropic.status.200"
	before, _ := g.host.Metric(errors200)
	calls := 0
	ctx := context.Background()
	// The OpenAI client's model is served by the Anthropic mock: the answer is translated.
	for _, fault := range []string{"html", "empty", "malformed"} {
		t.Run("openai "+fault, func(t *testing.T) {
			var rr rawResponse
			client := openaiClient(g, rr.openai(), option.WithHeader("x-mock-fault", fault))
			_, err := client.Chat.Completions.New(ctx, userText("claude-sonnet-4", "hello"))
			checkOpenAIError(t, err, &rr, 502, "server_error")
			stream := client.Chat.Completions.NewStreaming(ctx, userText("claude-sonnet-4", "hello"))
			for stream.Next() {
			}
			var apiErr *openai.Error
			switch err := stream.Err(); {
			case fault == "malformed": // the stream had started: the dialect's error event
				if err == nil || !strings.Contains(err.Error(), "the provider sent a malformed stream event") {
					t.Errorf("stream error %v, want the error event", err)
				}
			case !errors.As(err, &apiErr) || apiErr.StatusCode != 502:
				t.Errorf("stream error %v, want a 502", err)
			}
			calls += 2
		})
	}
	t.Run("anthropic malformed", func(t *testing.T) {
		var rr rawResponse
		client := anthropicClient(g, rr.anthropic(), aoption.WithHeader("x-mock-fault", "malformed"))
		_, err := client.Messages.New(ctx, anthropicParams("claude-sonnet-4", "hello"))
		checkAnthropicError(t, err, &rr, 502, "api_error")
		stream := client.Messages.NewStreaming(ctx, anthropicParams("claude-sonnet-4", "hello"))
		for stream.Next() {
		}
		if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "the provider sent a malformed stream event") {
			t.Errorf("stream error %v, want the error event", err)
		}
		calls += 2
	})
	t.Run("openai broken stream", func(t *testing.T) {
		// The provider's connection drops mid-stream: the client's is reset (as Envoy does).
		client := openaiClient(g, option.WithHeader("x-mock-fault", "broken"))
		stream := client.Chat.Completions.NewStreaming(ctx, userText("claude-sonnet-4", "hello"))
		for stream.Next() {
		}
		if stream.Err() == nil {
			t.Error("a broken stream ended without an error")
		}
		calls++
	})
	if err := g.host.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if after, _ := g.host.Metric(errors200); after.Value < before.Value+uint64(calls) {
		t.Errorf("%s went from %d to %d, want %d more", errors200, before.Value, after.Value, calls)
	}
}
