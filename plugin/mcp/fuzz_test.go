package mcp

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func parse(s string) (*Config, error) { return ParseConfig(gjson.Parse(s), "mcp") }

// FuzzParse: Parse never panics; it accepts exactly the JSON encoding/json accepts (within the
// nesting bound); and what it reads as a request's method and tool is what a server decoding the
// same bytes with encoding/json reads, so the gateway and the server never disagree on a call.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{}}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`,
		`{"jsonrpc":"2.0","id":"x","result":{"tools":[]}}`, `[]`, `{}`, `[1,"a",null]`, `{"a":"\ud83d\ude00"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","Name":"b"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/\u0063all","params":{"n\u0061me":"\ud800"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := Parse(body, nil)
		valid := json.Valid(body)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if err != nil {
			if valid && strings.Count(string(body), "[")+strings.Count(string(body), "{") <= maxDepth {
				t.Fatalf("refused valid JSON %q: %v", body, err)
			}
			return
		}
		for _, m := range b.Messages {
			if m.Kind != Request && m.Kind != Notification {
				continue
			}
			var std struct {
				Method string
				Params struct{ Name string }
			}
			if json.Unmarshal(m.Raw, &std) != nil {
				continue // a member of another type: the server refuses it as well
			}
			if std.Method != m.Method {
				t.Fatalf("%q: method %q, encoding/json reads %q", m.Raw, m.Method, std.Method)
			}
			if m.Method == MethodToolsCall && std.Params.Name != m.Tool {
				t.Fatalf("%q: tool %q, encoding/json reads %q", m.Raw, m.Tool, std.Params.Name)
			}
		}
		_ = AppendError(nil, &Error{ID: firstID(b), Code: InvalidRequest, Message: string(body)})
	})
}

func firstID(b Body) []byte {
	if len(b.Messages) > 0 {
		return b.Messages[0].ID
	}
	return nil
}

// FuzzToolFilter: any answer, JSON or not, is filtered without a panic, and a tool the filter
// refuses never survives in a well-formed tools/list answer.
func FuzzToolFilter(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"cheap"},{"name":"forbidden"}]}}`))
	f.Add([]byte(`[{"id":3,"result":{"tools":[{"name":"forbidden"}]}},{"id":"3"}]`))
	f.Add([]byte(`{"id":3.0,"result":{"tools":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		filter := &ToolFilter{IDs: [][]byte{[]byte("3")}, Allow: func(n string) bool { return n != "forbidden" }}
		out := filter.Body(body)
		if !json.Valid(body) || !gjson.GetBytes(body, "result.tools").IsArray() {
			return
		}
		for _, tool := range gjson.GetBytes(out, "result.tools").Array() {
			if tool.Get("name").String() == "forbidden" && gjson.GetBytes(body, "id").Raw == "3" {
				t.Fatalf("%s\nfiltered to %s", body, out)
			}
		}
		w := EventRewriter{Rewrite: filter.Message}
		_ = w.Write(body, true)
	})
}

// FuzzEventRewriter: any stream, cut anywhere, comes out whole when nothing is rewritten.
func FuzzEventRewriter(f *testing.F) {
	f.Add([]byte("event: message\ndata: {}\n\n"), uint8(3))
	f.Add([]byte("data: a\r\n\r\ndata: b\rdata: c\r\r"), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8) {
		size := int(cut)%16 + 1
		w := EventRewriter{Rewrite: func(m []byte) []byte { return m }}
		var out []byte
		for i := 0; i < len(stream); i += size {
			out = append(out, w.Write(stream[i:min(i+size, len(stream))], false)...)
		}
		out = append(out, w.Write(nil, true)...)
		if string(out) != string(stream) {
			t.Fatalf("stream %q came out as %q", stream, out)
		}
	})
}
