package fleet

import (
	"testing"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/stepgate/stepgate/plugin/throttle"
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

// FuzzLease drives two workers through random requests, ticks and service answers (any status,
// any body): nothing panics and no lease goes negative.
func FuzzLease(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []byte(`{"statuses":[{"code":"OK","limitRemaining":3,"durationUntilReset":"2s"}]}`))
	f.Add([]byte{9, 9, 3, 3, 0}, []byte(`{"statuses":[{"code":"OVER_LIMIT"}]}`))
	f.Fuzz(func(t *testing.T, ops, body []byte) {
		doc := `{"throttle":{"rules":[{"name":"r","key":"tenant","rate":"50/s","scope":"fleet","fail":"open",
		  "fleet":{"max_block":7,"timeout":"5ms"},"steps":[{"below":"40%","action":"degrade","model":"m"}]}]}}`
		store := shareddata.NewMemory()
		w := []*Fleet{newFleet(t, doc, store), newFleet(t, doc, store)}
		now := t0
		for _, op := range ops {
			fl := w[op&1]
			now += int64(op>>4) * int64(time.Millisecond)
			switch (op >> 1) & 7 {
			case 0, 1, 2:
				fl.Decide(now, &throttle.Request{Tenant: string(rune('a' + op%3))}, 0)
			case 3:
				fl.Tick(now)
			default:
				for _, c := range fl.Calls() {
					fl.Complete(now, &c, int(op)*3, body)
				}
			}
		}
		for i := range w[0].rules {
			for s := uint32(0); s < w[0].rules[i].slots; s++ {
				v, _, _ := store.Get(w[0].rules[i].slotKey(s))
				var e entry
				if e.decode(v) == nil && e.avail < 0 {
					t.Fatalf("negative lease %+v", e)
				}
			}
		}
	})
}
