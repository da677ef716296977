package prompts

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// BenchmarkRender1KB renders a 1 KB template (system and user text around three variables) with
// short values: the work a prompt call adds before the chat request is routed like any other.
func BenchmarkRender1KB(b *testing.B) {
	prose := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 11) // ~500 bytes
	doc := `{"prompts":{"p":{"model":"gpt-4o-mini","system":"` + prose + ` Answer in {{language}}, in {{words}} words.",
		"user":"` + prose + ` Text: {{text}}","variables":{"text":{"required":true,"max_length":20000},
		"language":{"type":"enum","values":["en","fr"],"default":"en"},"words":{"type":"number","default":60}},
		"parameters":{"temperature":0.2,"max_tokens":256}}}}`
	c, err := ParseConfig(gjson.Parse(doc))
	if err != nil {
		b.Fatal(err)
	}
	pr := c.Prompts[0]
	body := []byte(`{"text":"Stepgate is an AI-traffic filter for \"Envoy\".","language":"fr"}`)
	out, _, _ := pr.Render(nil, body, pr.Model)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	buf := make([]byte, 0, 2048)
	for b.Loop() {
		if _, _, verr := pr.Render(buf[:0], body, pr.Model); verr != nil {
			b.Fatal(verr)
		}
	}
}
