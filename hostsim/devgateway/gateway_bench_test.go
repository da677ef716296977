package devgateway_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/sjson"

	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// BenchmarkChatCompletion is one OpenAI-dialect chat completion through the gateway: the client,
// the filter on hostsim (parse, route, translate), the mock provider and back, over loopback.
func BenchmarkChatCompletion(b *testing.B) {
	for _, tt := range []struct{ name, model string }{
		{"openai", "gpt-4o-mini"},        // same format: the filter rewrites headers and the model only
		{"anthropic", "claude-sonnet-4"}, // translated both ways
	} {
		b.Run(tt.name, func(b *testing.B) {
			g := startBench(b)
			body := chat(tt.model, "hello there, how are you today?")
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", g.URL()+"/v1/chat/completions", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", demoAuth)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}

func startBench(b *testing.B) *devgateway.Gateway {
	b.Helper()
	config, _ := sjson.DeleteBytes(exampleConfig(b), "throttle") // measure the path, not the limits
	config, _ = sjson.SetBytes(config, "log.access_log", false)
	g, err := devgateway.Start(context.Background(), devgateway.Config{
		Module: filterWasm(b), PluginConfig: config, Listen: "127.0.0.1:0", AdminListen: "-",
		Mock: true, Logf: func(string, ...any) {}, AllowOnHeadersStopIteration: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	return g
}
