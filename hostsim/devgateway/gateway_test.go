package devgateway_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

func TestChatCompletionIsTranslatedToEveryMockedProvider(t *testing.T) {
	g, _ := start(t, nil)
	tests := []struct {
		model    string
		kind     mockprovider.Kind
		upstream string // the model name the provider saw (Azure: in the deployment path)
	}{
		{"gpt-4o-mini", mockprovider.OpenAI, "gpt-4o-mini"},
		{"claude-sonnet-4", mockprovider.Anthropic, "claude-sonnet-4-20250514"},
		{"gemini-2.0-flash", mockprovider.Gemini, "gemini-2.0-flash"},
		{"llama3.2", mockprovider.Ollama, "llama3.2"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			a := do(t, "POST", g.URL()+"/v1/chat/completions", chat(tt.model, "hello "+tt.model))
			if a.status != 200 {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if got := gjson.Get(a.body, "choices.0.message.content").Str; got != "mock reply to: hello "+tt.model {
				t.Errorf("content = %q; body %s", got, a.body)
			}
			if gjson.Get(a.body, "object").Str != "chat.completion" || gjson.Get(a.body, "usage.total_tokens").Int() == 0 {
				t.Errorf("not an OpenAI chat completion with usage: %s", a.body)
			}
			if a.header.Get("X-Stepgate") == "" {
				t.Errorf("response lacks x-stepgate (response_headers.version); headers %v", a.header)
			}
			reqs := g.Mock().Server(tt.kind).Requests()
			if len(reqs) == 0 {
				t.Fatalf("the %s mock received nothing", tt.kind)
			}
			up := reqs[len(reqs)-1]
			if !strings.Contains(string(up.Body)+up.Path, tt.upstream) {
				t.Errorf("upstream request %s %s does not name %q", up.Path, up.Body, tt.upstream)
			}
			for name := range up.Header {
				if strings.HasPrefix(strings.ToLower(name), "x-stepgate") {
					t.Errorf("internal header %s reached the provider (envoy.yaml removes it)", name)
				}
			}
			if got := up.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
				t.Errorf("x-forwarded-for = %q, want the client address", got)
			}
		})
	}
}

func TestStreamingResponsesArriveChunkByChunk(t *testing.T) {
	g, _ := start(t, nil)
	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"one two three four five six"}]}`
	req, _ := http.NewRequest("POST", g.URL()+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Mock-Fault", "drip-150") // the mock waits 150 ms between chunks
	req.Header.Set("Authorization", demoAuth)
	begin := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	var firstAt time.Duration
	var text strings.Builder
	var done bool
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if firstAt == 0 {
			firstAt = time.Since(begin)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		text.WriteString(gjson.Get(data, "choices.0.delta.content").Str)
	}
	total := time.Since(begin)
	if !done || text.String() != "mock reply to: one two three four five six" {
		t.Fatalf("stream text %q, [DONE] %v", text.String(), done)
	}
	// Nine chunks 150 ms apart: a buffered response would show its first chunk at the end.
	if total < time.Second || firstAt > total/2 {
		t.Errorf("first chunk after %v of %v: the response was not streamed", firstAt, total)
	}
}

func TestUnroutedRequestsGetTheCatchAll404(t *testing.T) {
	g, _ := start(t, nil)
	a := do(t, "GET", g.URL()+"/healthz", "")
	want := `{"error":{"message":"stepgate: no provider route for this request","type":"invalid_request_error","param":null,"code":"route_not_found"}}`
	if a.status != 404 || a.body != want || a.header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q %v, want envoy.yaml's direct_response", a.status, a.body, a.header)
	}
	if a.header.Get("X-Stepgate") == "" {
		t.Error("the direct response skipped the filter's response callbacks")
	}
}

func TestDefaultClusterTakesUnroutedRequests(t *testing.T) {
	var seen http.Header
	var mu sync.Mutex
	up := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		w.Write([]byte("from the default cluster " + r.URL.Path))
	})}
	ln := listen(t)
	go up.Serve(ln)
	t.Cleanup(func() { up.Close() })
	g, _ := start(t, func(c *devgateway.Config) {
		c.Clusters = map[string]string{"backend": "http://" + ln.Addr().String()}
		c.DefaultCluster = "backend"
	})
	a := do(t, "GET", g.URL()+"/a//b/./c/../d", "", "X-Stepgate-Tenant", "spoofed")
	if a.status != 200 || a.body != "from the default cluster /a/b/d" {
		t.Fatalf("got %d %q, want the backend with the normalized path", a.status, a.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen.Get("X-Stepgate-Tenant") != "" || seen.Get("X-Request-Id") == "" {
		t.Errorf("upstream headers %v: want x-request-id and no x-stepgate-*", seen)
	}
}

func TestAdminReadyAndPrometheusAfterTraffic(t *testing.T) {
	g, _ := start(t, nil)
	for range 3 {
		if a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "hi")); a.status != 200 {
			t.Fatalf("chat: %d %s", a.status, a.body)
		}
	}
	if a := do(t, "GET", g.AdminURL()+"/ready", ""); a.status != 200 || a.body != "LIVE\n" {
		t.Errorf("/ready = %d %q, want 200 LIVE", a.status, a.body)
	}
	a := do(t, "GET", g.AdminURL()+"/stats/prometheus", "")
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/stats/prometheus = %d %v", a.status, a.header)
	}
	fams := parseExposition(t, a.body)
	req := fams["stepgate_requests_total"]
	if req == nil || req.GetType().String() != "COUNTER" {
		t.Fatalf("no counter stepgate_requests_total in\n%s", a.body)
	}
	found := false
	for _, m := range req.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["model"] == "gpt-4o-mini" && labels["status"] == "200" && labels["provider"] == "mock-openai" {
			found = m.GetCounter().GetValue() == 3
		}
	}
	if !found {
		t.Errorf("want stepgate_requests_total{model=\"gpt-4o-mini\",provider=\"mock-openai\",status=\"200\"} 3 in\n%s", a.body)
	}
	if h := fams["stepgate_request_duration_ms"]; h == nil || h.GetType().String() != "HISTOGRAM" ||
		h.Metric[0].GetHistogram().GetSampleCount() != 3 {
		t.Errorf("want the histogram stepgate_request_duration_ms with 3 samples in\n%s", a.body)
	}
	stats := do(t, "GET", g.AdminURL()+"/stats?filter=requests_total", "")
	if !strings.Contains(stats.body, "wasmcustom.stepgate_requests_total.tenant.demo.route.openai.model.gpt-4o-mini.provider.mock-openai.step.allow.status.200: 3\n") {
		t.Errorf("/stats?filter=requests_total:\n%s", stats.body)
	}
}

func parseExposition(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	return fams
}

func TestConfigReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stepgate.json")
	if err := os.WriteFile(path, exampleConfig(t), 0o644); err != nil {
		t.Fatal(err)
	}
	reloads := make(chan error, 4)
	g, logs := start(t, func(c *devgateway.Config) {
		c.PluginConfig = nil
		c.ConfigPath = path
		c.ReloadInterval = 20 * time.Millisecond
		c.OnReload = func(err error) { reloads <- err }
	})
	first := g.Host()
	first.SetSharedData("reload-probe", []byte("kept"))
	if a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "before")); a.status != 200 {
		t.Fatalf("chat: %d %s", a.status, a.body)
	}

	bad, _ := sjson.SetBytes(exampleConfig(t), "throttle.rules.0.rate", "0/s")
	writeConfig(t, path, bad)
	if err := <-reloads; err == nil || !strings.Contains(err.Error(), "throttle.rules[0].rate") {
		t.Fatalf("bad config: reload error %v, want the plugin's error naming throttle.rules[0].rate", err)
	}
	if !strings.Contains(logs.String(), "configuration refused") {
		t.Errorf("the refusal was not logged:\n%s", logs)
	}
	if g.Host() != first {
		t.Error("a refused configuration replaced the host")
	}
	if a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "still")); a.status != 200 {
		t.Fatalf("after a refused reload: %d %s", a.status, a.body)
	}

	good, _ := sjson.SetRawBytes(exampleConfig(t), "models.routes.house-model", []byte(`{"provider":"mock-openai","model":"gpt-4o"}`))
	good, _ = sjson.SetBytes(good, "providers.mock-openai.api_keys.-1", "sk-mock-openai-new")
	writeConfig(t, path, good)
	if err := <-reloads; err != nil {
		t.Fatalf("good config refused: %v", err)
	}
	if g.Host() == first {
		t.Error("the host was not replaced")
	}
	a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("house-model", "after"))
	if a.status != 200 || gjson.Get(a.body, "choices.0.message.content").Str != "mock reply to: after" {
		t.Fatalf("the new route: %d %s", a.status, a.body)
	}
	// Shared data (throttle buckets) survives the reload, as in Envoy.
	if v, _, ok := g.Host().SharedData("reload-probe"); !ok || string(v) != "kept" {
		t.Errorf("shared data after the reload = %q, %v; want kept", v, ok)
	}
	// Counters survive the reload, as in Envoy's stats store.
	if n := countRequests(g); n != 3 {
		t.Errorf("stepgate_requests_total over both configurations = %d, want 3", n)
	}
}

func countRequests(g *devgateway.Gateway) uint64 {
	var n uint64
	for _, m := range g.Metrics() {
		if strings.HasPrefix(m.Name, "stepgate_requests_total.") {
			n += m.Value
		}
	}
	return n
}

// writeConfig replaces the file's content and moves its modification time on, so that a
// rewrite within the file system's timestamp granularity is still seen.
func writeConfig(t *testing.T, path string, data []byte) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	next := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(path, next, next); err != nil {
		t.Fatal(err)
	}
}

func TestStartRefusesABadConfigurationWithThePluginsError(t *testing.T) {
	bad, _ := sjson.SetBytes(exampleConfig(t), "providers.mock-openai.type", "nope")
	_, err := devgateway.Start(context.Background(), devgateway.Config{
		Module: filterWasm(t), PluginConfig: bad, Listen: "127.0.0.1:0", AdminListen: "-", Logf: t.Logf,
	})
	if err == nil || !strings.Contains(err.Error(), "providers.mock-openai.type") {
		t.Fatalf("Start = %v, want the plugin's error naming providers.mock-openai.type", err)
	}
	if _, err := devgateway.Start(context.Background(), devgateway.Config{}); err == nil {
		t.Error("Start without a module succeeded")
	}
}

func TestThrottlingRejectsABurst(t *testing.T) {
	g, _ := start(t, nil)
	// envoy/stepgate.json: model-requests allows 20/s with a burst of 40, then shapes, degrades
	// and rejects. Waves of 40 concurrent requests outrun it on any machine.
	statuses := map[int]int{}
	steps := map[string]int{}
	for wave := 0; wave < 5 && statuses[429] == 0; wave++ {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("llama3.2", "x"))
				mu.Lock()
				statuses[a.status]++
				steps[a.header.Get("X-Stepgate-Step")]++
				mu.Unlock()
				if a.status == 429 && a.header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After: %v", a.header)
				}
			})
		}
		wg.Wait()
	}
	if statuses[429] == 0 || statuses[200] < 40 {
		t.Errorf("statuses %v, steps %v: want at least the burst allowed, then 429s", statuses, steps)
	}
}

func TestCloseDrainsAndStops(t *testing.T) {
	g, _ := start(t, nil)
	url := g.URL()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url + "/v1/models"); err == nil {
		t.Error("the gateway still answers after Close")
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestReloadAfterCloseIsRefused(t *testing.T) {
	g, _ := start(t, nil)
	g.Close()
	if err := g.Reload(context.Background(), exampleConfig(t)); err == nil {
		t.Error("Reload after Close succeeded")
	}
}

func TestAccessLog(t *testing.T) {
	g, logs := start(t, func(c *devgateway.Config) { c.AccessLog = true })
	do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "hi"), "X-Request-Id", "req-42")
	do(t, "GET", g.URL()+"/nowhere", "")
	var lines []string
	waitFor(t, "two access log lines", func() bool {
		lines = lines[:0]
		for _, l := range strings.Split(logs.String(), "\n") {
			if gjson.Get(l, "duration_ms").Exists() {
				lines = append(lines, l)
			}
		}
		return len(lines) == 2
	})
	chatLine, unrouted := gjson.Parse(lines[0]), gjson.Parse(lines[1])
	if unrouted.Get("path").Str == "/v1/chat/completions" { // the handlers log as they end
		chatLine, unrouted = unrouted, chatLine
	}
	if chatLine.Get("cluster").Str != "provider_mock_openai" || chatLine.Get("status").Int() != 200 ||
		chatLine.Get("request_id").Str != "req-42" || chatLine.Get("path").Str != "/v1/chat/completions" {
		t.Errorf("chat access log line %s", chatLine.Raw)
	}
	if unrouted.Get("cluster").Str != "-" || unrouted.Get("status").Int() != 404 {
		t.Errorf("unrouted access log line %s", unrouted.Raw)
	}
}

// TestReloadUnderLoad swaps configurations while requests are in flight: none may fail, and
// every request is counted once.
func TestReloadUnderLoad(t *testing.T) {
	g, _ := start(t, func(c *devgateway.Config) {
		// No throttle rules: every request must pass.
		c.PluginConfig, _ = sjson.DeleteBytes(exampleConfig(t), "throttle")
	})
	base := g.PluginConfig()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sent int
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				a := do(t, "POST", g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "load"))
				if a.status != 200 {
					t.Errorf("during reloads: %d %s", a.status, a.body)
					return
				}
				mu.Lock()
				sent++
				mu.Unlock()
			}
		})
	}
	for i := range 5 {
		next, _ := sjson.SetBytes(base, "log.level", []string{"info", "debug"}[i%2])
		if err := g.Reload(context.Background(), next); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if sent == 0 {
		t.Fatal("no request went through")
	}
	// A stream's on_log may run just after its client read the last byte.
	waitFor(t, fmt.Sprintf("%d requests counted (have %d)", sent, countRequests(g)), func() bool { return countRequests(g) == uint64(sent) })
}

// With Mock, a provider a user gave real keys goes to its own host; mock providers and those
// still holding placeholder keys go to the mocks, and Clusters wins over both.
func TestMockCapturesOnlyMockProviders(t *testing.T) {
	config, _ := sjson.SetBytes(exampleConfig(t), "providers.openai.api_keys", []string{"sk-live-123"})
	g, _ := start(t, func(c *devgateway.Config) {
		c.PluginConfig = config
		c.Clusters = map[string]string{"provider_gemini": "http://127.0.0.1:1"}
	})
	clusters := g.Clusters()
	for name, want := range map[string]string{
		"provider_openai":      "https://api.openai.com",
		"provider_mock_openai": g.MockURL(),
		"provider_anthropic":   g.MockURL(),
		"provider_ollama":      g.MockURL(),
		"provider_gemini":      "http://127.0.0.1:1",
	} {
		if clusters[name] != want {
			t.Errorf("cluster %s = %q, want %q", name, clusters[name], want)
		}
	}
}

// The response's x-request-id is the call record's request_id, for every provider.
func TestResponseRequestIDIsTheCallRecords(t *testing.T) {
	g, logs := start(t, nil)
	for _, model := range []string{"gpt-4o-mini", "claude-sonnet-4", "gemini-2.0-flash"} {
		a := do(t, "POST", g.URL()+"/v1/chat/completions", chat(model, "id"))
		id := a.header.Get("X-Request-Id")
		if a.status != 200 || id == "" {
			t.Fatalf("%s: %d, x-request-id %q", model, a.status, id)
		}
		waitFor(t, "the call record of "+id, func() bool { return strings.Contains(logs.String(), `"request_id":"`+id+`"`) })
	}
}
