package e2e

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
)

// Embeddings go through the filter to the mock OpenAI provider (envoy/stepgate.json routes
// text-embedding-3-small there) and come back as OpenAI's client expects them.
func TestEmbeddingsWithTheOpenAIClient(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	client := openaiClient(g)
	text := "embed " + nonce(t)
	res, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:          "text-embedding-3-small",
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{text, "second"}},
		Dimensions:     openai.Int(16),
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) != 2 || len(res.Data[0].Embedding) != 16 || res.Data[1].Index != 1 {
		t.Fatalf("embeddings %+v", res.Data)
	}
	if want := int64((len(text)+3)/4 + 2); res.Usage.PromptTokens != want || res.Usage.TotalTokens != want {
		t.Errorf("usage %+v, want %d prompt tokens", res.Usage, want)
	}
	_, err = client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "claude-sonnet-4",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")},
	})
	if statusOf(err) != 400 {
		t.Errorf("a model without embeddings: %v", err)
	}
}
