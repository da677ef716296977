package aiformat

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

var clientDialects = []Dialect{DialectOpenAI, DialectAnthropic, DialectGemini}

// errorMessage reads the error message of a body in any client dialect (all three put it at
// error.message).
func errorMessage(body []byte) string { return gjson.GetBytes(body, "error.message").Str }

// A 200 the filter cannot read becomes a 502 in the client's dialect, whether the content
// type gives it away (at the head) or the body does.
func TestUntranslatableAnswersAre502(t *testing.T) {
	for _, client := range clientDialects {
		for _, wire := range []wireFormat{wireOpenAI, wireAnthropic, wireGemini, wireOllama} {
			tr := newTranslator(client, wire, false, false, testNow, "m")
			if head := tr.Headers(200, "text/html; charset=utf-8"); !head.Fail || head.Status != 502 {
				t.Errorf("%v←%v html: head %+v, want Fail 502", client, wire, head)
			}
			if st, body, ok := tr.Unanswerable(false); !ok || st != 502 || errorMessage(body) == "" {
				t.Errorf("%v←%v html: %d %s", client, wire, st, body)
			}
			for _, body := range []string{"", "<html>oops</html>", `{"id":`} {
				tr := newTranslator(client, wire, false, false, testNow, "m")
				tr.Headers(200, "application/json")
				st, out := tr.Finish([]byte(body))
				if st != 502 || errorMessage(out) == "" || tr.Failure() == "" {
					t.Errorf("%v←%v body %q: %d %s (failure %q)", client, wire, body, st, out, tr.Failure())
				}
			}
			tr = newTranslator(client, wire, false, false, testNow, "m")
			tr.Headers(200, "application/json")
			if st, _, ok := tr.Unanswerable(true); !ok || st != 502 {
				t.Errorf("%v←%v empty 200: %d %v", client, wire, st, ok)
			}
		}
	}
}

// streamError checks that out ends with the client dialect's error event.
func streamError(t *testing.T, client Dialect, out string) {
	t.Helper()
	var want string
	switch client {
	case DialectAnthropic:
		want = "event: error\ndata: "
	default:
		want = "data: {\"error\":"
	}
	i := strings.LastIndex(out, want)
	if i < 0 || strings.Contains(out, "[DONE]") {
		t.Errorf("%v: stream %q does not end with an error event", client, out)
		return
	}
	if !strings.Contains(out[i:], `"message":"the provider`) {
		t.Errorf("%v: error event %q", client, out[i:])
	}
}

const openaiChunk = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}` + "\n\n"

func TestBrokenStreamsEndWithAnErrorEvent(t *testing.T) {
	for _, client := range clientDialects {
		cases := map[string]func(tr *ResponseTranslator) string{
			"malformed chunk": func(tr *ResponseTranslator) string {
				out := string(tr.Write([]byte(openaiChunk+"data: {\"id\":\"c1\",\"choi\n\n"), false))
				return out + string(tr.Write([]byte(openaiChunk), false)) + string(tr.Write(nil, true))
			},
			"cut mid-way": func(tr *ResponseTranslator) string {
				return string(tr.Write([]byte(openaiChunk), false)) + string(tr.Write(nil, true))
			},
			"html as a stream": func(tr *ResponseTranslator) string {
				return string(tr.Write([]byte("<html><body>bad gateway</body></html>"), true))
			},
		}
		for name, run := range cases {
			tr := newTranslator(client, wireOpenAI, true, false, testNow, "m")
			tr.Headers(200, "text/event-stream")
			out := run(tr)
			streamError(t, client, out)
			if tr.Failure() == "" {
				t.Errorf("%v %s: no failure reported", client, name)
			}
		}
	}
}

// A complete stream is not a failure, and a head that says stream to a streaming request, or
// JSON to any, is not refused.
func TestCompleteStreamsAreNotFailures(t *testing.T) {
	tr := newTranslator(DialectAnthropic, wireOpenAI, true, false, testNow, "m")
	tr.Headers(200, "text/event-stream; charset=utf-8")
	out := string(tr.Write([]byte(openaiChunk+`data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n"), true))
	if tr.Failure() != "" || strings.Contains(out, "event: error") || !strings.Contains(out, "message_stop") {
		t.Errorf("failure %q, stream %q", tr.Failure(), out)
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", ""} {
		if head := newTranslator(DialectOpenAI, wireOpenAI, false, false, 0, "m").Headers(200, ct); head.Fail {
			t.Errorf("content type %q refused", ct)
		}
	}
}
