package main

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
)

// keyTableConfig limits each x-user to 1 request a second with a burst of 2, tracking 32 users;
// the overflow bucket keeps the rule's rate and burst.
const keyTableConfig = `{"throttle":{"rules":[{"name":"per-user","key":"header:x-user","rate":"1/s","burst":2,"max_keys":32}]}}`

// callRecords collects the call records the filter logs, by request id.
type callRecords struct {
	mu   sync.Mutex
	byID map[string]gjson.Result
}

func (c *callRecords) onLog(e hostsim.LogEntry) {
	r := gjson.Parse(e.Message)
	if id := r.Get("request_id"); id.Exists() {
		c.mu.Lock()
		c.byID[id.Str] = r
		c.mu.Unlock()
	}
}

func startRecorded(t *testing.T, config string) (*hostsim.Host, *hostsim.VirtualClock, *callRecords) {
	t.Helper()
	vc := hostsim.NewVirtualClock(epoch)
	recs := &callRecords{byID: map[string]gjson.Result{}}
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: filterWasm(t), PluginConfig: []byte(config), Workers: 1, Clock: vc,
		PluginName: "stepgate", AllowOnHeadersStopIteration: true, OnLog: recs.onLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h, vc, recs
}

// K users each send 3 requests every 500 ms for 2 s: more than their limit. Up to max_keys users
// each get a bucket of their own and exactly burst + rate × t; beyond, the first max_keys users
// still get exactly that, the others are charged to the overflow bucket (the call record and
// the metrics say so), and all users together never get more than the table's buckets and the
// overflow bucket allow — rotating key values is no way around the limit.
func TestKeyTableThroughTheFilter(t *testing.T) {
	const maxKeys, rounds = 32, 5 // t = 0 … 2 s
	const perKey = 2 + 2          // burst + rate × 2 s
	for _, k := range []int{maxKeys / 2, maxKeys, 10 * maxKeys, 100 * maxKeys} {
		t.Run(strconv.Itoa(k), func(t *testing.T) {
			h, vc, recs := startRecorded(t, keyTableConfig)
			n := 0
			for round := 0; round < rounds; round++ {
				for u := 0; u < k; u++ {
					for j := 0; j < 3; j++ {
						n++
						sendHeaders(h, get("/v1/x", [2]string{"x-user", "u" + strconv.Itoa(u)},
							[2]string{"x-request-id", strconv.Itoa(u) + "/" + strconv.Itoa(n)}))
					}
				}
				vc.Advance(500 * time.Millisecond)
			}
			own := make([]int, k)
			var ownTotal, overflowed, overflowAdmitted int
			for id, r := range recs.byID {
				u, _ := strconv.Atoi(id[:indexByte(id, '/')])
				charged := r.Get("throttle_overflow").Str == "per-user"
				if charged {
					overflowed++
				}
				if r.Get("status").Int() != 200 {
					continue
				}
				if charged {
					overflowAdmitted++
				} else {
					own[u]++
					ownTotal++
				}
			}
			if len(recs.byID) != n {
				t.Fatalf("%d call records for %d requests", len(recs.byID), n)
			}
			for u := 0; u < k; u++ {
				if u < maxKeys && own[u] != perKey || own[u] > perKey {
					t.Errorf("user %d: %d admitted by its own bucket, want %d", u, own[u], perKey)
				}
			}
			entries := tableEntries(maxKeys)
			if ownTotal+overflowAdmitted > entries*perKey+perKey {
				t.Errorf("admitted %d in all, over the bound %d", ownTotal+overflowAdmitted, entries*perKey+perKey)
			}
			if k <= maxKeys && overflowed != 0 || k > maxKeys && overflowAdmitted != perKey {
				t.Errorf("overflow bucket: admitted %d of %d charged, want %d", overflowAdmitted, overflowed, map[bool]int{true: 0, false: perKey}[k <= maxKeys])
			}
			allow, _ := h.Metric("stepgate_throttle_overflow_total.rule.per-user.step.allow")
			reject, _ := h.Metric("stepgate_throttle_overflow_total.rule.per-user.step.reject")
			if int(allow.Value) != overflowAdmitted || int(allow.Value+reject.Value) != overflowed {
				t.Errorf("overflow metric: allow %d reject %d; records: %d admitted of %d", allow.Value, reject.Value, overflowAdmitted, overflowed)
			}
		})
	}
}

// sendHeaders runs a headers-only request; one that goes upstream is answered 200.
func sendHeaders(h *hostsim.Host, req hostsim.Headers) *hostsim.Stream {
	s := h.NewStream()
	s.SendRequestHeaders(req, true)
	if s.LocalReply() == nil && !s.Paused() {
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
	}
	return s
}

// tableEntries is the number of buckets a rule's key table holds (plugin/throttle's tableSets).
func tableEntries(maxKeys int) int { return ((2*maxKeys+7)/8 + 8) * 8 }

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}
