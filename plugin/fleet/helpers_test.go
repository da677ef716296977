package fleet

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// service is envoyproxy/ratelimit's fixed-window counting, for one limit: every call adds its
// hits to the window's count, over the limit answers OVER_LIMIT (the hits still count).
type service struct {
	limit  int64
	window time.Duration
	counts map[int64]int64
	down   bool
}

func newService(limit int64, window time.Duration) *service {
	return &service{limit: limit, window: window, counts: map[int64]int64{}}
}

func (s *service) answer(now int64, body []byte) (int, []byte) {
	if s.down {
		return 0, nil
	}
	hits := gjson.GetBytes(body, "hitsAddend").Int()
	w := now / int64(s.window)
	s.counts[w] += hits
	reset := time.Duration((w+1)*int64(s.window) - now)
	code, status, rem := "OK", 200, s.limit-s.counts[w]
	if rem < 0 {
		code, status, rem = "OVER_LIMIT", 429, 0
	}
	return status, fmt.Appendf(nil, `{"overallCode":%q,"statuses":[{"code":%q,"currentLimit":{"requestsPerUnit":%d,"unit":"MINUTE"},"limitRemaining":%d,"durationUntilReset":"%.3fs"}]}`,
		code, code, s.limit, rem, reset.Seconds())
}

// serve answers every pending call of f.
func (s *service) serve(f *Fleet, now int64) (events []Event) {
	for _, c := range f.Calls() {
		st, body := s.answer(now, c.Body)
		events = append(events, f.Complete(now, &c, st, body))
	}
	return events
}

func parseRules(t testing.TB, doc string) Config {
	t.Helper()
	root := gjson.Parse(doc)
	tc, err := throttle.ParseConfig(root.Get("throttle"), "throttle")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(root.Get("fleet"), "fleet", tc.Rules, "throttle.rules")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newFleet(t testing.TB, doc string, store shareddata.Store) *Fleet {
	t.Helper()
	f, err := New(parseRules(t, doc), store)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// decide runs a request through f, waiting for the lease the way the glue does: the service
// answers at once.
func decide(f *Fleet, s *service, now int64, q *throttle.Request) Decision {
	d := f.Decide(now, q, 0)
	for i := 0; d.Wait && i < 3; i++ {
		s.serve(f, now)
		d = f.Decide(now, q, d.WaitUntil)
	}
	return d
}

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
