package e2e

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"
)

// Model listings are answered by the filter from its configuration, in each client's shape.

// exampleModels are the route names of envoy/stepgate.json, sorted.
func exampleModels(t *testing.T) []string {
	var names []string
	gjson.GetBytes(exampleConfig(t), "models.routes").ForEach(func(k, _ gjson.Result) bool {
		names = append(names, k.String())
		return true
	})
	slices.Sort(names)
	return names
}

func TestModelListingComesFromTheConfiguration(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	want := exampleModels(t)
	t.Run("openai", func(t *testing.T) {
		t.Parallel()
		client := openaiClient(g)
		page, err := client.Models.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range page.Data {
			got = append(got, m.ID)
			if m.Object != "model" {
				t.Errorf("model %s: object %q", m.ID, m.Object)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("models %q, want %q", got, want)
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		t.Parallel()
		client := anthropicClient(g)
		page, err := client.Models.List(context.Background(), anthropic.ModelListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range page.Data {
			got = append(got, m.ID)
			if m.Type != "model" {
				t.Errorf("model %s: type %q", m.ID, m.Type)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("models %q, want %q", got, want)
		}
	})
}

func TestOneModelComesFromTheConfiguration(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	ctx := context.Background()
	oa := openaiClient(g)
	for _, id := range exampleModels(t) {
		m, err := oa.Models.Get(ctx, id)
		if err != nil || m.ID != id || m.Object != "model" || m.OwnedBy == "" {
			t.Errorf("openai %s: %v %+v", id, err, m)
		}
	}
	_, err := oa.Models.Get(ctx, "no-such-model")
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 404 || oe.Code != "model_not_found" {
		t.Errorf("unknown model: %v", err)
	}
	an := anthropicClient(g)
	m, err := an.Models.Get(ctx, "claude-sonnet-4", anthropic.ModelGetParams{})
	if err != nil || m.ID != "claude-sonnet-4" || m.Type != "model" {
		t.Errorf("anthropic: %v %+v", err, m)
	}
}

// count_tokens is Anthropic's own count for a model Anthropic serves (forwarded to the mock,
// which counts four bytes a token), the filter's estimate for any other (see docs/AI-FORMAT.md),
// in Anthropic's shape and labelled with which it is.
func TestCountTokensWithTheAnthropicClient(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	an := anthropicClient(g)
	text := "How many tokens is this?"
	for _, c := range []struct {
		model, source string
		want          int64 // 0: any positive count
	}{
		{"claude-sonnet-4", "provider", int64((len(text) + 3) / 4)},
		{"gpt-4o-mini", "estimate", 0},
	} {
		var hr *http.Response
		n, err := an.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
			Model:    anthropic.Model(c.model),
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
		}, aoption.WithResponseInto(&hr))
		if err != nil || n.InputTokens <= 0 || c.want != 0 && n.InputTokens != c.want {
			t.Fatalf("%s: count_tokens: %v %+v, want %d", c.model, err, n, c.want)
		}
		if got := hr.Header.Get("x-stepgate-token-count"); got != c.source {
			t.Errorf("%s: x-stepgate-token-count %q, want %q", c.model, got, c.source)
		}
	}
}
