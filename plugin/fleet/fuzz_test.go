package fleet

import (
	"testing"
	"time"
)

func FuzzParseAnswer(f *testing.F) {
	f.Add(200, []byte(`{"overallCode":"OK","statuses":[{"code":"OK","currentLimit":{"requestsPerUnit":5,"unit":"SECOND"},"limitRemaining":4,"durationUntilReset":"0.500s"}]}`))
	f.Add(429, []byte(`{"overallCode":"OVER_LIMIT","statuses":[{"code":"OVER_LIMIT","durationUntilReset":"37s"}]}`))
	f.Add(500, []byte(`Internal Server Error`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		a := parseAnswer(status, body)
		if a.limit < 0 || a.remaining < 0 || a.reset < 0 || a.reset > int64(24*time.Hour) {
			t.Fatalf("%+v", a)
		}
		if !a.ok && (a.over || a.limit != 0) {
			t.Fatalf("a failed answer carries values: %+v", a)
		}
	})
}

func FuzzEntryDecode(f *testing.F) {
	e := entry{key: []byte("\x04acme"), avail: 3, block: 8, limit: 100, remaining: 50, resetAt: 7, down: true}
	f.Add(e.encode(nil))
	f.Add(emptyEntry)
	f.Fuzz(func(t *testing.T, v []byte) {
		var e entry
		if e.decode(v) != nil {
			return
		}
		back := e.encode(nil)
		var e2 entry
		if err := e2.decode(back); err != nil || string(back) != string(e.encode(nil)) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
