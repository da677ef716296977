package calllog

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendJSON(t *testing.T) {
	r := Record{StartUnixMs: 1700000000123, Method: "POST", Path: "/v1/chat/completions", Tenant: "acme",
		KeyID: "k1", Model: "gpt-4o", Provider: "openai", Step: "allow", Status: 200, TokensIn: 12,
		TokensOut: 34, LatencyMs: 5}
	got := string(r.AppendJSON(nil))
	want := `{"ts_ms":1700000000123,"method":"POST","path":"/v1/chat/completions","tenant":"acme","key_id":"k1",` +
		`"model":"gpt-4o","provider":"openai","step":"allow","status":200,"tokens_in":12,"tokens_out":34,"latency_ms":5}`
	if got != want {
		t.Errorf("AppendJSON =\n%s\nwant\n%s", got, want)
	}
}

func TestAppendJSONProviderRequestID(t *testing.T) {
	r := Record{StartUnixMs: 1, RequestID: "5f0c", ProviderRequestID: "req_1"}
	want := `{"ts_ms":1,"request_id":"5f0c","provider_request_id":"req_1","latency_ms":0}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("AppendJSON = %s, want %s", got, want)
	}
}

func TestAppendStringIsValidJSON(t *testing.T) {
	for _, s := range []string{"", `a"b\c`, "tab\there\nnl\x00\x1f", "é€😀", "bad\xff\xfeutf8", "\u2028"} {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, out, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Errorf("AppendString(%q) round-trips to %q", s, back)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "x", `"\`, "\xff", "\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, out, err)
		}
	})
}

func TestAppendJSONCarriesMCPFields(t *testing.T) {
	r := Record{Route: "demo", Step: "reject", MCPMethod: "tools/call", Tool: "costly", Status: 429}
	want := `{"ts_ms":0,"route":"demo","step":"reject","mcp_method":"tools/call","tool":"costly","status":429,"latency_ms":0}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("AppendJSON =\n%s\nwant\n%s", got, want)
	}
}
func TestAppendJSONWritesTheExplainingFields(t *testing.T) {
	r := Record{StartUnixMs: 1, Step: "shape", Rule: "paced", ShapeDelayMs: 100, TokensEstimated: 520,
		FirstByte: true, RequestBytes: 64, ResponseBytes: 300, Status: 200, Stream: true}
	got := string(r.AppendJSON(nil))
	want := `{"ts_ms":1,"step":"shape","status":200,"latency_ms":0,"rule":"paced","shape_delay_ms":100,` +
		`"tokens_estimated":520,"ttfb_ms":0,"request_bytes":64,"response_bytes":300,"stream":true}`
	if got != want {
		t.Errorf("AppendJSON =\n%s\nwant\n%s", got, want)
	}
}

func TestErrorType(t *testing.T) {
	tests := []struct {
		status int
		origin Origin
		want   string
	}{
		{200, FromUpstream, ""},
		{304, FromUpstream, ""},
		{0, FromUpstream, ErrGateway},
		{400, FromFilter, ErrClient},
		{413, FromFilter, ErrClient},
		{503, FromFilter, ErrGateway},
		{429, FromThrottle, ErrThrottle},
		{503, FromThrottle, ErrThrottle},
		{429, FromUpstream, ErrProvider},
		{502, FromUpstream, ErrProvider},
		{404, FromUpstream, ErrClient},
	}
	for _, tt := range tests {
		if got := ErrorType(tt.status, tt.origin); got != tt.want {
			t.Errorf("ErrorType(%d, %d) = %q, want %q", tt.status, tt.origin, got, tt.want)
		}
	}
}

func TestAppendJSONListsFailoverAttempts(t *testing.T) {
	r := Record{StartUnixMs: 1, Attempts: []Attempt{
		{Provider: "oa", Model: "gpt-4o", Status: 429, DurationMs: 3, Outcome: "failed"},
		{Provider: "an", Model: "claude", Status: 200, DurationMs: 40, Outcome: "served"},
	}}
	want := `{"ts_ms":1,"latency_ms":0,"attempts":[{"provider":"oa","model":"gpt-4o","status":429,"duration_ms":3,"outcome":"failed"},` +
		`{"provider":"an","model":"claude","status":200,"duration_ms":40,"outcome":"served"}]}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("AppendJSON =\n%s\nwant\n%s", got, want)
	}
}

func TestAppendJSONUsageEstimated(t *testing.T) {
	r := Record{StartUnixMs: 1, TokensIn: 9, UsageEstimated: true}
	want := `{"ts_ms":1,"tokens_in":9,"usage_estimated":true,"latency_ms":0}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("AppendJSON = %s, want %s", got, want)
	}
}
