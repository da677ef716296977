package e2e

import (
	"context"
	"slices"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
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
