package mcp

import (
	"strings"
	"testing"
)

func TestParseSingleMessages(t *testing.T) {
	tests := []struct {
		body         string
		kind         Kind
		id, method   string
		tool, reason string
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"q":"x"}}}`, Request, `1`, "tools/call", "search", ""},
		{` {"jsonrpc":"2.0","id":"a-1","method":"tools/list"} `, Request, `"a-1"`, "tools/list", "", ""},
		{`{"method":"notifications/initialized","jsonrpc":"2.0"}`, Notification, "", "notifications/initialized", "", ""},
		{`{"jsonrpc":"2.0","id":7,"result":{}}`, Response, `7`, "", "", ""},
		{`{"jsonrpc":"2.0","id":-2.5e3,"error":{"code":1,"message":"x"}}`, Response, `-2.5e3`, "", "", ""},
		{`{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"n\u0061me":"se\u0061rch"}}`, Request, `1`, "tools/call", "search", ""},
		{`{"jsonrpc":"1.0","id":1,"method":"x"}`, Invalid, `1`, "", "", `"jsonrpc" must be "2.0"`},
		{`{"id":1,"method":"x"}`, Invalid, `1`, "", "", `"jsonrpc" must be "2.0"`},
		{`{"jsonrpc":"2.0","id":null,"method":"x"}`, Invalid, "", "", "", `"id" must be`},
		{`{"jsonrpc":"2.0","id":{},"method":"x"}`, Invalid, "", "", "", `"id" must be`},
		{`{"jsonrpc":"2.0","id":1,"method":3}`, Invalid, `1`, "", "", `"method" must be a string`},
		{`{"jsonrpc":"2.0","id":1}`, Invalid, `1`, "", "", `needs a "method"`},
		{`{"jsonrpc":"2.0","id":1,"result":1,"error":{}}`, Invalid, `1`, "", "", `needs a "method"`},
		{`[1]`, Invalid, "", "", "", "must be an object"},
		// What a server decoding with encoding/json would read differently is refused.
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}`, Invalid, `1`, "", "", "ambiguous"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}`, Invalid, `1`, "", "", "ambiguous"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","\u004dethod":"tools/call"}`, Invalid, `1`, "", "", "ambiguous"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok","NAME":"evil"}}`, Invalid, `1`, "tools/call", "", "ambiguous"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok","name":"evil"}}`, Invalid, `1`, "tools/call", "", "ambiguous"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`, Invalid, `1`, "tools/call", "", `"name"`},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`, Invalid, `1`, "tools/call", "", `"name"`},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}`, Invalid, `1`, "tools/call", "", `"name"`},
	}
	for _, tt := range tests {
		b, err := Parse([]byte(tt.body), nil)
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		if len(b.Messages) != 1 {
			t.Errorf("%s: %d messages", tt.body, len(b.Messages))
			continue
		}
		m := b.Messages[0]
		if tt.body[0] == '[' {
			m = b.Messages[0]
		}
		if m.Kind != tt.kind || string(m.ID) != tt.id || m.Tool != tt.tool || !strings.Contains(m.Reason, tt.reason) ||
			(tt.kind != Invalid && m.Method != tt.method) {
			t.Errorf("%s:\n got kind=%v id=%s method=%q tool=%q reason=%q\nwant kind=%v id=%s method=%q tool=%q reason~%q",
				tt.body, m.Kind, m.ID, m.Method, m.Tool, m.Reason, tt.kind, tt.id, tt.method, tt.tool, tt.reason)
		}
		if tt.kind == Invalid && m.Reason == "" {
			t.Errorf("%s: invalid without a reason", tt.body)
		}
	}
}

func TestParseBatchKeepsEachMessage(t *testing.T) {
	body := `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},
	          {"jsonrpc":"2.0","method":"notifications/progress"}, 5,
	          {"jsonrpc":"2.0","id":"x","method":"tools/list"}]`
	b, err := Parse([]byte(body), nil)
	if err != nil || !b.Batch || len(b.Messages) != 4 {
		t.Fatalf("Parse = %+v, %v", b, err)
	}
	kinds := []Kind{Request, Notification, Invalid, Request}
	for i, k := range kinds {
		if b.Messages[i].Kind != k {
			t.Errorf("message %d kind %v, want %v", i, b.Messages[i].Kind, k)
		}
	}
	if got := string(b.Messages[3].Raw); got != `{"jsonrpc":"2.0","id":"x","method":"tools/list"}` {
		t.Errorf("raw = %s", got)
	}
	if b, err := Parse([]byte(" [ ] "), nil); err != nil || !b.Batch || len(b.Messages) != 0 {
		t.Errorf("empty batch: %+v, %v", b, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, body := range []string{``, ` `, `{`, `{"jsonrpc":"2.0"`, `[{"a":1},]`, `{"a":1}x`, `{"a":01}`,
		`{"a":"\x"}`, "{\"a\":\"\x01\"}", `nul`, `[`, `{"a":1,}`, `{"a" 1}`, strings.Repeat("[", 300) + strings.Repeat("]", 300)} {
		if _, err := Parse([]byte(body), nil); err == nil {
			t.Errorf("Parse(%q) accepted", body)
		}
	}
}

func TestMatchGlobs(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"search", "search", true}, {"search", "search2", false},
		{"search*", "search_web", true}, {"*_web", "search_web", true}, {"s*r*h", "search", true},
		{"s?arch", "search", true}, {"s?arch", "sarch", false}, {"a*b*c", "abxbxc", true}, {"a*b*c", "abxbx", false},
		{"", "", true}, {"", "x", false}, {"**", "x", true},
	}
	for _, tt := range tests {
		if got := Match(tt.glob, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.glob, tt.name, got, tt.want)
		}
	}
	if !Allowed(nil, "x") || Allowed([]string{}, "x") || !Allowed([]string{"a", "x*"}, "xy") {
		t.Error("Allowed: nil allows all, [] allows none, any glob may match")
	}
}

func TestAppendError(t *testing.T) {
	got := string(AppendError(nil, &Error{ID: []byte(`"r\"1"`), Code: Throttled, Message: `rate "limited"`, Rule: "mcp", RetryAfter: 3}))
	want := `{"jsonrpc":"2.0","id":"r\"1","error":{"code":-32029,"message":"rate \"limited\"","data":{"rule":"mcp","retry_after":3}}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = string(AppendError(nil, &Error{Code: ParseError, Message: "parse error"}))
	if got != `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}` {
		t.Errorf("got %s", got)
	}
}

// encoding/json folds "ſ" to "s": "param\u017f" is params to a Go server.
func TestParseRefusesUnicodeFoldedNames(t *testing.T) {
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok"},"param\u017f":{"name":"evil"}}`
	b, err := Parse([]byte(body), nil)
	if err != nil || b.Messages[0].Kind != Invalid {
		t.Fatalf("got %+v, %v; want an invalid message", b.Messages, err)
	}
}
