package main

// MCP traffic through the real .wasm in hostsim, checked byte for byte.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// mcpConfig fronts one MCP server: cheap and costly tools allowed, resources/* blocked, and
// costly paced at 1/s with a burst of 2, held up to 1 s beyond it, then rejected.
const mcpConfig = `{
  "limits": {"max_request_body_bytes": 2048},
  "mcp": {"servers": {"demo": {"path_prefix": "/mcp/demo", "cluster": "mcp_demo",
    "allowed_tools": ["cheap", "cost*"], "blocked_methods": ["resources/*"]}}},
  "throttle": {"rules": [{"name": "costly-tool", "match": {"mcp_tools": ["costly"]}, "key": "mcp_tool",
    "rate": "1/s", "burst": 2, "steps": [{"below": 0, "action": "shape", "max_delay": "1500ms", "max_queue": 4}]}]}
}`

const session = "4f0c2a1e-mcp-session"

func mcpPost(body string, extra ...[2]string) hostsim.Headers {
	hs := post("/mcp/demo", append([][2]string{{"accept", "application/json, text/event-stream"},
		{"mcp-session-id", session}, {"content-length", itoa(len(body))}}, extra...)...)
	return hs
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		if n /= 10; n == 0 {
			return s
		}
	}
}

// mcpSend sends body to the MCP route; it returns the stream, and the local reply if any.
func mcpSend(t *testing.T, h *hostsim.Host, body string, extra ...[2]string) (*hostsim.Stream, *hostsim.LocalReply) {
	t.Helper()
	s := h.NewStream()
	s.SendRequestHeaders(mcpPost(body, extra...), false)
	s.SendRequestBody([]byte(body), true)
	return s, s.LocalReply()
}

func call(id, tool string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`
}

func wantReply(t *testing.T, lr *hostsim.LocalReply, status int, body string) {
	t.Helper()
	if lr == nil {
		t.Fatalf("no local reply, want %d %s", status, body)
	}
	if int(lr.Status) != status || string(lr.Body) != body {
		t.Fatalf("local reply %d %s\nwant        %d %s", lr.Status, lr.Body, status, body)
	}
	if ct := lr.Headers.Get("content-type"); ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}
}

func TestMCPAllowedCallGoesThroughUntouched(t *testing.T) {
	h, _ := startFilter(t, mcpConfig, 1)
	body := call("1", "cheap")
	s, lr := mcpSend(t, h, body, [2]string{"x-request-id", "mcp-1"})
	if lr != nil || s.Paused() {
		t.Fatalf("allowed call refused or held: %+v", lr)
	}
	up := s.Upstream()
	if string(up.Body) != body || up.Headers.Get("mcp-session-id") != session ||
		up.Headers.Get("x-stepgate-cluster") != "mcp_demo" || up.Headers.Get("content-length") != itoa(len(body)) {
		t.Fatalf("upstream request %v %s", up.Headers, up.Body)
	}
	// An SSE answer streams through chunk by chunk, untouched, with the server's session id.
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}, {"mcp-session-id", session}}, false)
	chunk := "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n"
	if st := s.SendResponseBody([]byte(chunk[:20]), false); st != hostsim.Continue {
		t.Fatalf("SSE chunk held: %v", st)
	}
	if got := string(s.Downstream().Body); got != chunk[:20] {
		t.Fatalf("first chunk not passed at once: %q", got)
	}
	s.SendResponseBody([]byte(chunk[20:]), true)
	d := s.Downstream()
	if string(d.Body) != chunk || d.Headers.Get("mcp-session-id") != session {
		t.Errorf("downstream %v %q", d.Headers, d.Body)
	}
	rec := callRecord(t, h, "mcp-1")
	if rec.Get("route").Str != "demo" || rec.Get("mcp_method").Str != "tools/call" || rec.Get("tool").Str != "cheap" {
		t.Errorf("call record %s", rec.Raw)
	}
	if _, ok := h.Metric("stepgate_mcp_requests_total.tenant.anonymous.route.demo.mcp_method.tools_call.tool.cheap.step.allow"); !ok {
		t.Errorf("no mcp_requests_total for the call; have %v", h.Metrics())
	}
}

func TestMCPRefusalsAnswerInJSONRPC(t *testing.T) {
	h, _ := startFilter(t, mcpConfig, 1)
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"tool not allowed", call(`"a"`, "forbidden"), 200,
			`{"jsonrpc":"2.0","id":"a","error":{"code":-32030,"message":"tool not allowed","data":{"tool":"forbidden"}}}`},
		{"blocked method", `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}`, 200,
			`{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"method not found","data":{"method":"resources/read"}}}`},
		{"parse error", `{"jsonrpc":"2.0","id":1,`, 400,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: the body is not JSON"}}`},
		{"invalid request", `{"jsonrpc":"1.0","id":3,"method":"tools/list"}`, 400,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: \"jsonrpc\" must be \"2.0\""}}`},
		{"empty batch", `[]`, 400,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: empty batch"}}`},
		{"smuggled method", `{"jsonrpc":"2.0","id":4,"method":"tools/list","Method":"tools/call"}`, 400,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: member \"Method\" is ambiguous (repeated, or differs only by case)"}}`},
		{"body over the limit", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2048) + `"}}`, 413,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: body over the gateway's limit"}}`},
		{"refused notification", `{"jsonrpc":"2.0","method":"resources/updated"}`, 403,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32030,"message":"notification refused"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, lr := mcpSend(t, h, tt.body)
			wantReply(t, lr, tt.status, tt.want)
			if s.Upstream().Headers != nil {
				t.Errorf("refused request reached the server: %v", s.Upstream().Headers)
			}
		})
	}
}

func TestMCPCostlyToolIsShapedThenRejectedWhileOthersFlow(t *testing.T) {
	h, vc := startFilter(t, mcpConfig, 1)
	for i := 1; i <= 2; i++ {
		if s, lr := mcpSend(t, h, call(itoa(i), "costly")); lr != nil || s.Paused() {
			t.Fatalf("burst call %d refused or held: %+v", i, lr)
		}
	}
	held, lr := mcpSend(t, h, call("3", "costly"))
	if lr != nil || !held.RequestPaused() {
		t.Fatalf("third costly call: want held, got reply %+v", lr)
	}
	// The cheap tool is not in the rule: it flows while costly is held.
	if s, lr := mcpSend(t, h, call("4", "cheap")); lr != nil || s.Paused() {
		t.Fatalf("cheap call refused or held: %+v", lr)
	}
	_, lr = mcpSend(t, h, call("5", "costly"))
	wantReply(t, lr, 429, `{"jsonrpc":"2.0","id":5,"error":{"code":-32029,"message":"rate limited","data":{"rule":"costly-tool","retry_after":1}}}`)
	if lr.Headers.Get("retry-after") != "1" || lr.Headers.Get("x-ratelimit-limit") != "2" {
		t.Errorf("throttled reply headers %v", lr.Headers)
	}
	vc.Advance(999 * time.Millisecond)
	if !held.RequestPaused() {
		t.Fatal("held call released before its token was due")
	}
	vc.Advance(time.Millisecond + 5*time.Millisecond) // the token, then the next tick
	if held.RequestPaused() || held.Upstream().Headers.Get("x-stepgate-step") != "shape" {
		t.Fatalf("held call not released after 1 s: paused=%v %v", held.RequestPaused(), held.Upstream().Headers)
	}
}

func TestMCPBatchAnswersEachMessageAndForwardsTheAllowedOnes(t *testing.T) {
	h, _ := startFilter(t, mcpConfig, 1)
	allowed, notif := call("1", "cheap"), `{"jsonrpc":"2.0","method":"notifications/progress","params":{}}`
	body := "[" + allowed + ", " + call("2", "forbidden") + "," + notif + `,{"jsonrpc":"2.0","id":3,"method":"resources/list"}, 42]`
	s, lr := mcpSend(t, h, body)
	if lr != nil {
		t.Fatalf("batch answered locally: %d %s", lr.Status, lr.Body)
	}
	up := s.Upstream()
	if want := "[" + allowed + "," + notif + "]"; string(up.Body) != want || up.Headers.Get("content-length") != "" {
		t.Fatalf("upstream body %s\nwant          %s (headers %v)", up.Body, want, up.Headers)
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}, {"content-length", "40"}}, false)
	s.SendResponseBody([]byte(`[{"jsonrpc":"2.0","id":1,"result":{}}]`), true)
	want := `[{"jsonrpc":"2.0","id":1,"result":{}},` +
		`{"jsonrpc":"2.0","id":2,"error":{"code":-32030,"message":"tool not allowed","data":{"tool":"forbidden"}}},` +
		`{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"method not found","data":{"method":"resources/list"}}},` +
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: a message must be an object"}}]`
	if got := string(s.Downstream().Body); got != want {
		t.Errorf("merged answer\n%s\nwant\n%s", got, want)
	}
	// Over SSE the gateway's answers go first, as events of their own.
	s, _ = mcpSend(t, h, "["+allowed+","+call("2", "forbidden")+"]")
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"), true)
	wantSSE := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32030,\"message\":\"tool not allowed\",\"data\":{\"tool\":\"forbidden\"}}}\n\n" +
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
	if got := string(s.Downstream().Body); got != wantSSE {
		t.Errorf("SSE answer\n%q\nwant\n%q", got, wantSSE)
	}
}

func TestMCPBatchWithNothingForwardedIsAnsweredLocally(t *testing.T) {
	h, _ := startFilter(t, mcpConfig, 1)
	_, lr := mcpSend(t, h, "["+call("1", "forbidden")+`,{"jsonrpc":"2.0","method":"resources/x"}]`)
	wantReply(t, lr, 200, `[{"jsonrpc":"2.0","id":1,"error":{"code":-32030,"message":"tool not allowed","data":{"tool":"forbidden"}}}]`)
	_, lr = mcpSend(t, h, `[{"jsonrpc":"2.0","method":"resources/x"},{"jsonrpc":"2.0","method":"resources/y"}]`)
	wantReply(t, lr, 202, ``)
}

// A batch whose allowed part holds no request: the server would answer 202 without a body, so the
// gateway answers, and its allowed notifications go to the server by an HTTP call of their own.
func TestMCPBatchOfNotificationsAndARefusedCall(t *testing.T) {
	upstream := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		upstream <- r.URL.Path + " " + r.Header.Get("mcp-session-id") + " " + string(b)
		w.WriteHeader(202)
	}))
	defer srv.Close()
	vc := hostsim.NewVirtualClock(epoch)
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: filterWasm(t), PluginConfig: []byte(mcpConfig), Clock: vc, PluginName: "stepgate",
		AllowOnHeadersStopIteration: true, Clusters: map[string]string{"mcp_demo": srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	notif := `{"jsonrpc":"2.0","method":"notifications/progress","params":{}}`
	_, lr := mcpSend(t, h, "["+notif+","+call("1", "forbidden")+"]")
	wantReply(t, lr, 200, `[{"jsonrpc":"2.0","id":1,"error":{"code":-32030,"message":"tool not allowed","data":{"tool":"forbidden"}}}]`)
	select {
	case got := <-upstream:
		if want := "/mcp/demo " + session + " [" + notif + "]"; got != want {
			t.Errorf("the server received %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the allowed notification never reached the server")
	}
}

const toolsList = `{"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"cheap","inputSchema":{"type":"object"}},{"name":"costly","inputSchema":{"type":"object"}},{"name":"forbidden","inputSchema":{"type":"object"}}]}}`
const toolsListFiltered = `{"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"cheap","inputSchema":{"type":"object"}},{"name":"costly","inputSchema":{"type":"object"}}]}}`

func TestMCPToolsListIsFilteredAsJSONAndAsSSE(t *testing.T) {
	h, _ := startFilter(t, mcpConfig, 1)
	list := `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`
	s, _ := mcpSend(t, h, list)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}, {"content-length", itoa(len(toolsList))}}, false)
	s.SendResponseBody([]byte(toolsList[:50]), false)
	s.SendResponseBody([]byte(toolsList[50:]), true)
	if got := string(s.Downstream().Body); got != toolsListFiltered {
		t.Errorf("JSON tools/list\n%s\nwant\n%s", got, toolsListFiltered)
	}
	if cl := s.Downstream().Headers.Get("content-length"); cl != "" {
		t.Errorf("stale content-length %s", cl)
	}

	s, _ = mcpSend(t, h, list)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	stream := "event: message\nid: ev-1\ndata: " + toolsList + "\n\n"
	for i := 0; i < len(stream); i += 16 {
		s.SendResponseBody([]byte(stream[i:min(i+16, len(stream))]), false)
	}
	s.SendResponseBody(nil, true)
	if got, want := string(s.Downstream().Body), "event: message\nid: ev-1\ndata: "+toolsListFiltered+"\n\n"; got != want {
		t.Errorf("SSE tools/list\n%q\nwant\n%q", got, want)
	}
}

// A GET stream resumed with Last-Event-ID may replay a tools/list answer: it is filtered too.
func TestMCPToolListsOnTheGETStreamAreFiltered(t *testing.T) {
	h, _ := startFilter(t, mcpConfig, 1)
	s := h.NewStream()
	s.SendRequestHeaders(get("/mcp/demo", [2]string{"accept", "text/event-stream"}, [2]string{"mcp-session-id", session},
		[2]string{"last-event-id", "ev-0"}), true)
	if s.LocalReply() != nil || s.Paused() {
		t.Fatalf("GET stream refused or held: %+v", s.LocalReply())
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte("id: ev-1\ndata: "+toolsList+"\n\n"), false)
	if got, want := string(s.Downstream().Body), "id: ev-1\ndata: "+toolsListFiltered+"\n\n"; got != want {
		t.Errorf("GET stream\n%q\nwant\n%q", got, want)
	}
}

func TestMCPSessionIDCanKeyAThrottleRule(t *testing.T) {
	h, _ := startFilter(t, `{"mcp":{"servers":{"demo":{"path_prefix":"/mcp/demo","cluster":"mcp_demo"}}},
	  "throttle":{"rules":[{"name":"per-session","match":{"path_prefix":"/mcp/"},"key":"header:mcp-session-id","rate":"1/min","burst":1}]}}`, 1)
	if _, lr := mcpSend(t, h, call("1", "any")); lr != nil {
		t.Fatalf("first call of the session refused: %s", lr.Body)
	}
	_, lr := mcpSend(t, h, call("2", "any"))
	if lr == nil || lr.Status != 429 || !strings.Contains(string(lr.Body), `"code":-32029`) {
		t.Fatalf("second call of the session: %+v", lr)
	}
	other := h.NewStream()
	other.SendRequestHeaders(post("/mcp/demo", [2]string{"mcp-session-id", "another"}), false)
	other.SendRequestBody([]byte(call("1", "any")), true)
	if other.LocalReply() != nil {
		t.Errorf("another session was throttled: %s", other.LocalReply().Body)
	}
}

func TestMCPServerNotAllowed(t *testing.T) {
	h, _ := startFilter(t, `{"mcp":{"allowed_servers":["other"],"servers":{"demo":{"path_prefix":"/mcp/demo","cluster":"mcp_demo"}}}}`, 1)
	_, lr := mcpSend(t, h, call("1", "cheap"))
	wantReply(t, lr, 403, `{"jsonrpc":"2.0","id":1,"error":{"code":-32030,"message":"server not allowed","data":{"server":"demo"}}}`)
	s := h.NewStream()
	s.SendRequestHeaders(get("/mcp/demo", [2]string{"accept", "text/event-stream"}), true)
	wantReply(t, s.LocalReply(), 403, `{"jsonrpc":"2.0","id":null,"error":{"code":-32030,"message":"server not allowed","data":{"server":"demo"}}}`)
}
