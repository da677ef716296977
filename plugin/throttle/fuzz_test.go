package throttle

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/tidwall/gjson"
)

// FuzzParseConfig: the parser never panics, and whatever it accepts New accepts and Decide runs on.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"rules":[]}`, `nope`,
		`{"rules":[{"name":"r","rate":"1/s","burst":1}]}`,
		`{"rules":[{"name":"r","rate":"0.5/10s","burst":3,"key":"tenant:header:x-a","max_keys":8,
		  "steps":[{"below":"50%","action":"shape","max_delay":"1s","max_queue":2},{"below":1,"action":"degrade","model":"m","max_tokens":5},{"action":"reject"}]}]}`,
		`{"cas_retries":2,"rules":[{"name":"t","unit":"llm_tokens","rate":"1000/min","burst":5000,"default_max_tokens":10,"shadow":true,"fail":"closed",
		  "match":{"path_prefix":"/v1/","models":["g*"],"headers":{"x":"*"}},"adaptive":{"factor":"10%","min":"1%","recovery_steps":100}}]}`,
		`{"rules":[{"name":"r","rate":"99999999999999/1ns","burst":1000000000000}]}`,
		`{"rules":[{"name":"r","rate":"1/8760h","burst":1,"steps":[{"below":"100%","action":"reject"}]}]}`,
		`{"stream_charge_tokens":64,"learn_completion":true,"rules":[{"name":"m","key":"tenant","unit":"cost","window":"month",
		  "utc_offset":"+02:00","burst":1000000,"steps":[{"below":"20%","action":"degrade","model":"mini","max_tokens":9}]}]}`,
		`{"rules":[{"name":"w","window":"week","utc_offset":"-05:30","burst":3},{"name":"d","window":"day","unit":"llm_tokens","burst":9}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := ParseConfig(gjson.Parse(s), "throttle")
		if err != nil {
			if !bytes.HasPrefix([]byte(err.Error()), []byte("throttle")) {
				t.Fatalf("error does not name its place: %v", err)
			}
			return
		}
		for i := range cfg.Rules {
			cfg.Rules[i].MaxKeys = min(cfg.Rules[i].MaxKeys, 64) // keep New's set creation quick
		}
		th, err := New(cfg, shareddata.NewMemory())
		if err != nil {
			t.Fatalf("New refuses what ParseConfig accepted: %v\n%s", err, s)
		}
		req := &Request{Path: "/v1/x", Model: "gpt", PromptChars: 1000, MaxTokens: 10, Headers: [][2]string{{"x-team", "v"}, {"x-user", "v"}}}
		for now := int64(0); now < 3*sec; now += 250 * ms {
			d := th.Decide(now, req)
			d.ResponseHeaders(nil)
			d.RequestHeaders(nil)
			d.Body()
			th.Settle(now, &d.Reservation, 7)
			th.ObserveUpstream(now, &d.Reservation, 429, time.Second)
			th.Release(now, &d.Reservation)
		}
	})
}

// FuzzDecodeSet: the decoder never panics; what it accepts re-encodes to the same bytes, and a
// Throttler meeting it in the store keeps working.
func FuzzDecodeSet(f *testing.F) {
	f.Add([]byte{setVersion, 0})
	var sv setView
	_ = decodeSet(emptySet, &sv)
	one := encodeSet(nil, &sv, 0, []byte("\x04acme"), &bucket{debt: 5, asOf: 7, tok: 100, pen: 50, until: 9, queue: []int64{10, 20}})
	f.Add(one)
	_ = decodeSet(one, &sv)
	f.Add(encodeSet(nil, &sv, 1, nil, &bucket{tok: 3}))
	f.Add([]byte{setVersion, 4, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		var sv setView
		if err := decodeSet(v, &sv); err != nil {
			if sv.n != 0 {
				t.Fatal("a failed decode left entries")
			}
		} else if sv.n > 0 {
			e := &sv.ent[0]
			b := e.b
			b.queue = e.queueInto(nil)
			if got := encodeSet(nil, &sv, 0, e.key, &b); !bytes.Equal(got, v) {
				t.Fatalf("round trip:\n got %x\nwant %x", got, v)
			}
			// Patching a bucket in place writes what encoding the set afresh would.
			for i := 0; i < sv.n; i++ {
				e := &sv.ent[i]
				b := bucket{debt: e.b.debt + 1, asOf: e.b.asOf - 2, tok: e.b.tok + 3, pen: e.b.pen ^ 1, until: ^e.b.until,
					queue: e.queueInto(nil)}
				for j := range b.queue {
					b.queue[j] += int64(j)
				}
				got, ok := patchSet([]byte("x"), v, &sv, i, &b)
				if want := encodeSet([]byte("x"), &sv, i, e.key, &b); !ok || !bytes.Equal(got, want) {
					t.Fatalf("patch of entry %d (ok %v):\n got %x\nwant %x", i, ok, got, want)
				}
				b.queue = append(b.queue, 1)
				if got, ok := patchSet([]byte("x"), v, &sv, i, &b); ok || string(got) != "x" {
					t.Fatalf("patched entry %d with a longer queue", i)
				}
			}
		}
		m := shareddata.NewMemory()
		th := newThrottler(t, oneRule(`{"name":"r","key":"tenant","rate":"1/s","burst":2,"max_keys":1,
			"steps":[{"below":0,"action":"shape","max_delay":"1s","max_queue":2}],"adaptive":{}}`), m)
		if err := m.Set(th.rules[0].setKey(0), v, 0); err != nil {
			t.Fatal(err)
		}
		for _, tenant := range []string{"acme", "", "x"} {
			d := th.Decide(int64(len(v))*ms, &Request{Tenant: tenant})
			th.ObserveUpstream(0, &d.Reservation, 503, 0)
			th.Release(sec, &d.Reservation)
		}
		// Entries the calls did not touch keep whatever the input held; the set must stay readable.
		if got, _, err := m.Get(th.rules[0].setKey(0)); err != nil || decodeSet(got, &sv) != nil {
			t.Fatalf("set unreadable after the calls: %v %x", err, got)
		}
	})
}

// FuzzDecide drives a random rule with random requests, clocks (including a clock that steps back,
// as workers' reads of it interleave) and settlements, checking the bucket invariants after every
// call: the bucket never holds more than burst (debt ≥ 0), requests alone never push it further
// into debt than max_delay × rate, no hold exceeds max_delay and no queue exceeds max_queue.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add(bytes.Repeat([]byte{0xff, 0, 0x80, 3}, 16))
	f.Add([]byte("shape it, degrade it, reject it, settle it, signal it"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput{data: data}
		cfg := Config{CASRetries: 4, Rules: []Rule{in.rule()}}
		m := shareddata.NewMemory()
		th, err := New(cfg, m)
		if err != nil {
			return
		}
		r := &th.rules[0]
		settled := false
		now := int64(in.next()) * ms
		for !in.done() {
			now += int64(int8(in.next())) * int64(in.next()) * ms / 4
			req := &Request{Tenant: string(rune('a' + in.next()%3)), PromptChars: int64(in.next()) * 50, MaxTokens: int64(in.next() % 64)}
			d := th.Decide(now, req)
			for _, o := range d.Reservation.Outcomes() {
				if o.Failure != NoFailure {
					t.Fatalf("failure %v", o.Failure)
				}
				if o.Action == Shape && int64(o.Delay) > r.steps[o.Step].maxDelay {
					t.Fatalf("held %v, max_delay %v", o.Delay, time.Duration(r.steps[o.Step].maxDelay))
				}
				if o.Action == Reject && o.RetryAfter < 1 {
					t.Fatalf("reject with Retry-After %v", o.RetryAfter)
				}
			}
			switch in.next() % 8 {
			case 0:
				th.Settle(now, &d.Reservation, int64(in.next())*int64(in.next()))
				settled = settled || r.cfg.Unit == LLMTokens
			case 1:
				th.Release(now, &d.Reservation)
			case 2:
				th.ObserveUpstream(now, &d.Reservation, 429, time.Duration(in.next())*time.Second/8)
			}
			checkStore(t, th, m, settled)
		}
	})
}

// checkStore decodes every set of th's first rule and checks the invariants of its buckets.
func checkStore(t *testing.T, th *Throttler, m *shareddata.Memory, settled bool) {
	t.Helper()
	r := &th.rules[0]
	shapeMax, maxQueue := int64(0), 0
	for _, s := range r.steps {
		if s.action == Shape {
			shapeMax, maxQueue = s.maxDelay*r.n*pctScale, s.maxQueue
		}
	}
	for i := uint32(0); i < r.nsets; i++ {
		v, _, err := m.Get(r.setKey(i))
		if err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
		var sv setView
		if err := decodeSet(v, &sv); err != nil {
			t.Fatalf("set %d unreadable after a write: %v", i, err)
		}
		for j := 0; j < sv.n; j++ {
			b := sv.ent[j].b
			switch {
			case b.debt < 0:
				t.Fatalf("debt %d: the bucket holds more than burst", b.debt)
			case b.debt > r.settleMax:
				t.Fatalf("debt %d over the bound %d", b.debt, r.settleMax)
			case !settled && b.debt > r.cap+shapeMax:
				t.Fatalf("debt %d beyond burst + max_delay × rate (%d + %d)", b.debt, r.cap, shapeMax)
			case len(sv.ent[j].queue)/8 > max(maxQueue, 0) && maxQueue > 0:
				t.Fatalf("queue %d over max_queue %d", len(sv.ent[j].queue)/8, maxQueue)
			}
		}
	}
}

// FuzzRetryAfter checks that Retry-After is exact: at now + Retry-After the same request is
// admitted, a nanosecond earlier it is not — on random ladders, rates, states and step-downs.
func FuzzRetryAfter(f *testing.F) {
	f.Add([]byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 200, 100, 50, 25})
	f.Add(bytes.Repeat([]byte{3, 0x41}, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput{data: data}
		c := in.rule()
		if c.validate("r") != nil {
			return
		}
		r := compile(&c, 0)
		b := bucket{tok: uint64(r.tok)}
		now := int64(0)
		for !in.done() {
			now += int64(in.next()) * int64(in.next()) * ms / 8
			r.advance(&b, now)
			if r.adapt != nil && in.next()%7 == 0 {
				r.stepDown(&b, now, 0)
			}
			d := r.demandOf(&Request{PromptChars: int64(in.next()) * 40, MaxTokens: int64(in.next())})
			v := r.decide(&b, now, d)
			if v.action != Reject {
				continue
			}
			if never(&r, &b, now, d) {
				continue
			}
			if a := tryAt(&r, &b, now+v.retry, d); a == Reject {
				t.Fatalf("rejected at now + Retry-After (%v)", time.Duration(v.retry))
			}
			if v.retry > 1 {
				if a := tryAt(&r, &b, now+v.retry-1, d); a != Reject {
					t.Fatalf("%v a nanosecond before Retry-After (%v)", a, time.Duration(v.retry))
				}
			}
		}
	})
}

// tryAt decides d on a copy of b at time at, the held requests due by then having left on time
// (the glue resumes them).
func tryAt(r *rule, b *bucket, at int64, d demand) Action {
	c := *b
	c.queue = nil
	for _, q := range b.queue {
		if q > at {
			c.queue = append(c.queue, q)
		}
	}
	r.advance(&c, at)
	return r.decide(&c, at, d).action
}

// never reports a request no step will ever take (a reject threshold at the very top): its
// Retry-After is only the time to a full bucket.
func never(r *rule, b *bucket, now int64, d demand) bool {
	far := satAdd(now, int64(math.MaxInt32)*sec)
	return tryAt(r, b, far, d) == Reject
}

// fuzzInput turns fuzz bytes into choices.
type fuzzInput struct {
	data []byte
	i    int
}

func (in *fuzzInput) done() bool { return in.i >= len(in.data) }

func (in *fuzzInput) next() byte {
	if in.done() {
		return 0
	}
	in.i++
	return in.data[in.i-1]
}

func (in *fuzzInput) u16() int64 {
	return int64(binary.LittleEndian.Uint16([]byte{in.next(), in.next()}))
}

// rule builds a rule from the input: any rate and burst, any ladder the parser would accept.
func (in *fuzzInput) rule() Rule {
	periods := []time.Duration{time.Millisecond, 7 * time.Millisecond, time.Second, 3 * time.Second, time.Minute, time.Hour}
	r := Rule{
		Name:  "f",
		Rate:  Rate{Tokens: uint64(in.u16()%1000 + 1), Period: periods[int(in.next())%len(periods)]},
		Burst: in.u16()%2000 + 1,
		Key:   []Selector{{Kind: SelTenant}}, MaxKeys: 8,
	}
	g := gcd(r.Rate.Tokens, uint64(r.Rate.Period))
	r.Rate.Tokens, r.Rate.Period = r.Rate.Tokens/g, r.Rate.Period/time.Duration(g)
	if in.next()%2 == 0 {
		r.Unit, r.DefaultMaxTokens = LLMTokens, int64(in.next())
	}
	if in.next()%3 == 0 {
		r.Adaptive = &Adaptive{OnStatus: []int{429}, Factor: int(in.next()%99) + 1, Min: int(in.next()%100) + 1,
			Cooldown: time.Duration(in.next()%50+1) * 100 * time.Millisecond, RecoverySteps: int(in.next()%5) + 1,
			RecoveryInterval: time.Duration(in.next()%50+1) * 100 * time.Millisecond}
	}
	level := int64(1e6)
	action := Allow
	for n := in.next() % 4; n > 0; n-- {
		level -= int64(in.next())*4000 + 1
		if level < 0 {
			break
		}
		action = min(Reject, action+Action(in.next()%3))
		s := Step{Below: Threshold{Percent: true, PPM: level}, Action: action}
		switch action {
		case Shape:
			s.MaxDelay, s.MaxQueue = time.Duration(in.next()%40+1)*50*time.Millisecond, int(in.next()%8)+1
			action = Degrade // at most one shape step
		case Degrade:
			s.Model, s.MaxTokens = "m", int64(in.next()%32)
		}
		r.Steps = append(r.Steps, s)
		if action == Reject {
			break
		}
	}
	return r
}

// Extreme clocks and stored times (a corrupt set, a clock that is not monotonic nanoseconds) must
// neither panic nor break the bucket's bounds.
func TestExtremeTimes(t *testing.T) {
	times := []int64{math.MinInt64, math.MinInt64 + 1, -sec, 0, sec, math.MaxInt64 - 1, math.MaxInt64}
	for _, asOf := range times {
		for _, until := range times {
			for _, now := range times {
				m := shareddata.NewMemory()
				th := newThrottler(t, oneRule(`{"name":"r","key":"tenant","rate":"3/s","burst":5,"max_keys":4,
					"steps":[{"below":"40%","action":"shape","max_delay":"1s","max_queue":3}],"adaptive":{"factor":"30%"}}`), m)
				var sv setView
				_ = decodeSet(emptySet, &sv)
				v := encodeSet(nil, &sv, 0, []byte("\x01a"), &bucket{debt: 3 * th.rules[0].tok, asOf: asOf, tok: uint64(th.rules[0].tok),
					pen: 40, until: until, queue: []int64{asOf, until}})
				a, _ := th.rules[0].setsOf([]byte("\x01a"))
				if err := m.Set(th.rules[0].setKey(a), v, 0); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 3; i++ {
					d := th.Decide(now, &Request{Tenant: "a"})
					d.ResponseHeaders(nil)
					th.ObserveUpstream(now, &d.Reservation, 429, time.Hour)
					th.Settle(now, &d.Reservation, 3)
					th.Release(now, &d.Reservation)
				}
				checkStore(t, th, m, true)
			}
		}
	}
}
