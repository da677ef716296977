package mockprovider

import (
	"testing"

	"github.com/tidwall/gjson"
)

func TestAnthropicCountTokens(t *testing.T) {
	const path = "/v1/messages/count_tokens"
	for _, c := range []struct {
		name, body string
		status     int
		want       string // input_tokens, or the error message
	}{
		{"count", `{"model":"claude-sonnet-4-5","system":"abcd","messages":[{"role":"user","content":"abcdefgh"}]}`, 200, "3"},
		{"max_tokens", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}]}`, 400, "max_tokens: Extra inputs are not permitted"},
		{"stream", `{"model":"m","stream":false,"messages":[{"role":"user","content":"x"}]}`, 400, "stream: Extra inputs are not permitted"},
		{"no messages", `{"model":"m"}`, 400, "messages: Field required"},
		{"bad role", `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, 400, ""},
	} {
		w := serve(t, Anthropic, post(path, c.body, hAnthropic...))
		body := w.Body.String()
		switch {
		case w.Code != c.status:
			t.Errorf("%s: %d %s", c.name, w.Code, body)
		case c.status == 200 && gjson.Get(body, "input_tokens").Raw != c.want:
			t.Errorf("%s: %s", c.name, body)
		case c.status != 200 && c.want != "" && gjson.Get(body, "error.message").Str != c.want:
			t.Errorf("%s: %s", c.name, body)
		}
	}
	if w := serve(t, Anthropic, post(path, `{"model":"m","messages":[]}`, "Content-Type: application/json")); w.Code != 401 {
		t.Errorf("no key: %d %s", w.Code, w.Body)
	}
}
