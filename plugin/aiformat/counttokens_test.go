package aiformat

import (
	"testing"

	"github.com/tidwall/gjson"
)

// count_tokens goes to an Anthropic provider's own endpoint with the upstream model and no
// max_tokens; for any other provider it is answered with the estimate.
func TestRouteCountTokens(t *testing.T) {
	r := testRouter(t)
	parse := func(model string) *Request {
		req, err := r.Config().ParseRequest("POST", "/v1/messages/count_tokens", "",
			[]byte(`{"model":"`+model+`","system":"Be brief.","messages":[{"role":"user","content":"Count me"}]}`))
		if err != nil {
			t.Fatal(err.Message)
		}
		return req
	}
	req := parse("to-anthropic")
	up, err := r.RouteCountTokens(req, 0, 0)
	if err != nil || up == nil {
		t.Fatalf("anthropic: %v %v", up, err)
	}
	want := map[string]string{":path": "/v1/messages/count_tokens", ":authority": "api.anthropic.com",
		"x-api-key": "an", "anthropic-version": "2023-06-01"}
	for _, h := range up.SetHeaders {
		if w, ok := want[h[0]]; ok && w != h[1] {
			t.Errorf("%s = %q, want %q", h[0], h[1], w)
		}
		delete(want, h[0])
	}
	if len(want) > 0 {
		t.Errorf("headers not set: %v", want)
	}
	if got := string(up.Body); got != `{"model":"claude-sonnet-4-5","system":"Be brief.","messages":[{"role":"user","content":"Count me"}]}` {
		t.Errorf("body %s", got)
	}

	rt := NewResponseTranslator(req, up, 0)
	rt.Headers(200, "application/json")
	if status, out := rt.Finish([]byte(`{"input_tokens":14}`)); status != 200 || string(out) != `{"input_tokens":14}` {
		t.Errorf("count: %d %s", status, out)
	}
	rt = NewResponseTranslator(req, up, 0)
	rt.Headers(200, "application/json")
	if status, _ := rt.Finish([]byte(`{"tokens":14}`)); status != 502 || rt.Failure() == "" {
		t.Errorf("no count: %d", status)
	}
	rt = NewResponseTranslator(req, up, 0)
	rt.Headers(429, "application/json")
	e := `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`
	if status, out := rt.Finish([]byte(e)); status != 429 || string(out) != e {
		t.Errorf("error: %d %s", status, out)
	}

	if up, err := r.RouteCountTokens(parse("to-openai"), 0, 0); up != nil || err != nil {
		t.Errorf("openai: %v %v, want the estimate", up, err)
	}
	if _, err := r.RouteCountTokens(parse("nope"), 0, 0); err == nil || err.Status != 404 ||
		gjson.GetBytes(err.Body, "error.type").Str != "not_found_error" {
		t.Errorf("unknown model: %+v", err)
	}
}
