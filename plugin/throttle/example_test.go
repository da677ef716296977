package throttle_test

import (
	"fmt"
	"time"

	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/stepgate/stepgate/plugin/throttle"
	"github.com/tidwall/gjson"
)

// The filter's glue, in outline: parse at on_configure, decide once the request facts are known,
// act on the decision, report the outcome.
func Example() {
	cfg, err := throttle.ParseConfig(gjson.Parse(`{"rules":[{
		"name": "tenant-tpm", "key": "tenant", "unit": "llm_tokens", "rate": "6000/min", "burst": 1000,
		"steps": [
			{"below": "25%", "action": "shape", "max_delay": "2s"},
			{"below": 0, "action": "degrade", "model": "gpt-4o-mini", "max_tokens": 100}
		]}]}`), "throttle")
	if err != nil {
		panic(err) // on_configure: log the error and return false
	}
	// In the filter the store wraps the SDK's GetSharedData/SetSharedData.
	t, _ := throttle.New(cfg, shareddata.NewMemory())

	body := []byte(`{"model":"gpt-4o","max_tokens":300,"messages":[{"role":"user","content":"hi"}]}`)
	req := throttle.Request{Path: "/v1/chat/completions", Method: "POST", Tenant: "acme", Model: "gpt-4o"}
	req.EstimateFromBody(body) // t.NeedsBody() says whether to wait for the body

	now := int64(0) // nanoseconds on the wall clock every worker reads
	for i := 1; i <= 5; i++ {
		d := t.Decide(now, &req)
		switch d.Action {
		case throttle.Reject:
			// send_local_response(d.Status, d.Body(), d.ResponseHeaders(nil))
			fmt.Printf("%d: reject %d, Retry-After %d\n", i, d.Status, d.RetryAfter)
			continue
		case throttle.Degrade:
			body, _ = d.ApplyDegrade(body) // and set d.RequestHeaders(nil) on the request
			fmt.Printf("%d: degrade to %s\n", i, body)
		default:
			fmt.Printf("%d: %v, hold %v\n", i, d.Action, d.Delay) // hold: resume from the tick once Delay has passed
		}
		// The response carries d.ResponseHeaders(nil); its usage settles the reservation, and an
		// upstream 429/503 feeds the adaptive step-down.
		t.Settle(now, &d.Reservation, 250)
		t.ObserveUpstream(now, &d.Reservation, 200, 0)
		now += int64(100 * time.Millisecond)
	}
	// Output:
	// 1: allow, hold 0s
	// 2: allow, hold 0s
	// 3: shape, hold 500ms
	// 4: degrade to {"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}
	// 5: reject 429, Retry-After 1
}
