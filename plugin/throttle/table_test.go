package throttle

import (
	"testing"
)

// tableRun sends `per` requests for each of k keys every `every` ns from 0 to end, on a rule of
// 1 token a second with a burst of 2 and its default overflow bucket, and counts what each key's
// own bucket and the overflow bucket admitted.
type tableRun struct {
	th       *Throttler
	own      map[string]int64 // admitted by the key's own bucket
	overflow int64            // admitted by the overflow bucket
	charged  int64            // decisions made by the overflow bucket
}

func runTable(t testing.TB, maxKeys, k, per int, every, end int64) *tableRun {
	t.Helper()
	tr := &tableRun{th: newThrottler(t, oneRule(`{"name":"k","key":"tenant","rate":"1/s","burst":2,"max_keys":`+
		itoa(int64(maxKeys))+`}`), nil), own: map[string]int64{}}
	for now := int64(0); now <= end; now += every {
		for i := 0; i < k; i++ {
			tenant := "tenant-" + itoa(int64(i))
			for j := 0; j < per; j++ {
				tr.decide(t, now, tenant)
			}
		}
	}
	return tr
}

func (tr *tableRun) decide(t testing.TB, now int64, tenant string) {
	d := tr.th.Decide(now, &Request{Tenant: tenant})
	o := outcome(t, &d)
	if o.Failure != NoFailure {
		t.Fatalf("failure %v: a full table is not a store failure", o.Failure)
	}
	if o.Overflow {
		tr.charged++
	}
	if d.Action != Allow {
		return
	}
	if o.Overflow {
		tr.overflow++
	} else {
		tr.own[tenant]++
	}
}

// entries is the number of buckets the rule's table holds.
func (tr *tableRun) entries() int64 { return int64(tr.th.rules[0].nsets) * ways }

// Up to max_keys keys in use each get a bucket of their own and are limited exactly; beyond, every
// key that found a place is still limited exactly, the others share the overflow bucket, and the
// total admitted never exceeds the table's buckets plus the overflow bucket.
func TestKeyTableBounds(t *testing.T) {
	const maxKeys, end = 64, 4 * sec
	for _, k := range []int{maxKeys / 2, maxKeys, 10 * maxKeys, 100 * maxKeys} {
		tr := runTable(t, maxKeys, k, 3, 500*ms, end)
		perKey := int64(2 + end/sec) // burst + rate × t: every key asks for more than that
		bound := tr.entries()*perKey + perKey
		var total int64
		for i := 0; i < k; i++ {
			n := tr.own["tenant-"+itoa(int64(i))]
			total += n
			if i < maxKeys && n != perKey {
				t.Errorf("k=%d: key %d admitted %d by its own bucket, want exactly %d", k, i, n, perKey)
			}
			if n > perKey {
				t.Errorf("k=%d: key %d admitted %d > %d", k, i, n, perKey)
			}
		}
		if k <= maxKeys && tr.charged != 0 {
			t.Errorf("k=%d ≤ max_keys: %d decisions charged to the overflow bucket", k, tr.charged)
		}
		if k > maxKeys && (tr.charged == 0 || tr.overflow != perKey) {
			t.Errorf("k=%d: overflow bucket admitted %d of %d, want exactly %d", k, tr.overflow, tr.charged, perKey)
		}
		if total+tr.overflow > bound {
			t.Errorf("k=%d: admitted %d in all, over the bound %d", k, total+tr.overflow, bound)
		}
		t.Logf("k=%d: own buckets %d keys, %d admitted; overflow %d of %d", k, len(tr.own), total, tr.overflow, tr.charged)
	}
}

// FuzzKeyStream lets the input choose the key of every request, and when time moves: whatever
// the keys, no key's own bucket admits more than burst + rate × t, the overflow bucket admits no
// more than its own, and all buckets of the table together no more than their number times that.
func FuzzKeyStream(f *testing.F) {
	f.Add(uint8(9), []byte("abcdefghijklmnopqrstuvwxyz0123456789"))
	f.Add(uint8(40), []byte{0, 1, 2, 3, 255, 4, 5, 6, 7, 255, 255, 8, 9, 10})
	f.Add(uint8(1), []byte{1, 1, 1, 2, 2, 2, 3, 3, 3, 200, 4, 4, 4})
	f.Fuzz(func(t *testing.T, maxKeys uint8, stream []byte) {
		mk := int64(maxKeys%48) + 1
		th := newThrottler(t, oneRule(`{"name":"k","key":"tenant","rate":"2/s","burst":3,"max_keys":`+itoa(mk)+
			`,"overflow":{"rate":"1/s","burst":2}}`), nil)
		r := &th.rules[0]
		entries := int64(r.nsets) * ways
		own := map[string]int64{}
		var total, overflow int64
		now := int64(0)
		for _, c := range stream {
			if c >= 240 { // time moves on: 0 to 1.5 s
				now += int64(c-240) * 100 * ms
				continue
			}
			tenant := string([]byte{'k', c})
			d := th.Decide(now, &Request{Tenant: tenant})
			o := outcome(t, &d)
			if o.Failure != NoFailure {
				t.Fatalf("failure %v", o.Failure)
			}
			if d.Action != Allow {
				continue
			}
			if o.Overflow {
				overflow++
			} else {
				own[tenant]++
				total++
			}
			perKey := 3 + 2*now/sec
			switch {
			case own[tenant] > perKey:
				t.Fatalf("key %q admitted %d by its own bucket by %v, bound %d", tenant, own[tenant], now, perKey)
			case overflow > 2+now/sec:
				t.Fatalf("overflow bucket admitted %d by %v, bound %d", overflow, now, 2+now/sec)
			case total > entries*perKey:
				t.Fatalf("own buckets admitted %d by %v, bound %d", total, now, entries*perKey)
			}
		}
	})
}
