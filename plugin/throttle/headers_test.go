package throttle

import (
	"math"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// Header values share the Throttler's text arena: building later ones must never change the
// earlier ones, however many requests pass and however the policy changes.
func TestResponseHeadersStayPut(t *testing.T) {
	th := newThrottler(t, `{"rules":[
		{"name":"a","rate":"10/s","burst":5},
		{"name":"b","key":"tenant","rate":"1/s","burst":3,"shadow":true}]}`, nil)
	type kept struct {
		hs   []Header
		copy []Header
	}
	var all []kept
	tenants := []string{"x", "y", "a-much-longer-tenant-name-to-fill-the-arena-faster"}
	for i := range 3000 {
		d := th.Decide(int64(i)*ms, &Request{Tenant: tenants[i%len(tenants)]})
		hs := d.ResponseHeaders(nil)
		cp := make([]Header, len(hs))
		for j, h := range hs {
			cp[j] = Header{string([]byte(h.Name)), string([]byte(h.Value))}
		}
		all = append(all, kept{hs, cp})
	}
	for i, k := range all {
		if !slices.Equal(k.hs, k.copy) {
			t.Fatalf("request %d: headers changed after later requests:\n got %q\nwant %q", i, k.hs, k.copy)
		}
	}
}

// A Decision may be used on another goroutine than the one deciding (run with -race).
func TestResponseHeadersConcurrent(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"r","rate":"1000/s","burst":100}`), nil)
	var ds []Decision
	for i := range 8 {
		ds = append(ds, th.Decide(int64(i)*ms, &Request{}))
	}
	var wg sync.WaitGroup
	for i := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				h := headerMap(ds[i].ResponseHeaders(nil))
				if h["x-ratelimit-limit"] != "100" || h["ratelimit-policy"] != `"r";q=100;w=1` {
					t.Errorf("%v", h)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A Decision built by hand, with no outcomes, still gets its status headers.
func TestResponseHeadersWithoutOutcomes(t *testing.T) {
	if hs := (&Decision{}).ResponseHeaders(nil); len(hs) != 0 {
		t.Fatalf("allow: %v", hs)
	}
	d := Decision{Action: Reject, Status: 503, RetryAfter: 7}
	want := []Header{{"retry-after", "7"}, {"x-stepgate-step", "reject"}}
	if hs := d.ResponseHeaders(nil); !slices.Equal(hs, want) {
		t.Fatalf("got %v, want %v", hs, want)
	}
}

func TestAppendInt(t *testing.T) {
	for _, v := range []int64{0, 1, 9, 10, 11, 99, 100, 12345, 999_999_999, 1e9, 1e9 + 1, 4_294_967_295, 4_294_967_296,
		math.MaxInt64, -1, -10, math.MinInt64} {
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Errorf("appendInt(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestLessProduct(t *testing.T) {
	vals := []uint64{0, 1, 2, 3, 1<<32 - 1, 1 << 32, 1<<32 + 1, 1e12, 1<<63 - 1, math.MaxUint64}
	for _, a := range vals {
		for _, b := range vals {
			for _, c := range vals {
				for _, d := range vals {
					ab := new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(b))
					cd := new(big.Int).Mul(new(big.Int).SetUint64(c), new(big.Int).SetUint64(d))
					if got, want := lessProduct(a, b, c, d), ab.Cmp(cd) < 0; got != want {
						t.Fatalf("lessProduct(%d, %d, %d, %d) = %v, want %v", a, b, c, d, got, want)
					}
				}
			}
		}
	}
}
