package mcp

import (
	"strings"
	"testing"
)

const listResult = `{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"cheap","inputSchema":{}},{"name":"forbidden"},{"name":"costly"}],"nextCursor":"c"}}`

func allowCheapCostly(name string) bool { return Allowed([]string{"cheap", "cost*"}, name) }

func TestToolFilterKeepsOnlyAllowedTools(t *testing.T) {
	f := &ToolFilter{IDs: [][]byte{[]byte("3")}, Allow: allowCheapCostly}
	got := string(f.Message([]byte(listResult)))
	want := `{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"cheap","inputSchema":{}},{"name":"costly"}],"nextCursor":"c"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Another request's answer, or a string id "3", is left alone.
	other := strings.Replace(listResult, `"id":3`, `"id":"3"`, 1)
	if got := string(f.Message([]byte(other))); got != other {
		t.Errorf("answer to another id rewritten: %s", got)
	}
	batch := "[" + listResult + `,{"jsonrpc":"2.0","id":4,"result":{}}]`
	if got := f.Body([]byte(batch)); !strings.Contains(string(got), `[{"name":"cheap","inputSchema":{}},{"name":"costly"}]`) ||
		!strings.HasSuffix(string(got), `{"jsonrpc":"2.0","id":4,"result":{}}]`) {
		t.Errorf("batch: %s", got)
	}
}

func TestToolFilterAnyID(t *testing.T) {
	f := &ToolFilter{AnyID: true, Allow: allowCheapCostly}
	other := strings.Replace(listResult, `"id":3`, `"id":"x"`, 1)
	if got := string(f.Message([]byte(other))); strings.Contains(got, "forbidden") {
		t.Errorf("AnyID left a refused tool: %s", got)
	}
}

func TestEventRewriterFiltersAcrossChunksAndKeepsFields(t *testing.T) {
	f := &ToolFilter{IDs: [][]byte{[]byte("3")}, Allow: allowCheapCostly}
	stream := ": keep-alive\n\nevent: message\nid: s1_0\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n" +
		"event: message\r\nid: s1_1\r\ndata: " + listResult + "\r\n\r\n"
	for size := 1; size <= len(stream); size += 7 {
		w := EventRewriter{Rewrite: f.Message}
		var out []byte
		for i := 0; i < len(stream); i += size {
			out = append(out, w.Write([]byte(stream[i:min(i+size, len(stream))]), false)...)
		}
		out = append(out, w.Write(nil, true)...)
		got := string(out)
		if strings.Contains(got, "forbidden") || !strings.Contains(got, `{"name":"costly"}`) ||
			!strings.Contains(got, "id: s1_1\ndata: ") || !strings.Contains(got, "notifications/progress") ||
			!strings.HasPrefix(got, ": keep-alive\n\n") || !strings.HasSuffix(got, "}\r\n\r\n") {
			t.Fatalf("chunk size %d: %q", size, got)
		}
	}
}

func TestConfigParsesAndNamesTheField(t *testing.T) {
	ok := `{"allowed_servers":["demo"],"servers":{"demo":{"path_prefix":"/mcp/demo","cluster":"mcp_demo","allowed_tools":["cheap"],"blocked_methods":["resources/*"]},
	        "wide":{"path_prefix":"/mcp","cluster":"mcp_wide"}}}`
	c, err := parse(ok)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Match("/mcp/demo?x=1"); s == nil || s.Name != "demo" || !s.Blocks("resources/read") || s.Blocks("tools/call") {
		t.Errorf("Match /mcp/demo = %+v", s)
	}
	if s := c.Match("/mcp/demox"); s == nil || s.Name != "wide" {
		t.Errorf("Match /mcp/demox = %+v, want wide", s)
	}
	if s := c.Match("/v1/chat"); s != nil {
		t.Errorf("Match /v1/chat = %+v", s)
	}
	for body, want := range map[string]string{
		`[]`:                   "mcp: must be an object",
		`{"servers":{}}`:       "mcp.servers: needs at least one server",
		`{"servers":{"a":{}}}`: "mcp.servers.a.path_prefix: required",
		`{"servers":{"a":{"path_prefix":"x","cluster":"c"}}}`:                                         "mcp.servers.a.path_prefix:",
		`{"servers":{"a":{"path_prefix":"/x"}}}`:                                                      "mcp.servers.a.cluster: required",
		`{"servers":{"a":{"path_prefix":"/x","cluster":"c","allowed_tools":"t"}}}`:                    "mcp.servers.a.allowed_tools: must be an array",
		`{"servers":{"a":{"path_prefix":"/x","cluster":"c","tools":[]}}}`:                             "mcp.servers.a.tools: unknown field",
		`{"servers":{"a b":{"path_prefix":"/x","cluster":"c"}}}`:                                      "mcp.servers.a b: a server name",
		`{"allowed_servers":[1],"servers":{"a":{"path_prefix":"/x","cluster":"c"}}}`:                  "mcp.allowed_servers[0]",
		`{"servers":{"a":{"path_prefix":"/x","cluster":"c"},"b":{"path_prefix":"/x","cluster":"c"}}}`: "mcp.servers.b.path_prefix",
	} {
		if _, err := parse(body); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", body, err, want)
		}
	}
}
