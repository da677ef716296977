package e2e

import (
	"context"
	"testing"

	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// The example configuration sends gpt-4o on to claude-sonnet-4 when its backend fails: the
// official clients get the fallback's answer, streamed or not, in their own format. The mocks
// fail on the x-mock-fault header, which the filter forwards to the first backend only (a
// fallback call carries the provider's headers, not the client's). The gateway is this test's
// own: the failures trip gpt-4o's breaker, which the shared one's other tests must not see.
func TestFailoverWithTheOfficialClients(t *testing.T) {
	g := startGateway(t, exampleConfig(t))
	ctx := context.Background()
	for _, fault := range []string{"429", "503"} {
		t.Run("openai "+fault, func(t *testing.T) {
			client := openaiClient(g, option.WithHeader("x-mock-fault", fault))
			text := "hello " + nonce(t)
			res, err := client.Chat.Completions.New(ctx, userText("gpt-4o", text))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Choices[0].Message.Content; got != replyTo(text) {
				t.Errorf("answer %q, want %q", got, replyTo(text))
			}
			g.requestWith(t, mockprovider.Anthropic, text)

			text = "stream " + nonce(t)
			stream := client.Chat.Completions.NewStreaming(ctx, userText("gpt-4o", text))
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != replyTo(text) || acc.Choices[0].FinishReason != "stop" {
				t.Errorf("streamed answer %q (%s), want %q", got, acc.Choices[0].FinishReason, replyTo(text))
			}
			g.requestWith(t, mockprovider.Anthropic, text)
		})
	}
	t.Run("anthropic", func(t *testing.T) {
		client := anthropicClient(g, aoption.WithHeader("x-mock-fault", "500"))
		text := "hi " + nonce(t)
		msg, _ := streamMessage(t, client, anthropicParams("gpt-4o", text))
		if len(msg.Content) != 1 || msg.Content[0].Text != replyTo(text) {
			t.Errorf("streamed message %+v, want %q", msg.Content, replyTo(text))
		}
		g.requestWith(t, mockprovider.Anthropic, text)
	})
	if err := g.host.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var served uint64
	for _, from := range []string{"mock-openai", "mock-azure"} { // gpt-4o's two weighted backends
		m, _ := g.host.Metric("stepgate_failover_attempts_total.from." + from + ".to.mock-anthropic.outcome.served")
		served += m.Value
	}
	if served != 5 {
		t.Errorf("%d served fallbacks counted, want 5", served)
	}
}
