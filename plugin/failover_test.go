package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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
    "dead": {"type": "openai", "cluster": "c-dead", "api_key": "test-key"}
  },
  "models": {
    "routes": {
      "p-oa": "oa/gpt-4o", "p-an": "an/claude-sonnet-4", "p-ge": "ge/gemini-2.5-flash", "p-ol": "ol/llama3.2",
      "p-dead": "dead/gpt-4o",
      "f-oa": "oa/gpt-4o-mini", "f-an": "an/claude-haiku", "f-ge": "ge/gemini-2.0-flash", "f-ol": "ol/qwen3",
      "chain": "oa/gpt-4.1"
    },
    "fallbacks": {
      "p-oa": ["f-an"], "p-an": ["f-ge"], "p-ge": ["f-ol"], "p-ol": ["f-oa"], "p-dead": ["f-an"],
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
}

func startFailover(t *testing.T, models, throttle string) *failoverGateway {
	t.Helper()
	g := &failoverGateway{mocks: map[string]*mockprovider.Server{}}
	clusters := map[string]string{}
	for name, kind := range map[string]mockprovider.Kind{"oa": mockprovider.OpenAI, "an": mockprovider.Anthropic,
		"ge": mockprovider.Gemini, "ol": mockprovider.Ollama} {
		m := mockprovider.New(kind, mockprovider.Options{})
		ts := httptest.NewServer(m)
		t.Cleanup(ts.Close)
		g.mocks[name] = m
		clusters["c-"+map[string]string{"oa": "openai", "an": "anthropic", "ge": "gemini", "ol": "ollama"}[name]] = ts.URL
	}
	clusters["c-dead"] = refusingURL(t)
	if throttle != "" {
		throttle = `, "throttle": ` + throttle
	}
	cfg := strings.Replace(strings.Replace(failoverConfig, "THROTTLE", throttle, 1), "DEADLINE", models, 1)
	g.vc = hostsim.NewVirtualClock(epoch)
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
	return answer{resp.StatusCode, resp.Header.Get("content-type"), string(b)}
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
			if rec.Get("provider").Str != c.to || rec.Get("status").Int() != 200 || rec.Get("tokens_out").Int() == 0 {
				t.Errorf("record %s: want the fallback's provider, status and usage", rec.Raw)
			}
			if got := g.metric(served); got != n+1 {
				t.Errorf("%s = %d, want %d", served, got, n+1)
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
