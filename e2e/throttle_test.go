package e2e

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// Throttling with the real clock: each test runs its own dev gateway with the example
// configuration's providers and models and its own throttle rules. Time bounds are one-sided
// where the filter guarantees them (a held request never leaves early) and generous on the
// other side, for a busy machine.

// withThrottle is the example configuration with its throttle section replaced by rules.
func withThrottle(t *testing.T, rules string) []byte {
	t.Helper()
	cfg, err := sjson.SetRawBytes(exampleConfig(t), "throttle", []byte(`{"rules":`+rules+`}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// chat sends one OpenAI chat completion and returns the response, its headers and the error.
func chat(t *testing.T, g *gateway, params openai.ChatCompletionNewParams, opts ...option.RequestOption) (*openai.ChatCompletion, http.Header, error) {
	t.Helper()
	var raw *http.Response
	client := openaiClient(g, append(opts, option.WithResponseInto(&raw))...)
	res, err := client.Chat.Completions.New(context.Background(), params)
	var h http.Header
	if raw != nil {
		h = raw.Header
	}
	return res, h, err
}

// rateLimitItem reads parameter p of rule's item in a RateLimit or RateLimit-Policy header.
func rateLimitItem(header, rule, p string) (int64, bool) {
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(rule) + `"[^,]*;` + p + `=(\d+)`)
	m := re.FindStringSubmatch(header)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	return n, err == nil
}

func TestThrottleRejectsTheRequestAfterTheBurst(t *testing.T) {
	t.Parallel()
	const burst = 3
	g := startGateway(t, withThrottle(t, `[{"name":"e2e-burst","match":{"path_prefix":"/v1/"},"rate":"1/min","burst":3}]`))
	for i := 1; i <= burst; i++ {
		_, h, err := chat(t, g, userText("gpt-4o-mini", "hello "+nonce(t)))
		if err != nil {
			t.Fatalf("request %d of the burst of %d: %v", i, burst, err)
		}
		if got, want := h.Get("X-RateLimit-Remaining"), strconv.Itoa(burst-i); got != want || h.Get("X-RateLimit-Limit") != "3" {
			t.Errorf("request %d: X-RateLimit-Limit %q Remaining %q, want 3 and %s", i, h.Get("X-RateLimit-Limit"), got, want)
		}
		if r, ok := rateLimitItem(h.Get("RateLimit"), "e2e-burst", "r"); !ok || r != int64(burst-i) {
			t.Errorf("request %d: RateLimit %q, want r=%d", i, h.Get("RateLimit"), burst-i)
		}
	}

	// Request burst+1 is refused before it reaches a provider.
	var rr rawResponse
	marker := nonce(t)
	rid := "e2e-rejected-" + marker
	_, _, err := chat(t, g, userText("gpt-4o-mini", "one too many "+marker), rr.openai(), option.WithHeader("x-request-id", rid))
	apiErr := checkOpenAIError(t, err, &rr, 429, "requests")
	if apiErr.Code != "rate_limit_exceeded" {
		t.Errorf("error code %q", apiErr.Code)
	}
	checkNothingReached(t, g, marker)
	// At one token a minute the next one is due in just under 60 s.
	checkRejectHeaders(t, rr.header, "e2e-burst", burst, 55, 60)
	if n := len(g.mocks.Requests(t, mockprovider.OpenAI)); n != burst {
		t.Errorf("the provider received %d requests, want the burst of %d", n, burst)
	}

	// An Anthropic client is refused in its own dialect, with the same headers.
	rr = rawResponse{}
	client := anthropicClient(g, rr.anthropic())
	_, err = client.Messages.New(context.Background(), anthropicParams("claude-sonnet-4", "hello "+nonce(t)))
	checkAnthropicError(t, err, &rr, 429, "rate_limit_error")
	checkRejectHeaders(t, rr.header, "e2e-burst", burst, 55, 60)

	// The refusal is logged and counted.
	checkRecord(t, callRecord(t, g, rid), map[string]any{"step": "reject", "status": 429, "model": "gpt-4o-mini",
		"method": "POST", "path": "/v1/chat/completions"})
	for step, want := range map[string]float64{"allow": burst, "reject": 2} {
		labels := map[string]string{"rule": "e2e-burst", "step": step, "mode": "enforce"}
		if got := metricValue(t, g, "stepgate_throttle_decisions_total", labels); got != want {
			t.Errorf("stepgate_throttle_decisions_total%v = %v, want %v", labels, got, want)
		}
	}
}

// checkRejectHeaders asserts the headers of a 429 from rule: Retry-After within [lo, hi]
// seconds, the IETF RateLimit fields and the legacy X-RateLimit ones.
func checkRejectHeaders(t *testing.T, h http.Header, rule string, burst, lo, hi int64) {
	t.Helper()
	ra, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64)
	if err != nil || ra < lo || ra > hi {
		t.Errorf("Retry-After %q, want %d…%d", h.Get("Retry-After"), lo, hi)
	}
	if q, ok := rateLimitItem(h.Get("RateLimit-Policy"), rule, "q"); !ok || q != burst {
		t.Errorf("RateLimit-Policy %q, want q=%d for %q", h.Get("RateLimit-Policy"), burst, rule)
	}
	r, okR := rateLimitItem(h.Get("RateLimit"), rule, "r")
	reset, okT := rateLimitItem(h.Get("RateLimit"), rule, "t")
	if !okR || !okT || r != 0 || reset < ra {
		t.Errorf("RateLimit %q, want r=0 and t ≥ Retry-After %d", h.Get("RateLimit"), ra)
	}
	if h.Get("X-RateLimit-Limit") != strconv.FormatInt(burst, 10) || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset") == "" {
		t.Errorf("X-RateLimit-Limit %q Remaining %q Reset %q, want %d, 0 and a reset", h.Get("X-RateLimit-Limit"),
			h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset"), burst)
	}
	if h.Get("X-Stepgate-Step") != "reject" {
		t.Errorf("x-stepgate-step %q, want reject", h.Get("X-Stepgate-Step"))
	}
}

func TestThrottleShapeHoldsRequestsUntilTheirTokensAreDue(t *testing.T) {
	t.Parallel()
	const (
		n      = 3
		period = 500 * time.Millisecond // rate 2/s
		margin = 30 * time.Millisecond  // clock reading skew between the filter and the test
	)
	g := startGateway(t, withThrottle(t, `[{"name":"e2e-shape","match":{"models":"gpt-4o-mini"},"rate":"2/s","burst":1,
		"steps":[{"below":0,"action":"shape","max_delay":"3s"}]}]`))
	markers := make([]string, n)
	steps := make([]string, n)
	for i := range markers {
		markers[i] = nonce(t)
	}
	origin := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, h, err := chat(t, g, userText("gpt-4o-mini", "paced "+markers[i]))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			if got := res.Choices[0].Message.Content; got != replyTo("paced "+markers[i]) {
				t.Errorf("request %d: %q", i, got)
			}
			steps[i] = h.Get("X-Stepgate-Step")
		}()
	}
	wg.Wait()
	elapsed := time.Since(origin)
	if t.Failed() {
		return
	}
	// The bucket holds one token and refills one every 500 ms: the first request goes at once,
	// the k-th is held until origin + k × 500 ms at the earliest.
	var arrivals []time.Time
	for _, m := range markers {
		arrivals = append(arrivals, g.requestWith(t, mockprovider.OpenAI, m).Time)
	}
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	for k, at := range arrivals {
		if early := origin.Add(time.Duration(k) * period).Sub(at); early > margin {
			t.Errorf("request %d reached the provider %v after the start, %v before its token was due", k, at.Sub(origin), early)
		}
	}
	if limit := time.Duration(n-1)*period + 2*time.Second; elapsed > limit {
		t.Errorf("%d requests took %v, want under %v", n, elapsed, limit)
	}
	slices.Sort(steps)
	if want := []string{"", "shape", "shape"}; !slices.Equal(steps, want) {
		t.Errorf("x-stepgate-step of the responses %q, want %q", steps, want)
	}
	labels := map[string]string{"rule": "e2e-shape", "step": "shape"}
	if got := metricValue(t, g, "stepgate_shape_delay_ms_count", labels); got != n-1 {
		t.Errorf("stepgate_shape_delay_ms_count%v = %v, want %d held requests", labels, got, n-1)
	}
}

// TestThrottleShapeFallsThroughToRejectAfterMaxDelay: a request whose wait would exceed
// max_delay is not held but rejected (the next step), with a Retry-After that says when.
func TestThrottleShapeFallsThroughToRejectAfterMaxDelay(t *testing.T) {
	t.Parallel()
	g := startGateway(t, withThrottle(t, `[{"name":"e2e-maxdelay","rate":"1/10s","burst":1,
		"steps":[{"below":0,"action":"shape","max_delay":"1s"}]}]`))
	if _, _, err := chat(t, g, userText("gpt-4o-mini", "first "+nonce(t))); err != nil {
		t.Fatal(err)
	}
	var rr rawResponse
	start := time.Now()
	_, _, err := chat(t, g, userText("gpt-4o-mini", "second "+nonce(t)), rr.openai())
	checkOpenAIError(t, err, &rr, 429, "requests")
	if took := time.Since(start); took > time.Second {
		t.Errorf("the rejection took %v: it was held first", took)
	}
	// The token is due 10 s after the first request; shaping could hold up to 1 s of that.
	checkRejectHeaders(t, rr.header, "e2e-maxdelay", 1, 8, 10)
}

func TestThrottleDegradeSwapsTheModel(t *testing.T) {
	t.Parallel()
	// burst 2: the first request leaves 1 token (allow), the second 0 (< 1: degrade, and the
	// degraded request fits), the third would leave −1 (reject).
	g := startGateway(t, withThrottle(t, `[{"name":"e2e-degrade","match":{"models":"claude-sonnet-4"},"rate":"1/min","burst":2,
		"steps":[{"below":1,"action":"degrade","model":"gpt-4o-mini","max_tokens":50},{"below":0,"action":"reject"}]}]`))
	cfg := exampleConfig(t)

	first := "first " + nonce(t)
	_, h, err := chat(t, g, userText("claude-sonnet-4", first))
	if err != nil {
		t.Fatal(err)
	}
	if s := h.Get("X-Stepgate-Step"); s != "" {
		t.Errorf("first request: x-stepgate-step %q, want none", s)
	}
	g.requestWith(t, mockprovider.Anthropic, first)

	second := "second " + nonce(t)
	rid := "e2e-degraded-" + second[len("second "):]
	res, h, err := chat(t, g, userText("claude-sonnet-4", second), option.WithHeader("x-request-id", rid))
	if err != nil {
		t.Fatal(err)
	}
	if s := h.Get("X-Stepgate-Step"); s != "degrade" {
		t.Errorf("second request: x-stepgate-step %q, want degrade", s)
	}
	if got := res.Choices[0].Message.Content; got != replyTo(second) {
		t.Errorf("degraded answer %q, want %q", got, replyTo(second))
	}
	// The degraded request went to the cheaper model's provider, capped, and tagged.
	req := g.requestWith(t, mockprovider.OpenAI, second)
	checkUpstream(t, cfg, exampleRoutes[0], req)
	body := gjson.ParseBytes(req.Body)
	limit := body.Get("max_completion_tokens")
	if !limit.Exists() {
		limit = body.Get("max_tokens")
	}
	if limit.Int() != 50 {
		t.Errorf("degraded request's completion limit %s, want 50: %s", limit.Raw, req.Body)
	}
	if s := req.Header.Get("X-Stepgate-Step"); s != "degrade" {
		t.Errorf("upstream x-stepgate-step %q, want degrade", s)
	}
	if kinds := g.reached(t, second); !slices.Equal(kinds, []mockprovider.Kind{mockprovider.OpenAI}) {
		t.Errorf("the degraded request reached %v, want only openai", kinds)
	}

	checkRecord(t, callRecord(t, g, rid), map[string]any{"step": "degrade", "status": 200, "model": "claude-sonnet-4",
		"upstream_model": "gpt-4o-mini", "provider": "mock-openai"})

	var rr rawResponse
	_, _, err = chat(t, g, userText("claude-sonnet-4", "third "+nonce(t)), rr.openai())
	checkOpenAIError(t, err, &rr, 429, "requests")
}

// TestThrottleTokenUnitsSettleFromUsage: an llm_tokens rule reserves each request's estimate
// up front and settles it to the provider's reported usage when the answer arrives. Two
// requests whose estimates cannot both fit in the bucket are refused while the first is in
// flight, and both pass once the first has settled to its (much smaller) real usage.
func TestThrottleTokenUnitsSettleFromUsage(t *testing.T) {
	t.Parallel()
	const (
		burst     = 1000
		maxTokens = 600 // each estimate is ⌈body/4⌉ + 600 ≈ 640: two do not fit in 1000
	)
	g := startGateway(t, withThrottle(t, `[{"name":"e2e-tokens","match":{"models":"gpt-4o-mini"},
		"unit":"llm_tokens","rate":"1/h","burst":1000}]`))
	params := func(text string) openai.ChatCompletionNewParams {
		p := userText("gpt-4o-mini", text)
		p.MaxTokens = openai.Int(maxTokens)
		return p
	}

	// A is slow at the provider: while it is in flight its whole estimate is reserved.
	markerA := nonce(t)
	type result struct {
		res *openai.ChatCompletion
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, _, err := chat(t, g, params("first "+markerA), option.WithHeader("x-mock-fault", "slow-1500"))
		done <- result{res, err}
	}()
	if !eventually(t, 5*time.Second, func() bool { return len(g.reached(t, markerA)) > 0 }) {
		t.Fatal("the first request never reached the provider")
	}
	var rr rawResponse
	markerB := nonce(t)
	_, _, err := chat(t, g, params("second "+markerB), rr.openai())
	checkOpenAIError(t, err, &rr, 429, "tokens")
	checkNothingReached(t, g, markerB)

	a := <-done
	if a.err != nil {
		t.Fatalf("first request: %v", a.err)
	}
	usageA := a.res.Usage.TotalTokens
	if usageA == 0 || usageA > 100 {
		t.Fatalf("first request's usage %d: want the mock's small count", usageA)
	}

	// Settled: A now holds only its real usage, so C's estimate fits.
	var bodyC int64
	measure := option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		bodyC = r.ContentLength
		return next(r)
	})
	_, h, err := chat(t, g, params("third "+nonce(t)), measure)
	if err != nil {
		t.Fatalf("after the first request settled, the next one was refused: %v", err)
	}
	// The bucket after C, exactly: burst − A's usage − C's estimate (the rate adds a fraction of
	// a token per second, never a whole one within this test).
	if bodyC <= 0 {
		t.Fatalf("the client sent no Content-Length (%d): cannot compute the estimate", bodyC)
	}
	want := burst - usageA - ((bodyC+3)/4 + maxTokens)
	if r, ok := rateLimitItem(h.Get("RateLimit"), "e2e-tokens", "r"); !ok || r != want {
		t.Errorf("RateLimit %q after the third request, want r=%d (burst %d − usage %d − estimate of a %d-byte body)",
			h.Get("RateLimit"), want, burst, usageA, bodyC)
	}
	if _, ok := rateLimitItem(h.Get("RateLimit-Policy"), "e2e-tokens", "q"); !ok || !regexp.MustCompile(`stepgate-qu="llm-tokens"`).MatchString(h.Get("RateLimit-Policy")) {
		t.Errorf("RateLimit-Policy %q, want the token unit", h.Get("RateLimit-Policy"))
	}
}

// TestThrottleAnthropicClientIsShapedToo: the throttle applies whatever the client's dialect;
// a held Anthropic request is answered normally after its delay.
func TestThrottleAnthropicClientIsShapedToo(t *testing.T) {
	t.Parallel()
	g := startGateway(t, withThrottle(t, `[{"name":"e2e-shape-anthropic","rate":"4/s","burst":1,
		"steps":[{"below":0,"action":"shape","max_delay":"2s"}]}]`))
	client := anthropicClient(g)
	origin := time.Now()
	for i := range 2 {
		text := "hello " + nonce(t)
		var raw *http.Response
		msg, err := client.Messages.New(context.Background(), anthropicParams("claude-sonnet-4", text), aoption.WithResponseInto(&raw))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if msg.Content[0].Text != replyTo(text) {
			t.Errorf("request %d: %q", i, msg.Content[0].Text)
		}
		if i == 1 {
			if took := time.Since(origin); took < 250*time.Millisecond-30*time.Millisecond {
				t.Errorf("the second request finished %v after the first started; its token was due at 250 ms", took)
			}
			if s := raw.Header.Get("X-Stepgate-Step"); s != "shape" {
				t.Errorf("x-stepgate-step %q, want shape", s)
			}
		}
	}
}
