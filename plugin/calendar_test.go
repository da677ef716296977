package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
)

// chatTenant sends an OpenAI chat request for a tenant named by x-tenant.
func chatTenant(h *hostsim.Host, id, tenant, body string) *hostsim.Stream {
	s := h.NewStream()
	hd := post("/v1/chat/completions", [2]string{"authorization", "Bearer client-secret"},
		[2]string{"x-request-id", id}, [2]string{"x-tenant", tenant}, [2]string{"content-length", strconv.Itoa(len(body))})
	s.SendRequestHeaders(hd, false)
	s.SendRequestBody([]byte(body), true)
	return s
}

func usageAnswer(model string, prompt, completion int) string {
	return `{"id":"c","object":"chat.completion","created":1,"model":"` + model + `","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":` +
		strconv.Itoa(prompt) + `,"completion_tokens":` + strconv.Itoa(completion) + `}}`
}

// A tenant's monthly spend budget, shared by two worker VMs: it spends through 80 % and is
// degraded to the cheaper model, through 100 % and is rejected with Retry-After to the first of
// the next month (at UTC+02:00), and is allowed the full model again once the month turns.
func TestMonthlyBudgetDegradesRejectsAndResets(t *testing.T) {
	h, vc := aiFilter(t, `{"rules":[{"name":"monthly-spend","key":"header:x-tenant","unit":"cost",
		"window":"month","utc_offset":"+02:00","burst":10000,
		"steps":[{"below":"20%","action":"degrade","model":"gpt-4o-mini"}]}]}, `+pricingSection, 2)
	body := `{"model":"gpt-4o","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}`
	call := func(id string, prompt, completion int) (gjson.Result, *hostsim.Stream) {
		t.Helper()
		s := chatTenant(h, id, "acme", body)
		if s.LocalReply() == nil {
			model := gjson.GetBytes(s.Upstream().Body, "model").Str
			answerJSON(s, 200, usageAnswer(model, prompt, completion))
		}
		return callRecord(t, h, id), s
	}
	// gpt-4o: 800 × 2.5 + 100 × 10 = 3000 µ a call; three leave 1000 µ of 10000 (10 %).
	for i := 1; i <= 3; i++ {
		rec, _ := call("full-"+strconv.Itoa(i), 800, 100)
		if rec.Get("step").Str != "allow" || rec.Get("upstream_model").Str != "gpt-4o" || rec.Get("cost_micros").Int() != 3000 {
			t.Fatalf("call %d: %s", i, rec.Raw)
		}
	}
	// Below 20 %: degraded to gpt-4o-mini (800 × 0.15 + 100 × 0.6 = 180 µ), then spent out.
	rec, _ := call("degraded", 800, 100)
	if rec.Get("step").Str != "degrade" || rec.Get("upstream_model").Str != "gpt-4o-mini" || rec.Get("cost_micros").Int() != 180 {
		t.Fatalf("degraded call: %s", rec.Raw)
	}
	if rec, _ = call("overdraw", 10000, 0); rec.Get("step").Str != "degrade" {
		t.Fatalf("overdrawing call: %s", rec.Raw)
	}
	// Spent: rejected until 1 December 00:00 at +02:00, which is 30 November 22:00 UTC.
	reset := time.Date(2026, 12, 1, 0, 0, 0, 0, time.FixedZone("", 2*3600))
	rejected := func(id string) *hostsim.LocalReply {
		_, s := call(id, 0, 0)
		return s.LocalReply()
	}
	lr := rejected("spent")
	if lr == nil || lr.Status != 429 {
		t.Fatalf("spent budget: %+v, want 429", lr)
	}
	wait := reset.Sub(vc.Now())
	if got, want := lr.Headers.Get("retry-after"), strconv.Itoa(int((wait+time.Second-1)/time.Second)); got != want {
		t.Errorf("Retry-After = %s, want %s (until %v)", got, want, reset)
	}
	if gjsonGet(lr.Body, "error.type") != "cost" {
		t.Errorf("error body %s", lr.Body)
	}
	if rec := callRecord(t, h, "spent"); rec.Get("step").Str != "reject" || rec.Get("status").Int() != 429 {
		t.Errorf("rejected call record: %s", rec.Raw)
	}
	// Another tenant has a budget of its own.
	if s := chatTenant(h, "other", "globex", body); s.LocalReply() != nil {
		t.Fatalf("another tenant refused: %d %s", s.LocalReply().Status, s.LocalReply().Body)
	}
	vc.Advance(wait - time.Second)
	if lr := rejected("last-second"); lr == nil || lr.Status != 429 {
		t.Fatalf("a second before the month turns: %+v, want 429", lr)
	}
	vc.Advance(time.Second)
	rec, s := call("new-month", 800, 100)
	if s.LocalReply() != nil || rec.Get("step").Str != "allow" || rec.Get("upstream_model").Str != "gpt-4o" {
		t.Fatalf("new month: %s", rec.Raw)
	}
}
