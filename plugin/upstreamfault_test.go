package main

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
)

const (
	openaiPath    = "/v1/chat/completions"
	anthropicPath = "/v1/messages"
	geminiStream  = "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse"
)

func aiBody(path string, stream bool) string {
	switch path {
	case anthropicPath:
		s := `{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"hi"}]`
		if stream {
			s += `,"stream":true`
		}
		return s + "}"
	case geminiStream:
		return `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	}
	s := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]`
	if stream {
		s += `,"stream":true`
	}
	return s + "}"
}

// oaUpstreamErrors is stepgate_upstream_errors_total for the oa provider and a provider status.
func oaUpstreamErrors(h *hostsim.Host, status string) uint64 {
	m, _ := h.Metric("stepgate_upstream_errors_total.provider.oa.status." + status)
	return m.Value
}

// dialectError reads the error message of a body in any client dialect.
func dialectError(body []byte) string { return gjson.GetBytes(body, "error.message").Str }

func TestUntranslatableAnswerIs502InTheClientsDialect(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	cases := []struct {
		name, path string
		stream     bool
		head       hostsim.Headers
		body       string // "" with end at the head
	}{
		{"non-JSON 200", openaiPath, false, hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}, "<html>oops</html>"},
		{"HTML 200", anthropicPath, false, hostsim.Headers{{":status", "200"}, {"content-type", "text/html"}}, "<html>oops</html>"},
		{"empty 200", openaiPath, false, hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}, {"content-length", "0"}}, ""},
		{"HTML to a stream", anthropicPath, true, hostsim.Headers{{":status", "200"}, {"content-type", "text/html; charset=utf-8"}}, "<html>oops</html>"},
		{"empty 200 to a stream", openaiPath, true, hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, ""},
		{"broken JSON to a stream", geminiStream, true, hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}, `{"id":"x",`},
	}
	for i, c := range cases {
		before := oaUpstreamErrors(h, "200")
		s := sendAI(h, c.path, aiBody(c.path, c.stream), [2]string{"x-request-id", c.name})
		s.SendResponseHeaders(c.head, c.body == "")
		if c.body != "" && !s.Done() {
			s.SendResponseBody([]byte(c.body), true)
		}
		down := s.Downstream()
		if st := down.Headers.Get(":status"); st != "502" || dialectError(down.Body) == "" || !down.End {
			t.Errorf("%s: client got %s %s (end %v), want a 502 error body", c.name, st, down.Body, down.End)
		}
		if c.path == anthropicPath && gjson.GetBytes(down.Body, "type").Str != "error" ||
			c.path == geminiStream && !gjson.GetBytes(down.Body, "error.status").Exists() {
			t.Errorf("%s: error not in the client's dialect: %s", c.name, down.Body)
		}
		if strings.Contains(string(down.Body), "oops") {
			t.Errorf("%s: the provider's page reached the client", c.name)
		}
		rec := callRecord(t, h, c.name)
		if rec.Get("status").Int() != 502 || rec.Get("error").Str == "" {
			t.Errorf("%s: call record %s", c.name, rec.Raw)
		}
		if got := oaUpstreamErrors(h, "200"); got != before+1 {
			t.Errorf("%s (case %d): upstream_errors_total{status=200} = %d, want %d", c.name, i, got, before+1)
		}
	}
}

// Once a stream has started, a broken or cut answer ends with an error event in the client's
// stream format.
func TestBrokenStreamEndsWithAnErrorEventInTheClientsDialect(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	first := `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}` + "\n\n"
	for _, c := range []struct{ name, path, second, wantEvent string }{
		{"malformed chunk openai", openaiPath, `data: {"id":"c1","choi` + "\n\n", `data: {"error":`},
		{"malformed chunk anthropic", anthropicPath, `data: {"id":"c1","choi` + "\n\n", "event: error\ndata: "},
		{"cut openai", openaiPath, "", `data: {"error":`},
		{"cut anthropic", anthropicPath, "", "event: error\ndata: "},
		{"cut gemini", geminiStream, "", `data: {"error":`},
	} {
		before := oaUpstreamErrors(h, "200")
		s := sendAI(h, c.path, aiBody(c.path, true), [2]string{"x-request-id", c.name})
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
		s.SendResponseBody([]byte(first), false)
		if !strings.Contains(string(s.Downstream().Body), "Hel") {
			t.Fatalf("%s: the first chunk did not reach the client: %q", c.name, s.Downstream().Body)
		}
		s.SendResponseBody([]byte(c.second), true) // the provider's stream ends here
		out := string(s.Downstream().Body)
		i := strings.LastIndex(out, c.wantEvent)
		if i < 0 || !strings.Contains(out[i:], "the provider") || strings.Contains(out, "[DONE]") || strings.Contains(out, "message_stop") {
			t.Errorf("%s: client stream %q, want it to end with an error event %q", c.name, out, c.wantEvent)
		}
		if rec := callRecord(t, h, c.name); rec.Get("error").Str == "" {
			t.Errorf("%s: call record %s", c.name, rec.Raw)
		}
		if got := oaUpstreamErrors(h, "200"); got != before+1 {
			t.Errorf("%s: upstream_errors_total{status=200} = %d, want %d", c.name, got, before+1)
		}
	}
}

// A provider connection reset mid-stream resets the client's stream (as in Envoy); the call
// still counts as an upstream error and its record says why.
func TestResetStreamIsCountedAsAnUpstreamError(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	s := sendAI(h, openaiPath, aiBody(openaiPath, true), [2]string{"x-request-id", "reset"})
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte(`data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}`+"\n\n"), false)
	s.Close()
	if got := oaUpstreamErrors(h, "200"); got != 1 {
		t.Errorf("upstream_errors_total{status=200} = %d, want 1", got)
	}
	if rec := callRecord(t, h, "reset"); !strings.Contains(rec.Get("error").Str, "cut") {
		t.Errorf("call record %s", rec.Raw)
	}
}

// upstream_errors_total carries the provider's status, not the one the client saw.
func TestUpstreamErrorsLabelTheProvidersStatus(t *testing.T) {
	h, _ := aiFilter(t, "", 1)
	s := sendAI(h, anthropicPath, aiBody(anthropicPath, false))
	s.SendResponseHeaders(hostsim.Headers{{":status", "503"}, {"content-type", "application/json"}}, false)
	s.SendResponseBody([]byte(`{"error":{"message":"overloaded","type":"server_error"}}`), true)
	if st := s.Downstream().Headers.Get(":status"); st != "529" {
		t.Fatalf("Anthropic client got %s, want 529", st)
	}
	if got := oaUpstreamErrors(h, "503"); got != 1 {
		t.Errorf("upstream_errors_total{status=503} = %d, want 1; metrics %v", got, h.Metrics())
	}
	if got := oaUpstreamErrors(h, "529"); got != 0 {
		t.Errorf("upstream_errors_total{status=529} = %d, want 0", got)
	}
}
