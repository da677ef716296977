package mockprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func control(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
	return w
}

func TestControlFaults(t *testing.T) {
	s := New(OpenAI, testOptions())
	if w := control(t, s, "GET", "/__mock/health", ""); w.Code != 200 || w.Body.String() != `{"status":"ok"}` {
		t.Errorf("health: %d %s", w.Code, w.Body)
	}
	if w := control(t, s, "POST", "/__mock/faults", `{"count":2,"spec":"429-retry-1"}`); w.Code != 200 || w.Body.String() != `{"queued":2}` {
		t.Fatalf("queue: %d %s", w.Code, w.Body)
	}
	if w := control(t, s, "POST", "/__mock/faults", `{"status":503,"delay_ms":1}`); w.Code != 200 {
		t.Fatalf("queue: %d %s", w.Code, w.Body)
	}
	for i, want := range []int{429, 429, 503, 200} {
		w := serve(t, OpenAI, validRequest(OpenAI, "m")) // a fresh server: must stay 200
		if w.Code != 200 {
			t.Fatalf("fresh server answered %d", w.Code)
		}
		w = httptest.NewRecorder()
		s.ServeHTTP(w, validRequest(OpenAI, "m"))
		if w.Code != want {
			t.Errorf("request %d: status %d, want %d", i, w.Code, want)
		}
	}
	control(t, s, "POST", "/__mock/faults", `{"spec":"500","count":5}`)
	if w := control(t, s, "DELETE", "/__mock/faults", ""); w.Code != 204 || s.PendingFaults() != 0 {
		t.Errorf("clear: %d, %d pending", w.Code, s.PendingFaults())
	}
	for _, bad := range []string{`{"spec":"sometimes"}`, `{}`, `{"status":200}`, `{"count":1,"bogus":true}`, `{"kind":"gemini","spec":"500"}`} {
		if w := control(t, s, "POST", "/__mock/faults", bad); w.Code != 400 {
			t.Errorf("%s: status %d", bad, w.Code)
		}
	}
	if w := control(t, s, "GET", "/__mock/nothing", ""); w.Code != 404 {
		t.Errorf("unknown control endpoint: %d", w.Code)
	}
}

func TestControlRequests(t *testing.T) {
	s := New(Anthropic, testOptions())
	s.ServeHTTP(httptest.NewRecorder(), validRequest(Anthropic, "claude"))
	s.ServeHTTP(httptest.NewRecorder(), post("/v1/messages", `{"bad":1}`, hAnthropic...))
	control(t, s, "GET", "/__mock/health", "") // control calls are not recorded
	w := control(t, s, "GET", "/__mock/requests", "")
	var got []Request
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != Anthropic || got[0].Method != "POST" || got[0].Path != "/v1/messages" ||
		got[0].Header.Get("X-Api-Key") != "test-key" || !strings.Contains(string(got[0].Body), `"model":"claude"`) ||
		string(got[1].Body) != `{"bad":1}` || got[1].Seq != 2 {
		t.Errorf("requests %s", w.Body)
	}
	if last, ok := s.LastRequest(); !ok || string(last.Body) != `{"bad":1}` {
		t.Errorf("last %+v", last)
	}
	var body map[string]any
	if err := got[0].Decode(&body); err != nil || body["max_tokens"] != float64(50) {
		t.Errorf("decode: %v %v", body, err)
	}
	control(t, s, "DELETE", "/__mock/requests", "")
	if len(s.Requests()) != 0 {
		t.Error("requests not reset")
	}
}

func TestMuxRouting(t *testing.T) {
	m := NewMux(testOptions())
	for _, tc := range []struct {
		name string
		req  *http.Request
		kind Kind
		path string
	}{
		{"openai", validRequest(OpenAI, "gpt-4o"), OpenAI, "/v1/chat/completions"},
		{"azure", validRequest(Azure, "dep"), Azure, "/openai/deployments/dep/chat/completions"},
		{"anthropic", validRequest(Anthropic, "claude"), Anthropic, "/v1/messages"},
		{"gemini", validRequest(Gemini, "gemini-2.5-flash"), Gemini, "/v1beta/models/gemini-2.5-flash:generateContent"},
		{"ollama", validRequest(Ollama, "llama3.2"), Ollama, "/api/chat"},
		{"openai prefix", post("/openai/v1/chat/completions", `{"model":"m","messages":`+okUser+`}`, hOpenAI...), OpenAI, "/v1/chat/completions"},
		{"anthropic prefix", post("/anthropic/v1/messages", `{"model":"m","max_tokens":5,"messages":`+okUser+`}`, hAnthropic...), Anthropic, "/v1/messages"},
		{"ollama prefix", post("/ollama/api/chat", `{"model":"m","stream":false,"messages":`+okUser+`}`, hOllama...), Ollama, "/api/chat"},
		{"openai models", withHeader(httptest.NewRequest("GET", "/v1/models", nil), "Authorization", "Bearer test-key"), OpenAI, "/v1/models"},
		{"anthropic models", withHeader(withHeader(httptest.NewRequest("GET", "/v1/models", nil), "X-Api-Key", "test-key"),
			"Anthropic-Version", "2023-06-01"), Anthropic, "/v1/models"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			m.ServeHTTP(w, tc.req)
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			last, ok := m.Server(tc.kind).LastRequest()
			if !ok || last.Path != tc.path {
				t.Errorf("%s got %+v", tc.kind, last)
			}
		})
	}
	if w := control(t, m, "GET", "/nowhere", ""); w.Code != 404 {
		t.Errorf("unknown path: %d", w.Code)
	}
	// Control endpoints act on every provider, or on the one named.
	control(t, m, "POST", "/__mock/faults", `{"kind":"gemini","spec":"503"}`)
	if m.Server(Gemini).PendingFaults() != 1 || m.Server(OpenAI).PendingFaults() != 0 {
		t.Error("kind-scoped fault queued elsewhere")
	}
	control(t, m, "POST", "/__mock/faults", `{"spec":"500"}`)
	for _, k := range Kinds() {
		if m.Server(k).PendingFaults() == 0 {
			t.Errorf("%s: no fault queued", k)
		}
	}
	var reqs []Request
	_ = json.Unmarshal(control(t, m, "GET", "/__mock/requests?kind=ollama", "").Body.Bytes(), &reqs)
	if len(reqs) != 2 {
		t.Errorf("ollama requests: %d", len(reqs))
	}
}

// TestConcurrency hammers one Mux from many goroutines: every queued fault is served exactly
// once and every request is recorded. Run it with -race.
func TestConcurrency(t *testing.T) {
	m, url := StartMux(t, testOptions())
	const workers, each, faults = 8, 12, 10
	m.FailNext(faults, Fault{Status: 503})
	var mu sync.Mutex
	status := map[Kind]map[int]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				kind := Kinds()[(w+i)%len(Kinds())]
				res, err := doRealErr(url, validRequest(kind, fmt.Sprintf("m%d", i)))
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				mu.Lock()
				if status[kind] == nil {
					status[kind] = map[int]int{}
				}
				status[kind][res.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, k := range Kinds() {
		n := len(m.Server(k).Requests())
		total += n
		if failed := status[k][503]; failed != min(faults, n) || status[k][200] != n-failed {
			t.Errorf("%s: %d requests, statuses %v", k, n, status[k])
		}
	}
	if total != workers*each {
		t.Errorf("recorded %d requests, want %d", total, workers*each)
	}
}
