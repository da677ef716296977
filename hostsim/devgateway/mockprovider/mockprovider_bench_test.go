package mockprovider

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkServe measures one validated request and its answer per provider (in process, no
// network): the mock must stay cheap next to the gateway it tests.
func BenchmarkServe(b *testing.B) {
	seen := map[string]bool{}
	for _, sc := range streamCases() {
		streamPath := sc.streamPath
		if streamPath == "" {
			streamPath = sc.path
		}
		for _, v := range []struct{ name, path, body string }{
			{string(sc.kind) + "/json", sc.path, sc.body},
			{string(sc.kind) + "/stream", streamPath, sc.streamBody},
		} {
			name := v.name
			if seen[name] && v.path == sc.path {
				continue // the same JSON request as before
			}
			if seen[name] {
				name += "-array" // Gemini's streamGenerateContent without alt=sse
			}
			seen[name] = true
			b.Run(name, func(b *testing.B) {
				s := New(sc.kind, testOptions())
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					s.ServeHTTP(w, post(v.path, v.body, sc.headers...))
					if w.Code != 200 {
						b.Fatalf("status %d", w.Code)
					}
					s.ResetRequests()
				}
			})
		}
	}
}
