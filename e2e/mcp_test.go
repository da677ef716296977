package e2e

// MCP through the dev gateway: the official Go SDK's client, the gateway with the real .wasm, and
// the demo server built with the same SDK, once answering with SSE and once with JSON.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/hostsim/devgateway/mcpdemo"
)

// mcpGatewayConfig: echo and report allowed, delete_all not; prompts blocked; report limited per
// session to a burst of 2 and one a minute, one call held at most a minute, then rejected.
const mcpGatewayConfig = `{
  "mcp": {"servers": {
    "sse":  {"path_prefix": "/mcp/sse",  "cluster": "mcp_sse",  "allowed_tools": ["echo", "report"], "blocked_methods": ["prompts/*"]},
    "json": {"path_prefix": "/mcp/json", "cluster": "mcp_json", "allowed_tools": ["echo", "report"], "blocked_methods": ["prompts/*"]}}},
  "throttle": {"rules": [{"name": "report", "match": {"mcp_tools": ["report"]}, "key": ["header:mcp-session-id"],
    "rate": "1/min", "burst": 2, "steps": [{"below": 0, "action": "shape", "max_delay": "90s", "max_queue": 1}]}]}
}`

// upstreamLog records what an MCP server received: the session id and body of each POST.
type upstreamLog struct {
	mu    sync.Mutex
	posts []upstreamPost
}

type upstreamPost struct {
	session string
	body    string
}

func (l *upstreamLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			l.mu.Lock()
			l.posts = append(l.posts, upstreamPost{r.Header.Get("Mcp-Session-Id"), string(b)})
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// calls lists the tools the server was asked to run.
func (l *upstreamLog) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, p := range l.posts {
		for _, m := range messagesOf(p.body) {
			if m.Get("method").Str == "tools/call" {
				out = append(out, m.Get("params.name").Str)
			}
		}
	}
	return out
}

func messagesOf(body string) []gjson.Result {
	r := gjson.Parse(body)
	if r.IsArray() {
		return r.Array()
	}
	return []gjson.Result{r}
}

type mcpRig struct {
	gw       *devgateway.Gateway
	clock    *hostsim.VirtualClock
	sse, jsn *mcpdemo.Server
	sseLog   upstreamLog
	jsonLog  upstreamLog
}

func startMCPRig(t *testing.T) *mcpRig {
	t.Helper()
	needsInProcess(t, "its own MCP servers")
	r := &mcpRig{clock: hostsim.NewVirtualClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)),
		sse: mcpdemo.New(mcpdemo.Options{}), jsn: mcpdemo.New(mcpdemo.Options{JSONResponse: true})}
	sseSrv := httptest.NewServer(r.sseLog.wrap(r.sse))
	jsonSrv := httptest.NewServer(r.jsonLog.wrap(r.jsn))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gw, err := devgateway.Start(ctx, devgateway.Config{
		Module: filterWasm(t), PluginConfig: []byte(mcpGatewayConfig),
		Listen: "127.0.0.1:0", AdminListen: "-", Workers: 2, Clock: r.clock,
		Clusters:                    map[string]string{"mcp_sse": sseSrv.URL, "mcp_json": jsonSrv.URL},
		AllowOnHeadersStopIteration: true, Logf: func(string, ...any) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.gw = gw
	t.Cleanup(func() {
		_ = gw.Close()
		sseSrv.Close()
		jsonSrv.Close()
	})
	return r
}

func (r *mcpRig) connect(t *testing.T, route string) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := sdk.NewClient(&sdk.Implementation{Name: "stepgate-e2e", Version: "1.0.0"}, nil)
	s, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: r.gw.URL() + route, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", route, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func callTool(s *sdk.ClientSession, name string) (*sdk.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: map[string]any{"text": "one two three"}})
}

func textOf(r *sdk.CallToolResult) string {
	if r == nil || len(r.Content) == 0 {
		return ""
	}
	if tc, ok := r.Content[0].(*sdk.TextContent); ok {
		return tc.Text
	}
	return ""
}

// wireCode is the JSON-RPC error code the client surfaced, 0 when none.
func wireCode(err error) int64 {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return we.Code
	}
	return 0
}

func TestMCPClientThroughTheGateway(t *testing.T) {
	r := startMCPRig(t)
	for _, route := range []string{"/mcp/sse", "/mcp/json"} {
		t.Run(strings.TrimPrefix(route, "/mcp/"), func(t *testing.T) {
			s := r.connect(t, route)
			log := &r.sseLog
			if route == "/mcp/json" {
				log = &r.jsonLog
			}

			res, err := callTool(s, mcpdemo.ToolEcho)
			if err != nil || textOf(res) != "one two three" {
				t.Fatalf("echo: %v %v", textOf(res), err)
			}

			// tools/list shows only the tools the gateway lets the client call.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			list, err := s.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range list.Tools {
				names = append(names, tool.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"echo", "report"}) {
				t.Errorf("tools/list = %v, want [echo report]", names)
			}

			// A forbidden tool: the client gets the gateway's JSON-RPC error, the server never
			// hears of it, and the session goes on.
			_, err = callTool(s, mcpdemo.ToolDeleteAll)
			t.Logf("delete_all: the client reports %v", err)
			if wireCode(err) != -32030 || !strings.Contains(err.Error(), "tool not allowed") {
				t.Errorf("delete_all: client reports %v (code %d), want -32030 tool not allowed", err, wireCode(err))
			}
			if slices.Contains(log.calls(), mcpdemo.ToolDeleteAll) {
				t.Error("the server received delete_all")
			}

			// A blocked method: method not found.
			_, err = s.GetPrompt(ctx, &sdk.GetPromptParams{Name: "anything"})
			t.Logf("prompts/get: the client reports %v", err)
			if wireCode(err) != -32601 {
				t.Errorf("prompts/get: client reports %v (code %d), want -32601", err, wireCode(err))
			}

			// The session id passes through untouched: the server saw the client's own.
			log.mu.Lock()
			last := log.posts[len(log.posts)-1]
			log.mu.Unlock()
			if s.ID() == "" || last.session != s.ID() {
				t.Errorf("session id: client %q, server saw %q", s.ID(), last.session)
			}

			if res, err := callTool(s, mcpdemo.ToolEcho); err != nil || textOf(res) != "one two three" {
				t.Errorf("echo after the denials: %v %v", textOf(res), err)
			}
		})
	}
}

func TestMCPCostlyToolIsShapedThenThrottled(t *testing.T) {
	r := startMCPRig(t)
	s := r.connect(t, "/mcp/sse")
	for i := 0; i < 2; i++ {
		if res, err := callTool(s, mcpdemo.ToolReport); err != nil || textOf(res) != "words: 3" {
			t.Fatalf("report %d of the burst: %v %v", i+1, textOf(res), err)
		}
	}
	// The third is held: it waits for the next token, a minute away on the gateway's clock.
	held := make(chan error, 1)
	go func() {
		res, err := callTool(s, mcpdemo.ToolReport)
		if err == nil && textOf(res) != "words: 3" {
			err = errors.New("unexpected result " + textOf(res))
		}
		held <- err
	}()
	waitFor(t, func() bool {
		m, ok := r.gw.Host().Metric("stepgate_shaped_requests.rule.report")
		return ok && m.Value == 1
	})
	// With one call held (max_queue 1), the next is throttled: 429 with Retry-After, which the
	// official client reports as a transient rejection, keeping the session.
	_, err := callTool(s, mcpdemo.ToolReport)
	t.Logf("throttled report: the client reports %v", err)
	if err == nil || !strings.Contains(err.Error(), "Too Many Requests") {
		t.Errorf("fourth report: client reports %v, want Too Many Requests", err)
	}
	// Other tools flow meanwhile.
	if res, err := callTool(s, mcpdemo.ToolEcho); err != nil || textOf(res) != "one two three" {
		t.Errorf("echo while report is held: %v %v", textOf(res), err)
	}
	select {
	case err := <-held:
		t.Fatalf("the held call returned before its token was due: %v", err)
	default:
	}
	r.clock.Advance(time.Minute)
	select {
	case err := <-held:
		if err != nil {
			t.Errorf("held call: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the held call did not go on once its token was due")
	}
	if got := r.sseLog.calls(); !slices.Equal(got, []string{"report", "report", "echo", "report"}) {
		t.Errorf("the server ran %v", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawSession opens a session by hand in the 2025-03-26 revision, the one that allows batches.
func rawSession(t *testing.T, url string) string {
	t.Helper()
	resp, _ := rawPost(t, url, "", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	id := resp.Header.Get("Mcp-Session-Id")
	if id == "" {
		t.Fatalf("initialize: no session id (%d)", resp.StatusCode)
	}
	if resp, body := rawPost(t, url, id, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != 202 {
		t.Fatalf("notifications/initialized: %d %s", resp.StatusCode, body)
	}
	return id
}

func rawPost(t *testing.T, url, session, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-03-26")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// answers reads the JSON-RPC answers of a JSON or SSE body, by id.
func answers(body string) map[string]gjson.Result {
	out := map[string]gjson.Result{}
	add := func(s string) {
		for _, m := range messagesOf(s) {
			out[m.Get("id").Raw] = m
		}
	}
	if strings.HasPrefix(strings.TrimSpace(body), "[") || strings.HasPrefix(strings.TrimSpace(body), "{") {
		add(body)
		return out
	}
	for _, line := range strings.Split(body, "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			add(d)
		}
	}
	return out
}

func TestMCPBatchesAndMalformedMessages(t *testing.T) {
	r := startMCPRig(t)
	for _, route := range []string{"/mcp/sse", "/mcp/json"} {
		t.Run(strings.TrimPrefix(route, "/mcp/"), func(t *testing.T) {
			url := r.gw.URL() + route
			id := rawSession(t, url)
			batch := `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}},
			  {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_all","arguments":{}}},
			  {"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"p"}},
			  {"jsonrpc":"2.0","id":4,"method":"tools/list"},
			  {"jsonrpc":"1.0","id":5,"method":"ping"}]`
			resp, body := rawPost(t, url, id, batch)
			if resp.StatusCode != 200 {
				t.Fatalf("batch: %d %s", resp.StatusCode, body)
			}
			got := answers(body)
			if len(got) != 5 || got["1"].Get("result.content.0.text").Str != "hi" ||
				got["2"].Get("error.code").Int() != -32030 || got["3"].Get("error.code").Int() != -32601 ||
				got["null"].Get("error.code").Int() != -32600 || len(got["4"].Get("result.tools").Array()) != 2 {
				t.Errorf("batch answers: %s", body)
			}
			if strings.Contains(got["4"].Raw, "delete_all") {
				t.Errorf("tools/list in the batch shows delete_all: %s", got["4"].Raw)
			}

			resp, body = rawPost(t, url, id, `{"jsonrpc":"2.0","id":9,"method":"tools/call",`)
			if resp.StatusCode != 400 || gjson.Get(body, "error.code").Int() != -32700 || gjson.Get(body, "id").Raw != "null" {
				t.Errorf("malformed: %d %s", resp.StatusCode, body)
			}
			resp, body = rawPost(t, url, id, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","Name":"delete_all"}}`)
			if resp.StatusCode != 400 || gjson.Get(body, "error.code").Int() != -32600 {
				t.Errorf("ambiguous tool name: %d %s", resp.StatusCode, body)
			}
		})
	}
	for _, l := range []*upstreamLog{&r.sseLog, &r.jsonLog} {
		if slices.Contains(l.calls(), mcpdemo.ToolDeleteAll) {
			t.Error("a server received delete_all")
		}
	}
	if r.sse.Calls()+r.jsn.Calls() != 2 {
		t.Errorf("the servers ran %d tool calls, want 2 (one echo each)", r.sse.Calls()+r.jsn.Calls())
	}
}

// The example configuration, as `make run` serves it: the demo server behind /mcp/demo.
func TestMCPDemoOfTheExampleConfiguration(t *testing.T) {
	needsInProcess(t, "the dev gateway's demo MCP server")
	g := exampleGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := sdk.NewClient(&sdk.Implementation{Name: "stepgate-e2e", Version: "1.0.0"}, nil)
	s, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: g.URL + "/mcp/demo", DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"echo", "report"}) {
		t.Errorf("tools/list = %v, want [echo report]", names)
	}
	if res, err := callTool(s, mcpdemo.ToolReport); err != nil || textOf(res) != "words: 3" {
		t.Errorf("report: %v %v", textOf(res), err)
	}
	if _, err := callTool(s, mcpdemo.ToolDeleteAll); wireCode(err) != -32030 {
		t.Errorf("delete_all: %v", err)
	}
}
