package throttle

import "testing"

// Every completion a request asks for may use the whole completion limit: n (OpenAI) and
// candidateCount (Gemini) multiply the completion part of the estimate.
func TestEstimateCountsEveryChoice(t *testing.T) {
	for _, tc := range []struct {
		body         string
		max, choices int64
		estimate     int64 // with default_max_tokens 100
	}{
		{`{"n":4,"max_tokens":50}`, 50, 4, 6 + 4*50},
		{`{"max_completion_tokens":10,"n":1}`, 10, 1, 9 + 10},
		{`{"n":3}`, 0, 3, 2 + 3*100},
		{`{"generationConfig":{"maxOutputTokens":20,"candidateCount":2}}`, 20, 2, 16 + 2*20},
		{`{"n":0,"max_tokens":7}`, 7, 0, 6 + 7},
		{`{"n":"4","max_tokens":7}`, 7, 0, 6 + 7},
	} {
		var q Request
		q.EstimateFromBody([]byte(tc.body))
		if q.MaxTokens != tc.max || q.Choices != tc.choices {
			t.Errorf("%s: max %d choices %d, want %d %d", tc.body, q.MaxTokens, q.Choices, tc.max, tc.choices)
		}
		if got := q.TokenEstimate(100); got != tc.estimate {
			t.Errorf("%s: estimate %d, want %d", tc.body, got, tc.estimate)
		}
	}
	if got := (&Request{MaxTokens: 1 << 40, Choices: 1 << 40}).TokenEstimate(0); got != (1<<40)*maxChoices {
		t.Errorf("huge n: estimate %d, want it capped at %d choices", got, maxChoices)
	}
}

// A rule reserves the tokens of every choice, and a degrade step's max_tokens caps each choice.
func TestChoicesAreReservedAndDegraded(t *testing.T) {
	th := newThrottler(t, oneRule(`{"name":"t","unit":"llm_tokens","rate":"1000/min","burst":1000,
		"steps":[{"below":"50%","action":"degrade","max_tokens":10}]}`), nil)
	d := th.Decide(0, &Request{PromptChars: 40, MaxTokens: 100, Choices: 4}) // 10 + 4 × 100
	if o := outcome(t, &d); d.Action != Allow || o.Cost != 410 {
		t.Fatalf("%v cost %d, want allow 410", d.Action, o.Cost)
	}
	d = th.Decide(0, &Request{PromptChars: 40, MaxTokens: 100, Choices: 4}) // would leave 180: degrade
	if o := outcome(t, &d); d.Action != Degrade || o.Cost != 10+4*10 {
		t.Fatalf("%v cost %d, want degrade 50", d.Action, o.Cost)
	}
}

// A request that produces no completion (embeddings) reserves its prompt only.
func TestEstimateWithoutCompletion(t *testing.T) {
	q := Request{PromptChars: 40, MaxTokens: 0, Choices: 3, ExpectedTokens: 50, NoCompletion: true}
	if got := q.TokenEstimate(100); got != 10 {
		t.Errorf("estimate %d, want the 10 prompt tokens only", got)
	}
}
