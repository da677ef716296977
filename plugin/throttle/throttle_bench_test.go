package throttle

import (
	"testing"

	"github.com/stepgate/stepgate/plugin/shareddata"
)

// plainStore is a single-VM store that neither locks nor copies: with it a benchmark shows the
// package's own cost. Memory's locking and copying (one allocation per read, one per write) stand
// for what the host's shared-data calls cost.
type plainStore struct {
	m map[string]*plainEntry
	n uint32
}

type plainEntry struct {
	v   []byte
	cas uint32
}

func newPlainStore() *plainStore { return &plainStore{m: map[string]*plainEntry{}} }

func (p *plainStore) Get(key string) ([]byte, uint32, error) {
	e, ok := p.m[key]
	if !ok {
		return nil, 0, shareddata.ErrNotFound
	}
	return e.v, e.cas, nil
}

func (p *plainStore) Set(key string, value []byte, cas uint32) error {
	e, ok := p.m[key]
	if !ok {
		e = &plainEntry{}
		p.m[key] = e
	}
	if cas != 0 && e.cas != cas {
		return shareddata.ErrCASMismatch
	}
	p.n++
	e.v, e.cas = append(e.v[:0], value...), p.n
	return nil
}

type benchCase struct {
	name    string
	section string
	req     Request
	step    int64 // clock advance per call
}

var benchCases = []benchCase{
	{"nomatch", oneRule(`{"name":"r","match":{"path_prefix":"/admin/"},"rate":"10/s","burst":10}`),
		Request{Path: "/v1/chat/completions"}, ms},
	{"allow", oneRule(`{"name":"r","rate":"1000000/s","burst":1000}`),
		Request{Path: "/v1/chat/completions"}, ms},
	{"reject", oneRule(`{"name":"r","rate":"1/h","burst":1}`),
		Request{Path: "/v1/chat/completions"}, ms},
	{"keyed-tokens", oneRule(`{"name":"r","key":"tenant:model","unit":"llm_tokens","rate":"100000000/min","burst":1000000,"max_keys":4096}`),
		Request{Path: "/v1/chat/completions", Tenant: "acme", Model: "gpt-4o", PromptChars: 2000, MaxTokens: 256}, ms},
	{"shape", oneRule(`{"name":"r","rate":"1000/s","burst":1,"steps":[{"below":0,"action":"shape","max_delay":"10ms","max_queue":256}]}`),
		Request{Path: "/v1/chat/completions"}, ms / 2},
	{"three-rules", `{"rules":[
		{"name":"global","rate":"1000000/s","burst":1000},
		{"name":"tenant","key":"tenant","rate":"1000000/s","burst":1000},
		{"name":"tpm","key":"tenant:model","unit":"llm_tokens","rate":"100000000/min","burst":1000000,
		 "steps":[{"below":"20%","action":"degrade","model":"mini"},{"below":0,"action":"reject"}]}]}`,
		Request{Path: "/v1/chat/completions", Tenant: "acme", Model: "gpt-4o", PromptChars: 2000, MaxTokens: 256}, ms},
	{"keyed-cost", oneRule(`{"name":"r","key":"tenant","unit":"cost","rate":"1000000000000/h","burst":1000000000,"max_keys":4096}`),
		Request{Path: "/v1/chat/completions", Tenant: "acme", PromptChars: 2000, MaxTokens: 256, InputPrice: 2_500_000, OutputPrice: 10_000_000}, ms},
	{"keyed-cost-month", oneRule(`{"name":"r","key":"tenant","unit":"cost","window":"month","burst":1000000000000,"max_keys":4096}`),
		Request{Path: "/v1/chat/completions", Tenant: "acme", PromptChars: 2000, MaxTokens: 256, InputPrice: 2_500_000, OutputPrice: 10_000_000}, ms},
}

// BenchmarkDecide is the cost of one decision, natively, over a lock-free store (the package alone)
// and over shareddata.Memory.
func BenchmarkDecide(b *testing.B) {
	for _, store := range []struct {
		name string
		new  func() shareddata.Store
	}{{"plain", func() shareddata.Store { return newPlainStore() }}, {"memory", func() shareddata.Store { return shareddata.NewMemory() }}} {
		for _, bc := range benchCases {
			b.Run(store.name+"/"+bc.name, func(b *testing.B) {
				th := newThrottler(b, bc.section, store.new())
				req := bc.req
				now := int64(0)
				b.ReportAllocs()
				for b.Loop() {
					now += bc.step
					th.Decide(now, &req)
				}
			})
		}
	}
}

// BenchmarkDecideHeaders adds building the response headers the glue copies.
func BenchmarkDecideHeaders(b *testing.B) {
	th := newThrottler(b, benchCases[5].section, newPlainStore())
	req := benchCases[5].req
	now := int64(0)
	hs := make([]Header, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		now += ms
		d := th.Decide(now, &req)
		hs = d.ResponseHeaders(hs[:0])
	}
}

// BenchmarkResponseHeaders is building the response headers alone, into a reused slice and into
// nil as the glue does (then the slice is allocated).
func BenchmarkResponseHeaders(b *testing.B) {
	for _, bc := range []benchCase{benchCases[1], benchCases[5]} {
		th := newThrottler(b, bc.section, newPlainStore())
		req := bc.req
		d := th.Decide(ms, &req)
		b.Run(bc.name+"/reuse", func(b *testing.B) {
			hs := make([]Header, 0, 8)
			b.ReportAllocs()
			for b.Loop() {
				hs = d.ResponseHeaders(hs[:0])
			}
		})
		b.Run(bc.name+"/nil", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.ResponseHeaders(nil)
			}
		})
	}
}

// BenchmarkSettle is the cost of correcting a token reservation.
func BenchmarkSettle(b *testing.B) {
	th := newThrottler(b, benchCases[3].section, newPlainStore())
	req := benchCases[3].req
	now := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		now += ms
		b.StopTimer()
		d := th.Decide(now, &req)
		b.StartTimer()
		th.Settle(now, &d.Reservation, 300)
	}
}
