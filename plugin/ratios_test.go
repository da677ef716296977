package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// TestSpeedRatios measures the per-request cost ratios that docs/BENCHMARKS.md sets targets for,
// with every case in one process and interleaved: each round runs a batch of every case in turn
// (starting from a different case each round), so that load that comes and goes on a shared
// machine slows every case alike, which separate benchmark runs (-count) cannot promise. It
// prints the median wall and CPU time per operation of each case, its host calls per operation,
// and the ratios; it asserts no figure, and runs only when asked:
//
//	STEPGATE_RATIOS=1 go test -count=1 -run TestSpeedRatios -v ./plugin/
//
// STEPGATE_RATIOS_ROUNDS sets the number of rounds (default 21, of batches of about 50 ms); STEPGATE_RATIOS_BASE=old.wasm
// adds the filter's cases run with that build too, for a before and after in the same run.
//
// Each case runs on STEPGATE_RATIOS_HOSTS hosts of its own (default 3), its batches shared
// among them, and its figures are those of the host with the least median CPU time: on the
// shared machines these figures come from, one host in a run (any case's, the filter's or a
// reference plugin's) can stay 1.5–5× slower than another host of the same module for the
// whole run, CPU time equal to wall time, which would decide a ratio on its own.
func TestSpeedRatios(t *testing.T) {
	if os.Getenv("STEPGATE_RATIOS") != "1" {
		t.Skip("measures speed; run with STEPGATE_RATIOS=1")
	}
	rounds := 21
	if n, err := strconv.Atoi(os.Getenv("STEPGATE_RATIOS_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	hosts := 3
	if n, err := strconv.Atoi(os.Getenv("STEPGATE_RATIOS_HOSTS")); err == nil && n > 0 {
		hosts = n
	}
	var base []byte
	if path := os.Getenv("STEPGATE_RATIOS_BASE"); path != "" {
		var err error
		if base, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	// sets[j] holds the j-th host of every case, in the same order.
	sets := make([][]*ratioCase, hosts)
	for j := range sets {
		sets[j] = ratioCases(t, "", filterWasm(t))
		if base != nil {
			sets[j] = append(sets[j], ratioCases(t, " (base)", base)[len(referenceCases):]...)
		}
	}
	// The CPU time is the measuring thread's: the VM's code and the host functions, with the
	// garbage collection they must assist, but neither the time spent waiting for a core nor the
	// background collection of garbage that other cases left.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, set := range sets {
		for _, c := range set {
			c.calibrate(50 * time.Millisecond / time.Duration(hosts))
		}
	}
	n := len(sets[0])
	for r := range rounds {
		for i := range n {
			for _, set := range sets {
				set[(r+i)%n].batch()
			}
		}
	}
	cases := make([]*ratioCase, n)
	for i := range cases {
		for _, set := range sets {
			if c := set[i]; cases[i] == nil || median(c.cpu) < median(cases[i].cpu) {
				cases[i] = c
			}
		}
	}
	t.Log(ratioReport(cases, hosts))
}

// ratioCase is one kind of operation on its own host.
type ratioCase struct {
	name      string
	h         *hostsim.Host
	op        func()
	n         int       // operations per batch
	wall, cpu []float64 // ns per operation, one per batch
	ops       int
	calls     uint64 // host calls over all batches
}

// referenceCases are the SDK plugins the filter is set against: the no-op plugin, the
// shared-counter floor of the targets, and the default-features floor (hostsim's featurefloor
// plugin: the least that gives a request what stepgate gives it by default, without and with
// one rule's shared counter and headers).
var referenceCases = []struct{ name, plugin, config string }{
	{"no-op SDK plugin", "noop", ""},
	{"shared-counter floor plugin", "sharedcounter", ""},
	{"default-features floor plugin", "featurefloor", ""},
	{"default-features floor plugin, one rule", "featurefloor", "rule"},
}

// ratioCases are the cases of the targets: the reference plugins (left out of a second set),
// then the filter's.
func ratioCases(t *testing.T, suffix string, filter []byte) []*ratioCase {
	perRule := `{"log":{"access_log":false},"throttle":{"rules":[{"name":"rps","rate":"1000/s","burst":100}]}}`
	var cases []*ratioCase
	for _, r := range referenceCases {
		cases = append(cases, requestCase(t, r.name, hostsimtest.Plugin(t, r.plugin), r.config))
	}
	return append(cases,
		requestCase(t, "passthrough"+suffix, filter, `{"log":{"access_log":false}}`),
		requestCase(t, "one request rule"+suffix, filter, perRule),
		translateCase(t, "translate 1 KB"+suffix, filter, 1<<10),
		translateCase(t, "translate 64 KB"+suffix, filter, 64<<10),
		streamEventCase(t, "one SSE event"+suffix, filter),
	)
}

// requestCase is BenchmarkRequest's headers-only request answered 200, 1 ms apart.
func requestCase(t *testing.T, name string, module []byte, config string) *ratioCase {
	h, clock := benchHostClock(t, module, config)
	req := get("/api/items", [2]string{"x-request-id", "r"}, [2]string{"authorization", "Bearer k"})
	resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
	return &ratioCase{name: name, h: h, op: func() {
		clock.Advance(time.Millisecond)
		s := h.NewStream()
		s.SendRequestHeaders(req, true)
		if r := s.LocalReply(); r != nil {
			t.Fatalf("%s: answered locally: %d", name, r.Status)
		}
		s.SendResponseHeaders(resp, true)
	}}
}

// translateCase is BenchmarkTranslate's chat request and answer, checked once before it counts.
func translateCase(t *testing.T, name string, module []byte, size int) *ratioCase {
	config := strings.Replace(aiConfig, "THROTTLE", `, "log":{"access_log":false}`, 1)
	config = strings.Replace(config, `"max_request_body_bytes": 2048`, `"max_request_body_bytes": 1048576`, 1)
	h := benchHost(t, module, config)
	body := chatBody(benchModel(), size)
	resp := hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}
	send := func() *hostsim.Stream {
		s := h.NewStream()
		s.SendRequestHeaders(post("/v1/chat/completions"), false)
		s.SendRequestBody(body, true)
		s.SendResponseHeaders(resp, false)
		s.SendResponseBody(benchAnswer, true)
		return s
	}
	s := send()
	if up, down := s.Upstream(), s.Downstream(); up.Headers.Get(":path") != "/v1/messages" ||
		!strings.Contains(string(down.Body), `"chat.completion"`) {
		t.Fatalf("%s: not translated: upstream %s, answer %s", name, up.Headers.Get(":path"), down.Body)
	}
	return &ratioCase{name: name, h: h, op: func() { send() }}
}

// streamEventCase is BenchmarkStreamEvent's Anthropic text delta, one per body callback, on a
// stream opened before the measure.
func streamEventCase(t *testing.T, name string, module []byte) *ratioCase {
	config := strings.Replace(aiConfig, "THROTTLE", `, "log":{"access_log":false}`, 1)
	h := benchHost(t, module, config)
	event := []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n")
	s := h.NewStream()
	s.SendRequestHeaders(post("/v1/chat/completions"), false)
	s.SendRequestBody([]byte(`{"model":"claude","stream":true,"messages":[{"role":"user","content":"Hi"}]}`), true)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	s.SendResponseBody([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"c\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"+
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"), false)
	s.SendResponseBody(event, false)
	if !strings.Contains(string(s.Downstream().Body), `"content":"word "`) {
		t.Fatalf("%s: not translated: %s", name, s.Downstream().Body)
	}
	return &ratioCase{name: name, h: h, op: func() { s.SendResponseBody(event, false) }}
}

// calibrate warms the case up and sizes its batches to last about d.
func (c *ratioCase) calibrate(d time.Duration) {
	start, n := time.Now(), 0
	for time.Since(start) < d/2 || n < 10 {
		c.op()
		n++
	}
	c.n = max(1, int(float64(n)*float64(d)/float64(time.Since(start))))
}

func (c *ratioCase) batch() {
	before := sumCalls(c.h.HostCalls())
	wall, cpu := time.Now(), threadCPUTime()
	for range c.n {
		c.op()
	}
	c.cpu = append(c.cpu, float64(threadCPUTime()-cpu)/float64(c.n))
	c.wall = append(c.wall, float64(time.Since(wall))/float64(c.n))
	c.calls += sumCalls(c.h.HostCalls()) - before
	c.ops += c.n
}

func sumCalls(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// ratioReport is the table and the target ratios, wall time and CPU time each.
func ratioReport(cases []*ratioCase, hosts int) string {
	var b strings.Builder
	find := func(name string) *ratioCase {
		for _, c := range cases {
			if c.name == name {
				return c
			}
		}
		return nil
	}
	noop, floor := find("no-op SDK plugin"), find("shared-counter floor plugin")
	fmt.Fprintf(&b, "%d rounds, each case on %d hosts, the figures its fastest host's (medians; CPU min: its least disturbed batch)\n\n",
		len(noop.wall), hosts)
	b.WriteString("| case | wall µs | CPU µs | CPU min µs | host calls | wall × no-op | CPU × no-op | wall × floor | CPU × floor |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, c := range cases {
		w, u := median(c.wall), median(c.cpu)
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f | %.2f |\n", c.name, w/1e3, u/1e3, slices.Min(c.cpu)/1e3,
			float64(c.calls)/float64(c.ops), w/median(noop.wall), u/median(noop.cpu), w/median(floor.wall), u/median(floor.cpu))
	}
	b.WriteString("\ntargets (wall, CPU):\n")
	for _, tg := range []struct {
		name string
		ref  *ratioCase
		max  float64
	}{
		{"one request rule", floor, 2.0}, {"passthrough", floor, 1.2},
		{"translate 1 KB", noop, 20}, {"one SSE event", noop, 1.8},
	} {
		for _, suffix := range []string{"", " (base)"} {
			if c := find(tg.name + suffix); c != nil {
				fmt.Fprintf(&b, "  %s / %s: %.2f, %.2f (at most %.1f)\n", c.name, tg.ref.name,
					median(c.wall)/median(tg.ref.wall), median(c.cpu)/median(tg.ref.cpu), tg.max)
			}
		}
	}
	b.WriteString("what the default features alone take (the least any filter giving them can cost):\n")
	for _, r := range referenceCases[2:] {
		c := find(r.name)
		fmt.Fprintf(&b, "  %s / %s: %.2f, %.2f\n", c.name, floor.name, median(c.wall)/median(floor.wall), median(c.cpu)/median(floor.cpu))
	}
	if c, base := find("translate 64 KB"), find("translate 64 KB (base)"); c != nil && base != nil {
		fmt.Fprintf(&b, "  translate 64 KB / its base: %.2f, %.2f (at most 1)\n",
			median(c.wall)/median(base.wall), median(c.cpu)/median(base.cpu))
	}
	return b.String()
}

// The default-features floor plugin does what it stands for in the ratios: the request's
// headers read, the metric counted, the version and request id on the answer, and with "rule"
// the shared counter and the RateLimit headers.
func TestFeatureFloorPluginGivesTheDefaultFeatures(t *testing.T) {
	for _, config := range []string{"", "rule"} {
		h, clock := benchHostClock(t, hostsimtest.Plugin(t, "featurefloor"), config)
		for range 2 {
			clock.Advance(time.Millisecond)
			s := h.NewStream()
			s.SendRequestHeaders(get("/api/items", [2]string{"x-request-id", "r-1"}), true)
			s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, true)
			d := s.Downstream().Headers
			if d.Get("x-stepgate") == "" || d.Get("x-request-id") != "r-1" {
				t.Errorf("config %q: answer headers %v", config, d)
			}
			if got := d.Get("x-ratelimit-limit") != ""; got != (config == "rule") {
				t.Errorf("config %q: RateLimit headers %v", config, d)
			}
		}
		if m, _ := h.Metric("featurefloor_requests_total"); m.Value != 2 {
			t.Errorf("config %q: requests metric %d, want 2", config, m.Value)
		}
		_, _, counted := h.SharedData("featurefloor")
		if counted != (config == "rule") {
			t.Errorf("config %q: shared counter kept: %v", config, counted)
		}
	}
}
