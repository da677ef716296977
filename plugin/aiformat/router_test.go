package aiformat

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/tidwall/gjson"
)

const weightedConfig = `{
  "providers": {
    "p1": {"type": "openai", "cluster": "c1", "api_keys": ["k1", "k2", "k3"]},
    "p2": {"type": "anthropic", "cluster": "c2", "api_key": "ak"},
    "p3": {"type": "gemini", "cluster": "c3", "api_key": "gk"}
  },
  "models": {
    "routes": {"m": [{"provider": "p1", "model": "gpt", "weight": 3}, {"provider": "p2", "model": "claude", "weight": 1}, {"provider": "p3", "model": "gem", "weight": 0}]},
    "cooldown_ms": 1000,
    "failures_to_trip": 2
  }
}`

func weightedRouter(t *testing.T) (*Router, *shareddata.Memory) {
	t.Helper()
	cfg, err := ParseConfig(gjson.Parse(weightedConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	store := shareddata.NewMemory()
	return NewRouter(cfg, store), store
}

func chatRequest(t *testing.T, r *Router, model string) *Request {
	t.Helper()
	req, err := r.Config().ParseRequest("POST", "/v1/chat/completions", "", []byte(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err.Message)
	}
	return req
}

func TestRouteWeights(t *testing.T) {
	r, _ := weightedRouter(t)
	req := chatRequest(t, r, "m")
	count := map[string]int{}
	for rnd := uint32(0); rnd < 400; rnd++ {
		up, err := r.Route(req, 0, rnd)
		if err != nil {
			t.Fatal(err.Message)
		}
		count[up.Provider.Name]++
	}
	if count["p1"] != 300 || count["p2"] != 100 || count["p3"] != 0 {
		t.Errorf("weighted choice: %v", count)
	}
}

func TestRouteKeyRotationAndHeaders(t *testing.T) {
	r, _ := weightedRouter(t)
	req := chatRequest(t, r, "m")
	var keys []string
	for i := 0; i < 4; i++ {
		up, _ := r.Route(req, 0, 0) // rnd 0: p1
		h := map[string]string{}
		for _, kv := range up.SetHeaders {
			h[kv[0]] = kv[1]
		}
		keys = append(keys, h["authorization"])
		if h[":path"] != "/v1/chat/completions" || h[":authority"] != "api.openai.com" || h[ClusterHeader] != "c1" || h["content-type"] != "application/json" {
			t.Fatalf("headers: %v", h)
		}
		rm := strings.Join(up.RemoveHeaders, ",")
		// authorization too: removed (every client value), then set to the provider's key.
		for _, cred := range []string{"authorization", "x-api-key", "api-key", "x-goog-api-key", "content-length",
			"accept-encoding", "cookie", "proxy-authorization"} {
			if !strings.Contains(rm, cred) {
				t.Errorf("%s not removed: %s", cred, rm)
			}
		}
	}
	if strings.Join(keys, ",") != "Bearer k1,Bearer k2,Bearer k3,Bearer k1" {
		t.Errorf("rotation: %v", keys)
	}
	up, _ := r.Route(req, 0, 3) // p2: anthropic
	h := map[string]string{}
	for _, kv := range up.SetHeaders {
		h[kv[0]] = kv[1]
	}
	if h["x-api-key"] != "ak" || h["anthropic-version"] != "2023-06-01" || h[":path"] != "/v1/messages" || !strings.Contains(strings.Join(up.RemoveHeaders, ","), "authorization") {
		t.Errorf("anthropic headers: %v remove %v", h, up.RemoveHeaders)
	}
}

func TestBreaker(t *testing.T) {
	r, store := weightedRouter(t)
	req := chatRequest(t, r, "m")
	const sec = int64(1e9)
	up, _ := r.Route(req, 0, 0)
	if up.Provider.Name != "p1" {
		t.Fatal("rnd 0 must pick p1")
	}
	r.Report(up, 500, 10*sec) // one failure: below failures_to_trip
	if up2, _ := r.Route(req, 10*sec, 0); up2.Provider.Name != "p1" {
		t.Fatal("tripped after one failure")
	}
	r.Report(up, 429, 10*sec) // second: trips for 1 s
	for rnd := uint32(0); rnd < 8; rnd++ {
		if up2, _ := r.Route(req, 10*sec+sec/2, rnd); up2.Provider.Name != "p2" {
			t.Fatalf("rnd %d: cooling backend chosen: %s", rnd, up2.Provider.Name)
		}
	}
	back, _ := r.Route(req, 11*sec+1, 0) // cool-down over
	if back.Provider.Name != "p1" {
		t.Fatal("backend not back after cool-down")
	}
	r.Report(back, 200, 11*sec+1) // success clears
	if v, _, err := store.Get(back.backend.breakerKey); err != nil || len(v) != 12 || string(v) != string(make([]byte, 12)) {
		t.Fatalf("state not cleared: %v %v", v, err)
	}
	// Every backend cooling: fail open to the one whose cool-down ends first.
	p2, _ := r.Route(req, 0, 3)
	r.Report(back, 503, 20*sec)
	r.Report(back, 503, 20*sec)
	r.Report(p2, 503, 20*sec+5)
	r.Report(p2, 503, 20*sec+5)
	if got, _ := r.Route(req, 20*sec+10, 3); got.Provider.Name != "p1" {
		t.Errorf("fail-open picked %s, want p1 (cools down first)", got.Provider.Name)
	}
}

func TestBreakerSharedAcrossRouters(t *testing.T) {
	cfg, _ := ParseConfig(gjson.Parse(weightedConfig), "")
	store := shareddata.NewMemory()
	vm1, vm2 := NewRouter(cfg, store), NewRouter(cfg, store)
	req := chatRequest(t, vm1, "m")
	up, _ := vm1.Route(req, 0, 0)
	vm1.Report(up, 500, 0)
	vm1.Report(up, 500, 0)
	if got, _ := vm2.Route(req, 1, 0); got.Provider.Name != "p2" {
		t.Errorf("second VM did not see the trip: %s", got.Provider.Name)
	}
}

func TestRequestErrors(t *testing.T) {
	r := testRouter(t)
	cfg := r.Config()
	cfg.MaxBodyBytes = 4096
	cases := []struct {
		name, path, body string
		status           int
		want             string // in the message
		dialectPath      string // gjson path of the message in the dialect's error body
	}{
		{"malformed", "/v1/chat/completions", `{"model":`, 400, "not valid JSON", "error.message"},
		{"not object", "/v1/chat/completions", `[1,2]`, 400, "must be a JSON object", "error.message"},
		{"no messages", "/v1/chat/completions", `{"model":"to-openai"}`, 400, "messages: required", "error.message"},
		{"empty messages", "/v1/chat/completions", `{"model":"to-openai","messages":[]}`, 400, "messages: required", "error.message"},
		{"bad role", "/v1/chat/completions", `{"model":"to-openai","messages":[{"role":"robot","content":"x"}]}`, 400, `messages[0].role: unknown role "robot"`, "error.message"},
		{"bad content", "/v1/chat/completions", `{"model":"to-openai","messages":[{"role":"user","content":5}]}`, 400, "messages[0].content: must be", "error.message"},
		{"bad part", "/v1/chat/completions", `{"model":"to-openai","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, 400, "messages[0].content[0].text: must be a string", "error.message"},
		{"bad temperature", "/v1/chat/completions", `{"model":"to-openai","temperature":"hot","messages":[{"role":"user","content":"x"}]}`, 400, "temperature: must be a number", "error.message"},
		{"bad stream", "/v1/chat/completions", `{"model":"to-openai","stream":"yes","messages":[{"role":"user","content":"x"}]}`, 400, "stream: must be a boolean", "error.message"},
		{"model type", "/v1/chat/completions", `{"model":7,"messages":[{"role":"user","content":"x"}]}`, 400, "model: must be a non-empty string", "error.message"},
		{"too large", "/v1/chat/completions", `{"model":"to-openai","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`, 413, "over the limit of 4096", "error.message"},
		{"anthropic malformed", "/v1/messages", `{`, 400, "not valid JSON", "error.message"},
		{"anthropic no messages", "/v1/messages", `{"model":"to-openai","max_tokens":5}`, 400, "messages: required", "error.message"},
		{"anthropic bad block", "/v1/messages", `{"model":"to-openai","messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}`, 400, `messages[0].content[0].type: unsupported content block "document"`, "error.message"},
		{"anthropic server tool", "/v1/messages", `{"model":"to-openai","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, 400, "tools[0].type: server tool", "error.message"},
		{"gemini no contents", "/v1beta/models/to-openai:generateContent", `{}`, 400, "contents: required", "error.message"},
		{"gemini no alt", "/v1beta/models/to-openai:streamGenerateContent", `{"contents":[{"parts":[{"text":"x"}]}]}`, 400, "alt=sse", "error.message"},
		{"gemini bad part", "/v1beta/models/to-openai:generateContent", `{"contents":[{"parts":[{"executableCode":{}}]}]}`, 400, "contents[0].parts[0]: unsupported part", "error.message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := cfg.ParseRequest("POST", c.path, "", []byte(c.body))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := gjson.GetBytes(err.Body, c.dialectPath).Str
			if err.Status != c.status || !strings.Contains(msg, c.want) {
				t.Fatalf("got %d %s, want %d containing %q", err.Status, err.Body, c.status, c.want)
			}
			d, _ := Match("POST", c.path)
			switch d {
			case DialectAnthropic:
				if gjson.GetBytes(err.Body, "type").Str != "error" || gjson.GetBytes(err.Body, "error.type").Str == "" {
					t.Errorf("not an Anthropic error: %s", err.Body)
				}
			case DialectGemini:
				if gjson.GetBytes(err.Body, "error.status").Str == "" || gjson.GetBytes(err.Body, "error.code").Int() != int64(c.status) {
					t.Errorf("not a Gemini error: %s", err.Body)
				}
			}
		})
	}
}

func TestUnknownModel(t *testing.T) {
	cfg, _ := ParseConfig(gjson.Parse(`{"providers": {"x": {"type": "openai", "cluster": "c", "api_key": "k"}}, "models": {"routes": {"a": "x"}}}`), "")
	r := NewRouter(cfg, nil)
	for _, c := range []struct{ path, body, errType string }{
		{"/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, "error.type"},
		{"/v1/messages", `{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, "error.type"},
		{"/v1beta/models/nope:generateContent", `{"contents":[{"parts":[{"text":"x"}]}]}`, "error.status"},
	} {
		req, perr := cfg.ParseRequest("POST", c.path, "", []byte(c.body))
		if perr != nil {
			t.Fatal(perr.Message)
		}
		_, err := r.Route(req, 0, 0)
		if err == nil || err.Status != 404 || !strings.Contains(err.Message, `model "nope" is not available`) {
			t.Fatalf("%s: %+v", c.path, err)
		}
		if typ := gjson.GetBytes(err.Body, c.errType).Str; typ != "not_found_error" && typ != "NOT_FOUND" &&
			(typ != "invalid_request_error" || gjson.GetBytes(err.Body, "error.code").Str != "model_not_found") {
			t.Errorf("%s: error type %q in %s", c.path, typ, err.Body)
		}
	}
}

func TestParseRequestView(t *testing.T) {
	r := testRouter(t)
	req, err := r.Config().ParseRequest("POST", "/v1/messages", "", []byte(`{"model":"to-openai","max_tokens":77,"stream":true,"system":"abcd","messages":[{"role":"user","content":"12345678"}]}`))
	if err != nil {
		t.Fatal(err.Message)
	}
	if req.Dialect != DialectAnthropic || req.Model != "to-openai" || !req.Stream || !req.WantsUsage || req.MaxTokens != 77 || req.View.PromptChars != 12 {
		t.Errorf("view: %+v", req)
	}
	req.SetMaxTokens(10)
	req.SetModel("to-anthropic")
	up, rerr := r.Route(req, 0, 0)
	if rerr != nil {
		t.Fatal(rerr.Message)
	}
	if b := gjson.ParseBytes(up.Body); b.Get("max_tokens").Int() != 10 || b.Get("model").Str != "claude-sonnet-4-5" || up.Path != "/v1/messages" {
		t.Errorf("degraded passthrough: %s %s", up.Path, up.Body)
	}
	req.SetModel("to-gemini")
	up, _ = r.Route(req, 0, 0)
	if b := gjson.ParseBytes(up.Body); b.Get("generationConfig.maxOutputTokens").Int() != 10 || !strings.HasSuffix(up.Path, ":streamGenerateContent?alt=sse") {
		t.Errorf("degraded gemini: %s %s", up.Path, up.Body)
	}
	if d, ep := Match("GET", "/v1/models"); d != DialectOpenAI || ep != EndpointModels {
		t.Error("models endpoint")
	}
	if _, ep := Match("GET", "/healthz"); ep != EndpointNone {
		t.Error("healthz is not ours")
	}
}

// TestSharedConfigConcurrently runs requests of several dialects through one Config from many
// goroutines (one Router each, as one VM each): the parsed-body cache ParseRequest and Route
// share must never hand one index to two callers. Run with -race.
func TestSharedConfigConcurrently(t *testing.T) {
	cfg := testRouter(t).Config()
	type job struct {
		path string
		body []byte
		want string
	}
	var jobs []job
	for _, d := range []Dialect{DialectOpenAI, DialectAnthropic, DialectGemini} {
		for _, model := range []string{"to-openai", "to-anthropic", "to-gemini"} {
			path, body := benchBody(d, 600)
			path = strings.Replace(path, "MODEL", model, 1)
			body = []byte(strings.Replace(string(body), "MODEL", model, 1))
			r := NewRouter(cfg, nil)
			req, perr := cfg.ParseRequest("POST", path, "", body)
			if perr != nil {
				t.Fatal(perr.Message)
			}
			up, rerr := r.Route(req, 0, 0)
			if rerr != nil {
				t.Fatal(rerr.Message)
			}
			jobs = append(jobs, job{path, body, string(up.Body)})
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := NewRouter(cfg, nil)
			for i := 0; i < 50; i++ {
				j := jobs[(g+i)%len(jobs)]
				req, perr := cfg.ParseRequest("POST", j.path, "", j.body)
				if perr != nil {
					t.Error(perr.Message)
					return
				}
				up, rerr := r.Route(req, 0, 0)
				if rerr != nil || string(up.Body) != j.want {
					t.Errorf("%s: concurrent translation differs", j.path)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// An Anthropic client that leaves out max_tokens (Anthropic's API answers 400) is served: the
// provider's default_max_tokens fills it for an Anthropic upstream, and other upstreams get no cap.
func TestAnthropicRequestWithoutMaxTokens(t *testing.T) {
	r := testRouter(t)
	for model, want := range map[string]string{"to-anthropic": "1024", "to-openai": ""} {
		req, perr := r.Config().ParseRequest("POST", "/v1/messages", "", []byte(`{"model":"`+model+`","messages":[{"role":"user","content":"x"}]}`))
		if perr != nil {
			t.Fatalf("%s: %s", model, perr.Body)
		}
		up, err := r.Route(req, 0, 0)
		if err != nil {
			t.Fatalf("%s: %s", model, err.Body)
		}
		got := gjson.GetBytes(up.Body, "max_tokens").Raw
		if got == "" {
			got = gjson.GetBytes(up.Body, "max_completion_tokens").Raw
		}
		if got != want {
			t.Errorf("%s: max tokens %q upstream, want %q: %s", model, got, want, up.Body)
		}
	}
}

// A body given back with Recycle is the storage of the next one, which comes out the same as
// from a fresh router; the client's own text is never taken.
func TestRecycledBodyIsTheNextOnesStorage(t *testing.T) {
	r, fresh := testRouter(t), testRouter(t)
	route := func(r *Router, model, text string) (*Request, *Upstream) {
		t.Helper()
		path, body := benchBody(DialectOpenAI, 1<<10)
		body = []byte(strings.NewReplacer("MODEL", model, "quick", text).Replace(string(body)))
		req, err := r.Config().ParseRequest("POST", path, "", body)
		if err != nil {
			t.Fatal(err.Message)
		}
		up, err := r.Route(req, 0, 0)
		if err != nil {
			t.Fatal(err.Message)
		}
		return req, up
	}
	_, first := route(r, "to-anthropic", "quick")
	storage := unsafe.SliceData(first.Body)
	r.Recycle(first)
	if first.Body != nil {
		t.Fatal("Recycle left the body in the upstream")
	}
	_, second := route(r, "to-gemini", "slow")
	if unsafe.SliceData(second.Body) != storage {
		t.Error("the second body did not reuse the recycled storage")
	}
	if _, want := route(fresh, "to-gemini", "slow"); !bytes.Equal(second.Body, want.Body) {
		t.Errorf("body in recycled storage:\n%s\nwant\n%s", second.Body, want.Body)
	}

	// OpenAI to OpenAI rewrites the client's body into the router's storage, never in place.
	req, same := route(r, "to-openai", "quick")
	if !same.ownBody || overlaps(same.Body, req.Body) {
		t.Fatal("an OpenAI-to-OpenAI body is not the router's own storage")
	}
	r.Recycle(same)
	if _, again := route(r, "to-openai", "quick"); overlaps(again.Body, req.Body) {
		t.Fatal("a routed body shares the previous client's text")
	}
}

func TestOverlaps(t *testing.T) {
	buf := make([]byte, 10)
	for _, tc := range []struct {
		a, b []byte
		want bool
	}{
		{buf[:4], buf[3:], true},
		{buf[:3:3], buf[3:], false},
		{buf[:3], buf[3:], true},   // appending to the first would write into the second
		{buf[2:2], buf[:10], true}, // same storage: its capacity reaches on
		{buf, make([]byte, 10), false},
		{nil, buf, false},
	} {
		if got := overlaps(tc.a, tc.b); got != tc.want {
			t.Errorf("overlaps(buf[%d:], buf[%d:]) = %v", cap(buf)-cap(tc.a), cap(buf)-cap(tc.b), got)
		}
	}
}
