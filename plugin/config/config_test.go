package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDefaults(t *testing.T) {
	for _, in := range []string{"", "  \n", "{}"} {
		cfg, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("Parse(%q) = %+v, want defaults %+v", in, *cfg, *Default())
		}
	}
}

func TestParseValues(t *testing.T) {
	cfg, err := Parse([]byte(`{"log":{"level":"debug","access_log":false},
		"limits":{"max_request_body_bytes":2048},"response_headers":{"version":false}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Log: Log{Level: 1}, Limits: Limits{MaxRequestBodyBytes: 2048}}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got %+v, want %+v", *cfg, want)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"log":{"level":"loud"}}`, `log.level: unknown level "loud"`},
		{`{"log":{"level":3}}`, `log.level: unknown level 3`},
		{`{"log":{"acces_log":true}}`, `log.acces_log: unknown field`},
		{`{"log":{"access_log":"yes"}}`, `log.access_log: must be true or false, got "yes"`},
		{`{"log":[]}`, `log: must be an object, got []`},
		{`{"limits":{"max_request_body_bytes":0}}`, `limits.max_request_body_bytes: must be a whole number ≥ 1, got 0`},
		{`{"limits":{"max_request_body_bytes":1.5}}`, `limits.max_request_body_bytes: must be a whole number ≥ 1, got 1.5`},
		{`{"response_headers":{"version":1}}`, `response_headers.version: must be true or false, got 1`},
		{`{"throtle":{}}`, `throtle: unknown field`},
		{`[1,2]`, `configuration: must be a JSON object`},
		{`{"throttle":{"rules":[{"name":"r","rate":"0/s","burst":1}]}}`, `throttle.rules[0].rate`},
		{`{"providers":{"p":{"type":"nope"}}}`, `providers.p.type`},
		{`{"log":`, `configuration: invalid JSON at line 1, column 7 (byte 7)`},
		{"{\n  \"log\": {\"level\": \"info\",}\n}", `configuration: invalid JSON at line 2, column 27 (byte 29): invalid character '}'`},
		{"{\"a\":\"é\", x}", `configuration: invalid JSON at line 1, column 11 (byte 12)`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Parse(%s) error = %v, want prefix %q", tt.in, err, tt.want)
		}
	}
}

func TestParseSections(t *testing.T) {
	cfg, err := Parse([]byte(`{
		"throttle": {"rules": [{"name": "rps", "rate": "10/s", "burst": 5}]},
		"providers": {"oa": {"type": "openai", "cluster": "openai", "api_keys": ["sk-1"]}},
		"models": {"routes": {"gpt-4o": "oa/gpt-4o"}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Throttle.Rules) != 1 || cfg.Throttle.Rules[0].Name != "rps" {
		t.Errorf("throttle rules = %+v, want one rule named rps", cfg.Throttle.Rules)
	}
	if cfg.AI == nil || len(cfg.AI.Providers) != 1 {
		t.Errorf("AI config = %+v, want one provider", cfg.AI)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"log":{"level":"info"}}`, `{"limits":{"max_request_body_bytes":1e99}}`, `{"log":`, `[`, `"x"`,
		`{"providers":{"o":{"type":"openai","cluster":"c","api_key":"k"}},"models":{"routes":{"a":"o","b":"o/x","c*":"o"},` +
			`"fallbacks":{"a":["b"],"b":["a"],"c*":["a","b"]},"fallback_attempts":3,"fallback_deadline_ms":100}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v: want exactly one of config and error", data, cfg, err)
		}
	})
}
