package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
)

// remainingSeenBy sends a small request and returns the tokens its RateLimit headers say are left.
func remainingSeenBy(t *testing.T, h *hostsim.Host, id string) int {
	t.Helper()
	s := chatTenant(h, id, "acme", `{"model":"gpt-4o","max_tokens":1,"messages":[{"role":"user","content":"Hi"}]}`)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, true)
	n, err := strconv.Atoi(s.Downstream().Headers.Get("x-ratelimit-remaining"))
	if err != nil {
		t.Fatalf("%s: %v (%v)", id, err, s.Downstream().Headers)
	}
	return n
}

const deltaChunk = `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"TEXT"}}]}` + "\n\n"

// A stream that carries more than its reservation is charged while it is still open: another
// request sees the bucket drained by it before the stream ends; settled only at the end, it
// would see the reservation alone.
func TestStreamChargingDrainsTheBucketWhileOpen(t *testing.T) {
	for _, charge := range []bool{false, true} {
		extra := `"stream_charge_tokens":0,`
		if charge {
			extra = ``
		}
		h, _ := aiFilter(t, `{`+extra+`"rules":[{"name":"tpm","unit":"llm_tokens","rate":"1/min","burst":10000,
			"default_max_tokens":100}]}`, 1)
		s := chatTenant(h, "long", "acme", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
		s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
		before := remainingSeenBy(t, h, "probe-1")
		// 2000 bytes of text: about 500 tokens, five times the reservation's completion part.
		s.SendResponseBody([]byte(strings.Replace(deltaChunk, "TEXT", strings.Repeat("abcd", 500), 1)), false)
		after := remainingSeenBy(t, h, "probe-2")
		drained := before - after - 20 // the first probe's own reservation, about 20 tokens
		if charge && drained < 400 {
			t.Errorf("charged as it flows: the open stream drained %d tokens, want ≥ 400 (before %d, after %d)", drained, before, after)
		}
		if !charge && drained > 50 {
			t.Errorf("settled at the end: the open stream drained %d tokens before its end", drained)
		}
	}
}

// With learn_completion, a request without max_tokens reserves what its model's answers were
// seen to use instead of default_max_tokens.
func TestLearnedEstimateReplacesTheDefault(t *testing.T) {
	h, _ := aiFilter(t, `{"learn_completion":true,"rules":[{"name":"tpm","key":"header:x-tenant","unit":"llm_tokens",
		"rate":"1/min","burst":100000,"default_max_tokens":100}]}`, 2)
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`
	prompt := (len(body) + 3) / 4
	for i, completion := range []int{400, 600, 500, 500} {
		s := chatTenant(h, "teach-"+strconv.Itoa(i), "teacher", body)
		answerJSON(s, 200, usageAnswer("gpt-4o", 10, completion))
	}
	s := chatTenant(h, "learned", "learner", body)
	answerJSON(s, 200, usageAnswer("gpt-4o", 10, 1))
	if got, want := s.Downstream().Headers.Get("x-ratelimit-remaining"), strconv.Itoa(100000-prompt-500); got != want {
		t.Errorf("remaining after a reservation from the learned mean 500 = %s, want %s", got, want)
	}
}

// A spend budget sees an open stream's cost too: its completion so far at the output price.
func TestStreamChargingDrainsASpendBudgetWhileOpen(t *testing.T) {
	h, _ := spendFilter(t, `{"rules":[{"name":"spend","unit":"cost","window":"month","burst":1000000,"default_max_tokens":100}]}`)
	s := chatTenant(h, "long", "acme", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "text/event-stream"}}, false)
	before := remainingSeenBy(t, h, "probe-1")
	s.SendResponseBody([]byte(strings.Replace(deltaChunk, "TEXT", strings.Repeat("abcd", 500), 1)), false)
	after := remainingSeenBy(t, h, "probe-2")
	// About 500 completion tokens at 10 µ, less the 100 reserved: at least 4 000 µ more.
	if drained := before - after - 100; drained < 4000 {
		t.Errorf("the open stream drained %d µ, want ≥ 4000 (before %d, after %d)", drained, before, after)
	}
}
