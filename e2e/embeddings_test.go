package e2e

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
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

// embeddingFamilies are the embedding models of envoy/stepgate.json, one per provider family.
var embeddingFamilies = []struct {
	model string
	kind  mockprovider.Kind
	path  string // what the provider receives for two inputs
}{
	{"text-embedding-3-small", mockprovider.OpenAI, "/v1/embeddings"},
	{"text-embedding-3-large", mockprovider.Azure, "/openai/deployments/text-embedding-3-large/embeddings"},
	{"gemini-embedding-001", mockprovider.Gemini, "/v1beta/models/gemini-embedding-001:batchEmbedContents"},
	{"nomic-embed-text", mockprovider.Ollama, "/api/embed"},
}

// Every family answers OpenAI's client in OpenAI's shape: the mocks embed a text the same way,
// so the vectors must be equal whatever the provider, and so must the usage (Gemini reports
// none: the filter's estimate, counted like the mocks count, stands in and is marked).
func TestEmbeddingsThroughEveryProviderFamily(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	client := openaiClient(g)
	text := "embed family " + nonce(t)
	var first []float64
	for _, f := range embeddingFamilies {
		var hr *http.Response
		res, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
			Model:      f.model,
			Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{text, "second " + f.model}},
			Dimensions: openai.Int(16),
		}, option.WithResponseInto(&hr))
		if err != nil {
			t.Fatalf("%s: %v", f.model, err)
		}
		if len(res.Data) != 2 || len(res.Data[0].Embedding) != 16 || res.Data[1].Index != 1 {
			t.Fatalf("%s: embeddings %+v", f.model, res.Data)
		}
		if first == nil {
			first = res.Data[0].Embedding
		} else if !slices.Equal(first, res.Data[0].Embedding) {
			t.Errorf("%s: vector %v, want the same as OpenAI's %v", f.model, res.Data[0].Embedding, first)
		}
		want := int64((len(text)+3)/4 + (len("second "+f.model)+3)/4)
		if res.Usage.PromptTokens != want || res.Usage.TotalTokens != want {
			t.Errorf("%s: usage %+v, want %d prompt tokens", f.model, res.Usage, want)
		}
		estimated := hr.Header.Get("x-stepgate-token-count") == "estimate"
		if estimated != (f.kind == mockprovider.Gemini) {
			t.Errorf("%s: x-stepgate-token-count %q", f.model, hr.Header.Get("x-stepgate-token-count"))
		}
		if p := g.requestWith(t, f.kind, text).Path; p != f.path {
			t.Errorf("%s: the provider got %s, want %s", f.model, p, f.path)
		}
	}
}

// One input goes to Gemini's embedContent; base64 vectors are OpenAI's little-endian float32s,
// encoded by the filter for providers that answer floats.
func TestEmbeddingsBase64AndOneInput(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	client := openaiClient(g)
	text := "embed one " + nonce(t)
	params := func(model string, format openai.EmbeddingNewParamsEncodingFormat) openai.EmbeddingNewParams {
		return openai.EmbeddingNewParams{Model: model, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(text)},
			Dimensions: openai.Int(4), EncodingFormat: format}
	}
	for _, model := range []string{"gemini-embedding-001", "nomic-embed-text"} {
		floats, err := client.Embeddings.New(context.Background(), params(model, openai.EmbeddingNewParamsEncodingFormatFloat))
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		b64, err := client.Embeddings.New(context.Background(), params(model, openai.EmbeddingNewParamsEncodingFormatBase64))
		if err != nil {
			t.Fatalf("%s base64: %v", model, err)
		}
		raw, err := base64.StdEncoding.DecodeString(gjson.Get(b64.Data[0].RawJSON(), "embedding").Str)
		if err != nil || len(raw) != 4*4 || len(floats.Data) != 1 {
			t.Fatalf("%s: base64 %s (%v)", model, b64.Data[0].RawJSON(), err)
		}
		for i, f := range floats.Data[0].Embedding {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != float32(f) {
				t.Errorf("%s: value %d is %v in base64, %v as a float", model, i, got, f)
			}
		}
	}
	for _, r := range g.mocks.Requests(t, mockprovider.Gemini) {
		if strings.Contains(string(r.Body), text) && r.Path != "/v1beta/models/gemini-embedding-001:embedContent" {
			t.Errorf("one input went to %s", r.Path)
		}
	}
	// Token arrays reach only OpenAI's API.
	_, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "nomic-embed-text",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{{1, 2, 3}}}})
	if statusOf(err) != 400 {
		t.Errorf("token arrays to Ollama: %v", err)
	}
}
