package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	aoption "github.com/anthropics/anthropic-sdk-go/option"
)

// What operators see: one JSON call record per request in the gateway's logs, and the filter's
// metrics on the admin listener's /stats/prometheus with docs/METRICS.md's labels.

// callRecords returns the filter's JSON call records by request id.
func callRecords(g *gateway) map[string]gjson.Result {
	recs := map[string]gjson.Result{}
	for _, e := range g.host.Logs() {
		if strings.HasPrefix(e.Message, "{") && json.Valid([]byte(e.Message)) {
			r := gjson.Parse(e.Message)
			if id := r.Get("request_id").Str; id != "" {
				recs[id] = r
			}
		}
	}
	return recs
}

func TestCallLogHasOneRecordPerRequest(t *testing.T) {
	t.Parallel()
	needsInProcess(t, "reads the host's log lines")
	cfg := exampleConfig(t)
	g := startGateway(t, cfg)
	ctx := context.Background()
	id := func(name string) string { return "e2e-" + name + "-" + strconv.FormatInt(nonces.Add(1), 10) }

	type want struct {
		path, model, provider, step string
		status                      int64
		in, out                     int64
	}
	wants := map[string]want{}

	// A plain OpenAI completion.
	rid := id("openai")
	text := "log me " + nonce(t)
	client := openaiClient(g)
	if _, err := client.Chat.Completions.New(ctx, userText("gpt-4o-mini", text), option.WithHeader("x-request-id", rid)); err != nil {
		t.Fatal(err)
	}
	wants[rid] = want{"/v1/chat/completions", "gpt-4o-mini", "mock-openai", "allow", 200, mockTokens(text), mockTokens(replyTo(text))}

	// A stream to Gemini (usage from the last event).
	rid = id("gemini-stream")
	text = "stream log " + nonce(t)
	p := userText("gemini-2.0-flash", text)
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	streamChat(t, client, p, option.WithHeader("x-request-id", rid))
	wants[rid] = want{"/v1/chat/completions", "gemini-2.0-flash", "mock-gemini", "allow", 200, mockTokens(text), mockTokens(replyTo(text))}

	// An Anthropic client's stream to an Anthropic model.
	rid = id("anthropic-stream")
	text = "anthropic log " + nonce(t)
	streamMessage(t, anthropicClient(g, aoption.WithHeader("x-request-id", rid)), anthropicParams("claude-sonnet-4", text))
	wants[rid] = want{"/v1/messages", "claude-sonnet-4", "mock-anthropic", "allow", 200,
		mockTokens(systemPrompt) + mockTokens(text), mockTokens(replyTo(text))}

	// A refusal: no provider, no tokens.
	rid = id("unknown-model")
	_, err := client.Chat.Completions.New(ctx, userText("no-such-model", "x"), option.WithHeader("x-request-id", rid))
	if err == nil {
		t.Fatal("unknown model: no error")
	}
	wants[rid] = want{path: "/v1/chat/completions", model: "no-such-model", status: 404}

	var recs map[string]gjson.Result
	eventually(t, 5*time.Second, func() bool {
		recs = callRecords(g)
		for rid := range wants {
			if _, ok := recs[rid]; !ok {
				return false
			}
		}
		return true
	})
	for _, rid := range slices.Sorted(maps.Keys(wants)) {
		w := wants[rid]
		r, ok := recs[rid]
		if !ok {
			t.Errorf("%s: no call record in the logs", rid)
			continue
		}
		got := want{r.Get("path").Str, r.Get("model").Str, r.Get("provider").Str, r.Get("step").Str,
			r.Get("status").Int(), r.Get("tokens_in").Int(), r.Get("tokens_out").Int()}
		if w.step == "" {
			got.step = "" // a refused request's step is not asserted
		}
		if got != w || r.Get("method").Str != "POST" {
			t.Errorf("%s: record %s\n got %+v\nwant %+v", rid, r.Raw, got, w)
		}
		if l := r.Get("latency_ms"); !l.Exists() || l.Int() < 0 {
			t.Errorf("%s: latency_ms %s", rid, l.Raw)
		}
	}

	// Exactly one record per request.
	counts := map[string]int{}
	for _, e := range g.host.Logs() {
		if id := gjson.Get(e.Message, "request_id").Str; id != "" && json.Valid([]byte(e.Message)) {
			counts[id]++
		}
	}
	for rid := range wants {
		if counts[rid] != 1 {
			t.Errorf("%s: %d call records, want 1", rid, counts[rid])
		}
	}

	// No line of the log holds a credential, the client's or a provider's.
	secrets := append([]string{clientKey}, allProviderKeys(cfg)...)
	for _, e := range g.host.Logs() {
		for _, s := range secrets {
			if strings.Contains(e.Message, s) {
				t.Errorf("a log line holds the key %q: %s", s, e.Message)
			}
		}
	}
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape reads the admin listener's /stats/prometheus.
func scrape(t *testing.T, g *gateway) []sample {
	t.Helper()
	resp, err := httpClient.Get(g.AdminURL + "/stats/prometheus")
	if err != nil {
		t.Fatalf("scraping: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/stats/prometheus: %d %s", resp.StatusCode, b)
	}
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		m := sampleLine.FindStringSubmatch(sc.Text())
		if m == nil || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		out = append(out, s)
	}
	return out
}

// value is the sample of name with exactly these labels (0 when absent).
func value(samples []sample, name string, labels map[string]string) float64 {
	for _, s := range samples {
		if s.name == name && maps.Equal(s.labels, labels) {
			return s.value
		}
	}
	return 0
}

func TestPrometheusMetricsCarryTheDocumentedLabels(t *testing.T) {
	t.Parallel()
	// In process the gateway is this test's own and the counts are exact; against Envoy other
	// tests share the counters, so only the increase is checked.
	var g *gateway
	if external() {
		g = exampleGateway(t)
	} else {
		g = startGateway(t, exampleConfig(t))
	}
	// envoy/stepgate.json's demo consumer is tenant demo on route openai.
	ok200 := map[string]string{"tenant": "demo", "route": "openai", "model": "gpt-4o-mini",
		"provider": "mock-openai", "step": "allow", "status": "200"}
	notFound := map[string]string{"tenant": "demo", "route": "openai", "model": "unknown",
		"provider": "none", "status": "404"}
	prompt := map[string]string{"tenant": "demo", "model": "gpt-4o-mini", "provider": "mock-openai", "direction": "prompt"}
	completion := map[string]string{"tenant": "demo", "model": "gpt-4o-mini", "provider": "mock-openai", "direction": "completion"}

	before := scrape(t, g)
	const n = 3
	var wantIn, wantOut float64
	client := openaiClient(g)
	for range n {
		text := "count me " + nonce(t)
		if _, err := client.Chat.Completions.New(context.Background(), userText("gpt-4o-mini", text)); err != nil {
			t.Fatal(err)
		}
		wantIn += float64(mockTokens(text))
		wantOut += float64(mockTokens(replyTo(text)))
	}
	if _, err := client.Chat.Completions.New(context.Background(), userText("no-such-model", "x")); err == nil {
		t.Fatal("unknown model: no error")
	}

	// The refusal's step label is whatever the filter records; find its series by the others.
	notFoundValue := func(samples []sample) float64 {
		var sum float64
		for _, s := range samples {
			if s.name != "stepgate_requests_total" {
				continue
			}
			step := s.labels["step"]
			want := maps.Clone(notFound)
			want["step"] = step
			if maps.Equal(s.labels, want) {
				sum += s.value
			}
		}
		return sum
	}
	var after []sample
	check := func() []string {
		var problems []string
		delta := func(name string, labels map[string]string) float64 {
			return value(after, name, labels) - value(before, name, labels)
		}
		expect := func(what string, got, want float64) {
			if got != want && !(external() && got > want) {
				problems = append(problems, fmt.Sprintf("%s: increased by %v, want %v", what, got, want))
			}
		}
		expect(fmt.Sprintf("stepgate_requests_total%v", ok200), delta("stepgate_requests_total", ok200), n)
		expect(fmt.Sprintf("stepgate_requests_total%v", notFound), notFoundValue(after)-notFoundValue(before), 1)
		expect("stepgate_tokens_total prompt", delta("stepgate_tokens_total", prompt), wantIn)
		expect("stepgate_tokens_total completion", delta("stepgate_tokens_total", completion), wantOut)
		return problems
	}
	var problems []string
	eventually(t, 5*time.Second, func() bool {
		after = scrape(t, g)
		problems = check()
		return len(problems) == 0
	})
	for _, p := range problems {
		t.Error(p)
	}
	if t.Failed() {
		for _, s := range after {
			if strings.HasPrefix(s.name, "stepgate_") {
				t.Logf("%s %v %v", s.name, s.labels, s.value)
			}
		}
	}

	// Every stepgate_requests_total series has exactly the documented labels, in any order.
	labels := []string{"model", "provider", "route", "status", "step", "tenant"}
	for _, s := range after {
		if s.name == "stepgate_requests_total" && !slices.Equal(slices.Sorted(maps.Keys(s.labels)), labels) {
			t.Errorf("stepgate_requests_total series with labels %v, want %v", s.labels, labels)
		}
	}
	// Calls are also counted per key, named by its id.
	if value(after, "stepgate_key_requests_total", map[string]string{"tenant": "demo", "key": "demo-key", "status": "200"}) < n {
		t.Errorf("stepgate_key_requests_total{tenant=demo,key=demo-key,status=200} is below %d", n)
	}
	// The histograms of docs/METRICS.md are exported as Prometheus histograms.
	if value(after, "stepgate_request_duration_ms_count", map[string]string{"provider": "mock-openai", "model": "gpt-4o-mini", "status": "200"}) < n {
		t.Errorf("stepgate_request_duration_ms_count for mock-openai/gpt-4o-mini/200 is below %d", n)
	}
}

// callRecord waits for the call record of requestID in the in-process gateway's logs.
func callRecord(t *testing.T, g *gateway, requestID string) gjson.Result {
	t.Helper()
	var r gjson.Result
	if !eventually(t, 5*time.Second, func() bool {
		var ok bool
		r, ok = callRecords(g)[requestID]
		return ok
	}) {
		t.Fatalf("no call record for %s in the logs", requestID)
	}
	return r
}

// checkRecord asserts fields of a call record (strings and numbers, by JSON name).
func checkRecord(t *testing.T, r gjson.Result, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got := r.Get(k)
		switch v := v.(type) {
		case string:
			if got.Str != v {
				t.Errorf("call record %s = %s, want %q (%s)", k, got.Raw, v, r.Raw)
			}
		case int:
			if got.Int() != int64(v) {
				t.Errorf("call record %s = %s, want %d (%s)", k, got.Raw, v, r.Raw)
			}
		}
	}
}

// metricValue scrapes the gateway once and returns the sample of name with these labels.
func metricValue(t *testing.T, g *gateway, name string, labels map[string]string) float64 {
	t.Helper()
	return value(scrape(t, g), name, labels)
}
