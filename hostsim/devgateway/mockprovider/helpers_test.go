package mockprovider

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fixedClock makes timestamps deterministic.
func fixedClock() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

func testOptions() Options { return Options{Clock: fixedClock} }

// testCase is one request of testdata/cases.
type testCase struct {
	Kind   Kind              `json:"kind"`
	Method string            `json:"method"`
	Path   string            `json:"path"`
	Header map[string]string `json:"header"`
	Body   json.RawMessage   `json:"body"`
}

func (tc testCase) request() *http.Request {
	var body io.Reader
	if len(tc.Body) > 0 {
		body = bytes.NewReader(tc.Body)
	}
	r := httptest.NewRequest(tc.Method, tc.Path, body)
	for k, v := range tc.Header {
		r.Header.Set(k, v)
	}
	return r
}

// serve runs one request through a fresh server of kind and returns the recorded answer.
func serve(t testing.TB, kind Kind, r *http.Request, opts ...Options) *httptest.ResponseRecorder {
	t.Helper()
	o := testOptions()
	if len(opts) > 0 {
		o = opts[0]
		if o.Clock == nil {
			o.Clock = fixedClock
		}
	}
	w := httptest.NewRecorder()
	New(kind, o).ServeHTTP(w, r)
	return w
}

// post builds a POST with the given headers ("Key: value" strings) and body.
func post(path, body string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		r.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return r
}

// Standard valid headers per provider.
var (
	hOpenAI    = []string{"Authorization: Bearer test-key", "Content-Type: application/json"}
	hAzure     = []string{"api-key: test-key", "Content-Type: application/json"}
	hAnthropic = []string{"x-api-key: test-key", "anthropic-version: 2023-06-01", "Content-Type: application/json"}
	hGemini    = []string{"x-goog-api-key: test-key", "Content-Type: application/json"}
	hOllama    = []string{"Content-Type: application/json"}
)

const (
	azurePath  = "/openai/deployments/dep/chat/completions?api-version=2024-10-21"
	geminiPath = "/v1beta/models/gemini-2.5-flash:generateContent"
)

// sseData returns the data payloads of an SSE body, in order.
func sseEvents(t testing.TB, body string) (names, data []string) {
	t.Helper()
	body = strings.ReplaceAll(body, "\r\n", "\n")
	for _, block := range strings.Split(body, "\n\n") {
		if strings.TrimSpace(block) == "" {
			continue
		}
		name := ""
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				names = append(names, name)
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}
	return names, data
}
