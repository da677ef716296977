package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// A client key sent through every credential channel of every dialect, to every kind of
// provider, streamed and not, appears nowhere: not upstream (headers, path, query, body), not in
// the call records or any other log line, not in the metrics, not on any admin endpoint. The
// provider keys of the configuration do not show on the admin endpoints either.
func TestClientKeyAppearsNowhere(t *testing.T) {
	needsInProcess(t, "the gateway's logs and mocks")
	const key = clientKey // the demo consumer's key, which the example configuration accepts: found anywhere means leaked
	var logMu sync.Mutex
	var logs strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gw, err := devgateway.Start(ctx, devgateway.Config{
		Module: filterWasm(t), PluginConfig: exampleConfig(t), Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
		Workers: 2, Mock: true, AllowOnHeadersStopIteration: true,
		Logf: func(format string, args ...any) {
			logMu.Lock()
			fmt.Fprintf(&logs, format+"\n", args...)
			logMu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()

	channels := [][2]string{
		{"Authorization", "Bearer " + key}, {"authorization", "Bearer " + key}, {"X-Api-Key", key}, {"x-api-key", key},
		{"Api-Key", key}, {"X-Goog-Api-Key", key}, {"Cookie", "session=" + key}, {"Proxy-Authorization", "Bearer " + key},
	}
	models := []string{"gpt-4o-mini", "gpt-4o", "claude-sonnet-4", "gemini-2.0-flash", "llama3.2", "claude-3-haiku"}
	sent := 0
	for _, model := range models {
		for _, stream := range []bool{false, true} {
			st := map[bool]string{false: "false", true: "true"}[stream]
			chat := `"messages":[{"role":"user","content":"hi"}],"stream":` + st
			gemPath := "/v1beta/models/" + model + ":generateContent?key=" + key
			if stream {
				gemPath = "/v1beta/models/" + model + ":streamGenerateContent?alt=sse&key=" + key
			}
			for _, r := range []struct{ path, body string }{
				{"/v1/chat/completions?key=" + key, `{"model":"` + model + `",` + chat + `}`},
				{"/v1/messages?key=" + key, `{"model":"` + model + `","max_tokens":20,` + chat + `}`},
				{gemPath, `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
			} {
				req, _ := http.NewRequest("POST", gw.URL()+r.path, strings.NewReader(r.body))
				req.Header.Set("content-type", "application/json")
				for _, kv := range channels {
					req.Header[kv[0]] = append(req.Header[kv[0]], kv[1]) // as sent: repeated, any case
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", r.path, model, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("%s %s: %d %s", r.path, model, resp.StatusCode, b)
				}
				if strings.Contains(string(b), key) {
					t.Errorf("%s %s: the answer echoes the key", r.path, model)
				}
				sent++
			}
		}
	}

	leak := func(where, s string) {
		if strings.Contains(s, key) {
			i := strings.Index(s, key)
			t.Errorf("the client key appears in %s: …%s…", where, s[max(0, i-80):min(len(s), i+len(key)+20)])
		}
	}
	upstream := 0
	for _, kind := range []mockprovider.Kind{mockprovider.OpenAI, mockprovider.Azure, mockprovider.Anthropic, mockprovider.Gemini, mockprovider.Ollama, mockprovider.Bedrock} {
		for _, r := range gw.Mock().Server(kind).Requests() {
			upstream++
			leak(string(kind)+" request path", r.Path+"?"+r.Query)
			leak(string(kind)+" request body", string(r.Body))
			for name, vs := range r.Header {
				leak(string(kind)+" request header "+name, strings.Join(vs, ", "))
			}
			if r.Header.Get("Cookie") != "" || r.Header.Get("Proxy-Authorization") != "" {
				t.Errorf("%s request carries session headers: %v", kind, r.Header)
			}
		}
	}
	if upstream != sent {
		t.Errorf("%d requests reached the mocks, want %d", upstream, sent)
	}
	records := 0
	for _, e := range gw.Host().Logs() {
		if strings.Contains(e.Message, `"ts_ms"`) {
			records++
		}
		leak("the plugin's log", e.Message)
	}
	if records < sent {
		t.Errorf("%d call records for %d calls", records, sent)
	}
	for _, m := range gw.Metrics() {
		leak("metric names", m.Name)
	}
	providerKeys := allProviderKeys(exampleConfig(t))
	for _, path := range []string{"/", "/ready", "/stats", "/stats?format=json", "/stats/prometheus", "/config", "/clusters"} {
		resp, err := http.Get(gw.AdminURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		leak("admin "+path, string(b))
		for _, pk := range providerKeys {
			if strings.Contains(string(b), pk) {
				t.Errorf("admin %s shows the provider key %s", path, pk)
			}
		}
	}
	logMu.Lock()
	leak("the gateway's log output", logs.String())
	logMu.Unlock()
}
