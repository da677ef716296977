package throttle

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The headers and bodies a glue would copy, for a few scenarios, against testdata/decisions.golden.
func TestDecisionHeadersGolden(t *testing.T) {
	section := `{"rules":[
		{"name":"tpm","unit":"llm_tokens","rate":"600/min","burst":1000},
		{"name":"rpm","rate":"60/min","burst":2,"steps":[{"below":1,"action":"degrade","model":"mini","set_headers":{"x-tier":"low"}}]},
		{"name":"quiet","rate":"1/s","burst":100,"headers":false},
		{"name":"watch","rate":"1/h","burst":1,"shadow":true}]}`
	th := newThrottler(t, section, nil)
	req := &Request{Path: "/v1/chat/completions", PromptChars: 400, MaxTokens: 100}
	var out bytes.Buffer
	for i, at := range []int64{0, 0, 500 * ms, 2 * sec} {
		d := th.Decide(at, req)
		fmt.Fprintf(&out, "== request %d at %v: %v", i+1, time.Duration(at), d.Action)
		if d.Action == Reject {
			fmt.Fprintf(&out, " %d", d.Status)
		}
		out.WriteString("\n")
		for _, h := range d.ResponseHeaders(nil) {
			fmt.Fprintf(&out, "response %s: %s\n", h.Name, h.Value)
		}
		for _, h := range d.RequestHeaders(nil) {
			fmt.Fprintf(&out, "request  %s: %s\n", h.Name, h.Value)
		}
		if b := d.Body(); b != nil {
			if !json.Valid(b) {
				t.Errorf("request %d: body is not JSON: %s", i+1, b)
			}
			fmt.Fprintf(&out, "body %s\n", b)
		}
	}
	golden(t, "decisions.golden", out.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	hostsimtest.Golden(t, filepath.Join("testdata", name), got, *update)
}

func TestRejectBodyIsOpenAIShape(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"rpm","rate":"2/min","burst":1}`), nil)
	th.Decide(0, &Request{})
	d := th.Decide(0, &Request{})
	var body struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    string  `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(d.Body(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Type != "requests" || body.Error.Code != "rate_limit_exceeded" || body.Error.Param != nil ||
		body.Error.Message != "Rate limit reached (rule 'rpm'). Retry after 30 s." {
		t.Fatalf("%+v", body.Error)
	}
	h := headerMap(d.ResponseHeaders(nil))
	if h["retry-after"] != "30" || h["ratelimit"] != `"rpm";r=0;t=30` || h["ratelimit-policy"] != `"rpm";q=1;w=30` ||
		h["x-ratelimit-limit"] != "1" || h["x-ratelimit-remaining"] != "0" || h["x-ratelimit-reset"] != "30" {
		t.Fatalf("%v", h)
	}
}

func TestApplyDegrade(t *testing.T) {
	d := Decision{Action: Degrade, Degrade: Degradation{Model: "mini", MaxTokens: 100}}
	for _, tc := range []struct{ in, want string }{
		{`{"model":"big","max_tokens":500}`, `{"model":"mini","max_tokens":100}`},
		{`{"model":"big","max_tokens":50}`, `{"model":"mini","max_tokens":50}`},
		{`{"model":"big","max_completion_tokens":500}`, `{"model":"mini","max_completion_tokens":100}`},
		{`{"model":"big"}`, `{"model":"mini","max_tokens":100}`},
		{`{"contents":[],"generationConfig":{"maxOutputTokens":4096}}`, `{"contents":[],"generationConfig":{"maxOutputTokens":100}}`},
	} {
		got, err := d.ApplyDegrade([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.in, got, err, tc.want)
		}
	}
	allow := Decision{Action: Allow, Degrade: d.Degrade}
	if got, _ := allow.ApplyDegrade([]byte(`{"model":"big"}`)); string(got) != `{"model":"big"}` {
		t.Errorf("allow rewrote the body: %s", got)
	}
}

func TestEstimateFromBody(t *testing.T) {
	for _, tc := range []struct {
		body string
		max  int64
	}{
		{`{"model":"m","max_tokens":300}`, 300},
		{`{"max_completion_tokens":200,"max_tokens":300}`, 200},
		{`{"generationConfig":{"maxOutputTokens":64}}`, 64},
		{`{"messages":[]}`, 0},
		{`not json`, 0},
	} {
		var q Request
		q.EstimateFromBody([]byte(tc.body))
		if q.PromptChars != int64(len(tc.body)) || q.MaxTokens != tc.max {
			t.Errorf("%s: %d %d", tc.body, q.PromptChars, q.MaxTokens)
		}
	}
}

func TestMatchAndKeys(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/s","burst":1,"key":"route:method:header:x-user",
		"match":{"path_prefix":["/v1/chat/","/v1/embeddings"],"methods":"POST","providers":["open*"],
		         "tenants":["acme"],"api_keys":["k1","k2"],"mcp_tools":["search"],"headers":{"x-user":"*"}}}`), nil)
	r := &th.rules[0]
	hdr := func(v string) [][2]string { return [][2]string{{"x-other", "1"}, {"x-user", v}, {"x-user", "second"}} }
	base := Request{Path: "/v1/chat/completions?x=1", Method: "POST", Provider: "openai", Tenant: "acme", KeyID: "k2", MCPTool: "search", Headers: hdr("bob")}
	if !r.matches(&base) {
		t.Fatal("base request does not match")
	}
	if k := displayKey(r.appendKey(nil, &base)); k != "/v1/chat/:POST:bob" {
		t.Fatalf("key %q", k)
	}
	for name, mutate := range map[string]func(*Request){
		"path":     func(q *Request) { q.Path = "/v2/chat" },
		"method":   func(q *Request) { q.Method = "GET" },
		"provider": func(q *Request) { q.Provider = "anthropic" },
		"tenant":   func(q *Request) { q.Tenant = "other" },
		"key":      func(q *Request) { q.KeyID = "k3" },
		"tool":     func(q *Request) { q.MCPTool = "" },
		"header":   func(q *Request) { q.Headers = hdr("") },
		"nil hdr":  func(q *Request) { q.Headers = nil },
	} {
		q := base
		mutate(&q)
		if r.matches(&q) {
			t.Errorf("%s: still matches", name)
		}
	}
	long := base
	long.Headers = hdr(string(bytes.Repeat([]byte("x"), 300)))
	key := r.appendKey(nil, &long)
	if len(key) != 33 || key[0] != 0xFF {
		t.Fatalf("long key: %d bytes", len(key))
	}
}

func TestMCPMethodMatchesAndKeys(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1/s","burst":1,"key":"mcp_method:mcp_tool",
		"match":{"mcp_methods":["tools/*"]}}`), nil)
	r := &th.rules[0]
	q := Request{MCPMethod: "tools/call", MCPTool: "search"}
	if !r.matches(&q) || displayKey(r.appendKey(nil, &q)) != "tools/call:search" {
		t.Fatalf("tools/call: matches=%v key=%q", r.matches(&q), displayKey(r.appendKey(nil, &q)))
	}
	if q.MCPMethod = "resources/read"; r.matches(&q) {
		t.Error("resources/read matches tools/*")
	}
}
