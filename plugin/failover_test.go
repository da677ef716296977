package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// Failover through the real filter: the strict mock providers behind hostsim's proxy (the dev
// gateway's machinery), their fault injection failing the first backend, and the fallback
// reached with proxy_http_call.

const failoverConfig = `{
  "providers": {
    "oa":   {"type": "openai", "cluster": "c-openai", "api_key": "test-key"},
    "an":   {"type": "anthropic", "cluster": "c-anthropic", "api_key": "test-key", "default_max_tokens": 256},
    "ge":   {"type": "gemini", "cluster": "c-gemini", "api_key": "test-key"},
    "ol":   {"type": "ollama", "cluster": "c-ollama", "host": "ollama:11434"},
    "br":   {"type": "bedrock", "cluster": "c-bedrock", "host": "bedrock.test", "region": "us-east-1",
             "access_key_id": "test-key", "secret_access_key": "mock-aws-secret-key"},
    "dead": {"type": "openai", "cluster": "c-dead", "api_key": "test-key"}
  },
  "models": {
    "routes": {
      "p-oa": "oa/gpt-4o", "p-an": "an/claude-sonnet-4", "p-ge": "ge/gemini-2.5-flash", "p-ol": "ol/llama3.2",
      "p-dead": "dead/gpt-4o", "p-br": "br/anthropic.claude-3-haiku-20240307-v1:0", "p-oa-br": "oa/gpt-4.1-mini",
      "f-br": "br/anthropic.claude-3-5-haiku-20241022-v1:0",
      "f-oa": "oa/gpt-4o-mini", "f-an": "an/claude-haiku", "f-ge": "ge/gemini-2.0-flash", "f-ol": "ol/qwen3",
      "chain": "oa/gpt-4.1"
    },
    "fallbacks": {
      "p-oa": ["f-an"], "p-an": ["f-ge"], "p-ge": ["f-ol"], "p-ol": ["f-oa"], "p-dead": ["f-an"],
      "p-br": ["f-oa"], "p-oa-br": ["f-br"],
      "chain": ["f-an", "f-ge", "f-ol"]
    }
    DEADLINE
  },
  "log": {"access_log": true}
  THROTTLE
}`

// failoverGateway serves the filter on hostsim's proxy in front of one strict mock per
// provider family; the cluster c-dead refuses connections.
type failoverGateway struct {
	h     *hostsim.Host
	vc    *hostsim.VirtualClock
	url   string
	mocks map[string]*mockprovider.Server // by provider name
	// before, when set, runs as a provider's mock receives a request (its name as argument):
	// a test moves the virtual clock there, as if the provider took that long.
	before atomic.Pointer[func(provider string)]
}

func startFailover(t *testing.T, models, throttle string) *failoverGateway {
	t.Helper()
	if throttle != "" {
		throttle = `, "throttle": ` + throttle
	}
	return startFailoverConfig(t, strings.Replace(strings.Replace(failoverConfig, "THROTTLE", throttle, 1), "DEADLINE", models, 1))
}

func startFailoverConfig(t *testing.T, cfg string) *failoverGateway {
	t.Helper()
	g := &failoverGateway{mocks: map[string]*mockprovider.Server{}}
	clusters := map[string]string{}
	g.vc = hostsim.NewVirtualClock(epoch)
	for name, kind := range map[string]mockprovider.Kind{"oa": mockprovider.OpenAI, "an": mockprovider.Anthropic,
		"ge": mockprovider.Gemini, "ol": mockprovider.Ollama, "br": mockprovider.Bedrock} {
		m := mockprovider.New(kind, mockprovider.Options{Clock: g.vc.Now}) // Bedrock's checks the signature's time
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f := g.before.Load(); f != nil {
				(*f)(name)
			}
			m.ServeHTTP(w, r)
		}))
		t.Cleanup(ts.Close)
		g.mocks[name] = m
		clusters["c-"+map[string]string{"oa": "openai", "an": "anthropic", "ge": "gemini", "ol": "ollama", "br": "bedrock"}[name]] = ts.URL
	}
	clusters["c-dead"] = refusingURL(t)
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: filterWasm(t), PluginConfig: []byte(cfg), Workers: 1, Clock: g.vc,
		PluginName: "stepgate", AllowOnHeadersStopIteration: true, Clusters: clusters,
	})
	if err != nil {
		t.Fatal(err)
	}
	g.h = h
	front := httptest.NewServer(&hostsim.Proxy{Host: h, ClusterHeader: "x-stepgate-cluster"})
	g.url = front.URL
	t.Cleanup(func() {
		front.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return g
}

// refusingURL is an address where nothing listens.
func refusingURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

type answer struct {
	status int
	ctype  string
	body   string
	header http.Header
}

// post sends a request in the dialect path implies and returns the client's answer.
func (g *failoverGateway) post(t *testing.T, path, body, requestID string) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", g.url+path, bytes.NewReader([]byte(body)))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-request-id", requestID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("content-type"), string(b), resp.Header}
}

func (g *failoverGateway) metric(name string) uint64 {
	m, _ := g.h.Metric(name)
	return m.Value
}

func oaChat(model string, stream bool) string {
	s := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]`
	if stream {
		s += `,"stream":true`
	}
	return s + "}"
}

// streamText joins the text deltas of an OpenAI chunk stream.
func streamText(body string) string {
	var b strings.Builder
	for _, line := range strings.Split(body, "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok && data != "[DONE]" {
			b.WriteString(gjson.Get(data, "choices.0.delta.content").Str)
		}
	}
	return b.String()
}

func TestFailoverServesTheFailingRequestFromTheFallback(t *testing.T) {
	g := startFailover(t, "", "")
	faults := map[string]mockprovider.Fault{"429": mockprovider.RateLimited(time.Second),
		"500": mockprovider.ServerError(), "503": mockprovider.Unavailable()}
	pairs := []struct{ model, from, to string }{
		{"p-oa", "oa", "an"}, {"p-an", "an", "ge"}, {"p-ge", "ge", "ol"}, {"p-ol", "ol", "oa"},
		{"p-br", "br", "oa"}, {"p-oa-br", "oa", "br"}, // Bedrock: signed, and event-stream answers
	}
	type tc struct {
		model, from, to, fault string
		stream                 bool
	}
	var cases []tc
	for _, p := range pairs {
		for _, f := range []string{"429", "500", "503"} {
			for _, stream := range []bool{false, true} {
				cases = append(cases, tc{p.model, p.from, p.to, f, stream})
			}
		}
	}
	for _, stream := range []bool{false, true} { // nothing listens: Envoy's (and hostsim's) own 503
		cases = append(cases, tc{"p-dead", "dead", "an", "refused", stream})
	}
	for i, c := range cases {
		name := c.model + "/" + c.fault
		if c.stream {
			name += "/stream"
		}
		t.Run(name, func(t *testing.T) {
			if m := g.mocks[c.from]; m != nil {
				m.FailNext(1, faults[c.fault])
			}
			before := len(g.mocks[c.to].Requests())
			served := "stepgate_failover_attempts_total.from." + c.from + ".to." + c.to + ".outcome.served"
			n := g.metric(served)
			id := "fo-" + itoa(i)
			a := g.post(t, "/v1/chat/completions", oaChat(c.model, c.stream), id)
			if a.status != 200 {
				t.Fatalf("client got %d %q", a.status, a.body)
			}
			if c.stream {
				if !strings.HasPrefix(a.ctype, "text/event-stream") || !strings.HasSuffix(a.body, "data: [DONE]\n\n") ||
					streamText(a.body) != "mock reply to: hi" {
					t.Errorf("stream answer %s %q", a.ctype, a.body)
				}
			} else if gjson.Get(a.body, "object").Str != "chat.completion" ||
				gjson.Get(a.body, "choices.0.message.content").Str != "mock reply to: hi" {
				t.Errorf("answer %q is no OpenAI chat completion", a.body)
			}
			if got := len(g.mocks[c.to].Requests()) - before; got != 1 {
				t.Errorf("the fallback's provider got %d requests, want 1", got)
			}
			rec := callRecord(t, g.h, id)
			at := rec.Get("attempts").Array()
			wantFirst := c.fault
			if c.fault == "refused" {
				wantFirst = "503"
			}
			if len(at) != 2 || at[0].Get("provider").Str != c.from || at[0].Get("status").Raw != wantFirst ||
				at[0].Get("outcome").Str != "failed" || at[1].Get("provider").Str != c.to ||
				at[1].Get("status").Int() != 200 || at[1].Get("outcome").Str != "served" {
				t.Errorf("attempts %s", rec.Get("attempts").Raw)
			}
			if a.header.Get("x-request-id") != id {
				t.Errorf("x-request-id %q, want the request's %q", a.header.Get("x-request-id"), id)
			}
			if rec.Get("provider").Str != c.to || rec.Get("status").Int() != 200 || rec.Get("tokens_out").Int() == 0 {
				t.Errorf("record %s: want the fallback's provider, status and usage", rec.Raw)
			}
			if got := g.metric(served); got != n+1 {
				t.Errorf("%s = %d, want %d", served, got, n+1)
			}
			// The breaker saw the fallback answer: no failure stored for it.
			key := "stepgate/aiformat/breaker/" + c.to + "/" + at[1].Get("model").Str
			if v, _, ok := g.h.SharedData(key); ok && len(v) == 12 && (v[8]|v[9]|v[10]|v[11]) != 0 {
				t.Errorf("breaker state of the fallback %x, want no failures", v)
			}
		})
	}
}

// An Anthropic client of a failing OpenAI backend gets the Anthropic fallback's answer in its
// own dialect, streamed or not.
func TestFailoverAnswersInTheClientsDialect(t *testing.T) {
	g := startFailover(t, "", "")
	for _, stream := range []bool{false, true} {
		g.mocks["oa"].FailNext(1, mockprovider.Unavailable())
		body := `{"model":"p-oa","max_tokens":50,"messages":[{"role":"user","content":"hi"}]`
		if stream {
			body += `,"stream":true`
		}
		a := g.post(t, "/v1/messages", body+"}", "anth")
		if a.status != 200 {
			t.Fatalf("stream %v: client got %d %q", stream, a.status, a.body)
		}
		if stream && (!strings.Contains(a.body, "event: message_start") || !strings.Contains(a.body, "event: message_stop")) ||
			!stream && gjson.Get(a.body, "type").Str != "message" {
			t.Errorf("stream %v: answer %q is not Anthropic's", stream, a.body)
		}
	}
}

// Every fallback failing: the client gets the last fallback's error in its dialect; the
// attempts stop at fallback_attempts.
func TestFailoverAttemptsAreBounded(t *testing.T) {
	g := startFailover(t, `, "fallback_attempts": 2`, "")
	g.mocks["oa"].FailNext(1, mockprovider.RateLimited(time.Second))
	g.mocks["an"].FailNext(1, mockprovider.ServerError())
	g.mocks["ge"].FailNext(1, mockprovider.Fault{Status: 503, Message: "gemini is down"})
	olBefore := len(g.mocks["ol"].Requests())
	a := g.post(t, "/v1/chat/completions", oaChat("chain", false), "bounded")
	if a.status != 503 || gjson.Get(a.body, "error.type").Str != "server_error" || !strings.Contains(a.body, "gemini is down") {
		t.Errorf("client got %d %q, want the last fallback's 503 as an OpenAI error", a.status, a.body)
	}
	if got := len(g.mocks["ol"].Requests()) - olBefore; got != 0 {
		t.Errorf("a third fallback was called (%d requests) beyond fallback_attempts 2", got)
	}
	rec := callRecord(t, g.h, "bounded")
	if got := rec.Get("attempts.#.outcome").Raw; got != `["failed","failed","failed"]` {
		t.Errorf("attempts %s", rec.Get("attempts").Raw)
	}
	if rec.Get("status").Int() != 503 || rec.Get("error_type").Str != "provider" || rec.Get("provider").Str != "ge" {
		t.Errorf("record %s", rec.Raw)
	}
	if got := g.metric("stepgate_failover_attempts_total.from.oa.to.an.outcome.failed"); got != 1 {
		t.Errorf("failed an attempts = %d, want 1", got)
	}
	if got := g.metric("stepgate_upstream_errors_total.provider.oa.status.429"); got != 1 {
		t.Errorf("upstream errors of oa = %d, want 1", got)
	}
	if got := g.metric("stepgate_upstream_errors_total.provider.ge.status.503"); got != 1 {
		t.Errorf("upstream errors of ge = %d, want 1", got)
	}

	// An Anthropic client gets it as Anthropic's overloaded error.
	g.mocks["oa"].FailNext(1, mockprovider.RateLimited(time.Second))
	g.mocks["an"].FailNext(1, mockprovider.ServerError())
	g.mocks["ge"].FailNext(1, mockprovider.Unavailable())
	a = g.post(t, "/v1/messages", `{"model":"chain","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "bounded-anth")
	if a.status != 529 || gjson.Get(a.body, "error.type").Str != "overloaded_error" {
		t.Errorf("Anthropic client got %d %q, want 529 overloaded_error", a.status, a.body)
	}
}

// The deadline runs on the filter's clock from the moment the request left: a backend that
// fails after it gets no fallback, a fallback call may take only what is left of it, and no
// fallback starts once it has passed.
func TestFailoverHonoursTheDeadline(t *testing.T) {
	g := startFailover(t, `, "fallback_deadline_ms": 1000, "fallback_attempts": 3`, "")
	slowly := func(provider string, d time.Duration) {
		f := func(p string) {
			if p == provider {
				g.vc.Advance(d)
			}
		}
		g.before.Store(&f)
	}
	anBefore := len(g.mocks["an"].Requests())

	// The backend fails 1.5 s after the request left: past the deadline, its answer stands.
	slowly("oa", 1500*time.Millisecond)
	g.mocks["oa"].FailNext(1, mockprovider.Unavailable())
	a := g.post(t, "/v1/chat/completions", oaChat("p-oa", false), "late")
	if a.status != 503 || len(g.mocks["an"].Requests()) != anBefore {
		t.Errorf("failing after the deadline: client got %d %q, fallback called %d times", a.status, a.body,
			len(g.mocks["an"].Requests())-anBefore)
	}
	if got := callRecord(t, g.h, "late").Get("attempts.#.outcome").Raw; got != `["failed"]` {
		t.Errorf("attempts %s, want the backend's only", got)
	}

	// The backend fails after 0.7 s: the fallback's call may take the 0.3 s left, and the
	// fallback taking longer (real time: calls run in real time in hostsim as in Envoy) is cut
	// at that timeout, Envoy's 504.
	slowly("oa", 700*time.Millisecond)
	g.mocks["oa"].FailNext(1, mockprovider.Unavailable())
	g.mocks["an"].FailNext(1, mockprovider.SlowFirstByte(3*time.Second))
	a = g.post(t, "/v1/chat/completions", oaChat("p-oa", false), "timeout")
	if a.status != 504 || gjson.Get(a.body, "error.type").Str != "server_error" {
		t.Errorf("fallback past the deadline: client got %d %q, want 504", a.status, a.body)
	}
	at := callRecord(t, g.h, "timeout").Get("attempts").Array()
	if len(at) != 2 || at[1].Get("provider").Str != "an" || at[1].Get("status").Int() != 504 {
		t.Errorf("attempts %v", at)
	}

	// The first fallback fails after the deadline: the next one is not tried.
	slowly("an", 1200*time.Millisecond)
	g.mocks["oa"].FailNext(1, mockprovider.ServerError())
	g.mocks["an"].FailNext(1, mockprovider.ServerError())
	geBefore := len(g.mocks["ge"].Requests())
	a = g.post(t, "/v1/chat/completions", oaChat("chain", false), "expired")
	if a.status != 500 || len(g.mocks["ge"].Requests()) != geBefore {
		t.Errorf("after the deadline: client got %d %q, next fallback called %d times", a.status, a.body,
			len(g.mocks["ge"].Requests())-geBefore)
	}
	if got := callRecord(t, g.h, "expired").Get("attempts.#.provider").Raw; got != `["oa","an"]` {
		t.Errorf("attempts by %s, want oa then an", got)
	}
}

// A fallback is decided by the throttle rules of its own route: a rule keyed on the model sees
// the fallback's model, and skips it when its bucket is empty; rules that do not depend on the
// route count the request once.
func TestFailoverAppliesTheFallbacksThrottleRules(t *testing.T) {
	g := startFailover(t, "", `{"rules": [
		{"name": "global", "rate": "2/min", "burst": 2},
		{"name": "per-model", "key": "model", "rate": "1/min", "burst": 1}]}`)
	g.mocks["oa"].FailNext(1, mockprovider.RateLimited(time.Second))
	if a := g.post(t, "/v1/chat/completions", oaChat("chain", false), "first"); a.status != 200 {
		t.Fatalf("first request: %d %q", a.status, a.body)
	}
	// f-an's bucket is now empty: p-oa's only fallback is skipped, and the backend's 429 stands.
	anBefore := len(g.mocks["an"].Requests())
	g.mocks["oa"].FailNext(1, mockprovider.RateLimited(time.Second))
	a := g.post(t, "/v1/chat/completions", oaChat("p-oa", false), "second")
	if a.status != 429 || gjson.Get(a.body, "error.code").Str != "rate_limit_exceeded" || len(g.mocks["an"].Requests()) != anBefore {
		t.Errorf("second request: %d %q; the throttled fallback was called %d times", a.status, a.body,
			len(g.mocks["an"].Requests())-anBefore)
	}
	rec := callRecord(t, g.h, "second")
	if got := rec.Get("attempts.#.outcome").Raw; got != `["failed","throttled"]` {
		t.Errorf("attempts %s", rec.Get("attempts").Raw)
	}
	if got := g.metric("stepgate_failover_attempts_total.from.oa.to.an.outcome.throttled"); got != 1 {
		t.Errorf("throttled attempts = %d, want 1", got)
	}
	// The global rule counted each request once, the fallback not again: a third is refused.
	if a := g.post(t, "/v1/chat/completions", oaChat("f-ge", false), "third"); a.status != 429 ||
		callRecord(t, g.h, "third").Get("rule").Str != "global" {
		t.Errorf("third request: %d %q, want the global rule's 429", a.status, a.body)
	}
}

// The call is priced and counted from the answer served: the fallback's model and usage.
func TestFailoverSettlesUsageAndSpendFromTheAnswerServed(t *testing.T) {
	cfg := strings.Replace(strings.Replace(failoverConfig, "DEADLINE", "", 1), "THROTTLE",
		`, "pricing": {"response_header": true, "models": {"gpt-4o": {"input": 1000, "output": 1000},
		"claude-haiku": {"input": 1, "output": 5}}}`, 1)
	g := startFailoverConfig(t, cfg)
	g.mocks["oa"].FailNext(1, mockprovider.Unavailable())
	a := g.post(t, "/v1/chat/completions", oaChat("p-oa", false), "priced")
	rec := callRecord(t, g.h, "priced")
	in, out := rec.Get("tokens_in").Int(), rec.Get("tokens_out").Int()
	want := in*1 + out*5
	if a.status != 200 || in == 0 || out == 0 || rec.Get("cost_micros").Int() != want {
		t.Errorf("record %s: want the fallback's usage at claude-haiku's prices (%d micros)", rec.Raw, want)
	}
	if got := a.header.Get("x-stepgate-cost-micros"); got != strconv.FormatInt(want, 10) {
		t.Errorf("x-stepgate-cost-micros %q, want %d", got, want)
	}
	if got := gjson.Get(a.body, "usage.completion_tokens").Int(); got != out {
		t.Errorf("client's usage %d, record's %d", got, out)
	}
	if got := g.metric("stepgate_tokens_total.tenant.anonymous.model.p-oa.provider.an.direction.completion"); got != uint64(out) {
		t.Errorf("completion tokens of an = %d, want %d", got, out)
	}
}

// A Gemini client gets the fallback's answer as Gemini's, streamed (alt=sse) or not.
func TestFailoverAnswersAGeminiClient(t *testing.T) {
	g := startFailover(t, "", "")
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	g.mocks["oa"].FailNext(1, mockprovider.ServerError())
	a := g.post(t, "/v1beta/models/p-oa:generateContent", body, "gem")
	if a.status != 200 || gjson.Get(a.body, "candidates.0.content.parts.0.text").Str != "mock reply to: hi" {
		t.Errorf("client got %d %q", a.status, a.body)
	}
	g.mocks["oa"].FailNext(1, mockprovider.ServerError())
	a = g.post(t, "/v1beta/models/p-oa:streamGenerateContent?alt=sse", body, "gem-stream")
	var text strings.Builder
	for _, line := range strings.Split(a.body, "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			text.WriteString(gjson.Get(data, "candidates.0.content.parts.0.text").Str)
		}
	}
	if a.status != 200 || !strings.HasPrefix(a.ctype, "text/event-stream") || text.String() != "mock reply to: hi" {
		t.Errorf("stream: client got %d %s %q", a.status, a.ctype, a.body)
	}
}

// A fallback the request cannot be expressed for (two choices, which Anthropic has not) is
// skipped for the next one.
func TestFailoverSkipsAFallbackThatCannotTakeTheRequest(t *testing.T) {
	g := startFailover(t, "", "")
	g.mocks["oa"].FailNext(1, mockprovider.Unavailable())
	a := g.post(t, "/v1/chat/completions", `{"model":"chain","n":2,"messages":[{"role":"user","content":"hi"}]}`, "n2")
	if a.status != 200 || gjson.Get(a.body, "choices.0.message.content").Str != "mock reply to: hi" {
		t.Errorf("client got %d %q", a.status, a.body)
	}
	if got := callRecord(t, g.h, "n2").Get("attempts.#.provider").Raw; got != `["oa","ge"]` {
		t.Errorf("attempts by %s, want oa then ge (an skipped)", got)
	}
	if got := g.metric("stepgate_failover_attempts_total.from.oa.to.none.outcome.untranslatable"); got != 1 {
		t.Errorf("untranslatable fallbacks = %d, want 1", got)
	}
}
