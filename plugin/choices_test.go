package main

import (
	"strconv"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
)

// A request for several completions reserves the completion limit of each: OpenAI's n and
// Gemini's candidateCount multiply the completion part of the token estimate.
func TestTokenEstimateCountsEveryChoice(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		completion       int
	}{
		{"openai-n", "/v1/chat/completions",
			`{"model":"gpt-4o","n":4,"max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}`, 4 * 100},
		{"openai-one", "/v1/chat/completions",
			`{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}`, 100},
		{"gemini-candidates", "/v1beta/models/gemini:generateContent",
			`{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":50,"candidateCount":3}}`, 3 * 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := aiFilter(t, `{"rules":[{"name":"tpm","unit":"llm_tokens","rate":"1000/min","burst":1000}]}`, 1)
			s := h.NewStream()
			s.SendRequestHeaders(post(tc.path, [2]string{"content-length", strconv.Itoa(len(tc.body))}), false)
			s.SendRequestBody([]byte(tc.body), true)
			if lr := s.LocalReply(); lr != nil {
				t.Fatalf("local reply %d %s", lr.Status, lr.Body)
			}
			s.SendResponseHeaders(hostsim.Headers{{":status", "500"}}, true) // no usage: the estimate stays
			cost := (len(tc.body)+3)/4 + tc.completion
			if got := s.Downstream().Headers.Get("x-ratelimit-remaining"); got != strconv.Itoa(1000-cost) {
				t.Errorf("remaining %s, want %d (a reservation of %d)", got, 1000-cost, cost)
			}
		})
	}
}
