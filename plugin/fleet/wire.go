package fleet

import (
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/throttle"
)

// The rate limit service's HTTP API: POST /json takes a RateLimitRequest and answers a
// RateLimitResponse, both in protobuf's JSON mapping (envoyproxy/ratelimit's server_impl.go):
// 200 when every descriptor is within its limit, 429 when one is over, 500 otherwise.

// Path is the service's HTTP endpoint.
const Path = "/json"

// requestBody is the RateLimitRequest leasing hits tokens for one key of r: one descriptor whose
// entries are ("rule", the rule's name) and then one per key selector, (selector, value).
func requestBody(dst []byte, domain string, r *Rule, values []string, hits int64) []byte {
	dst = append(dst, `{"domain":`...)
	dst = strconv.AppendQuote(dst, domain)
	dst = append(dst, `,"descriptors":[{"entries":[{"key":"rule","value":`...)
	dst = strconv.AppendQuote(dst, r.Name)
	dst = append(dst, '}')
	for i, s := range r.Key {
		dst = append(dst, `,{"key":`...)
		dst = strconv.AppendQuote(dst, s.String())
		dst = append(dst, `,"value":`...)
		dst = strconv.AppendQuote(dst, DescriptorValue(values[i]))
		dst = append(dst, '}')
	}
	dst = append(dst, `]}],"hitsAddend":`...)
	dst = strconv.AppendInt(dst, hits, 10)
	return append(dst, '}')
}

// DescriptorValue is how a key component travels to the service: Envoy refuses descriptor
// entries with an empty value, so an absent fact is sent as "-".
func DescriptorValue(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

// answer is what a lease call brought back.
type answer struct {
	ok        bool  // the service answered with a descriptor status
	over      bool  // OVER_LIMIT: nothing granted
	limit     int64 // currentLimit.requestsPerUnit, 0 when the descriptor has no limit
	remaining int64 // limitRemaining after the hits
	reset     int64 // ns until the window resets (durationUntilReset)
}

// parseAnswer reads the service's answer to a lease call. Anything but a 200 or 429 carrying a
// descriptor status (a timeout, a connection failure, a 500, a body that is not the service's)
// is a failure.
func parseAnswer(status int, body []byte) answer {
	if (status != 200 && status != 429) || !gjson.ValidBytes(body) {
		return answer{}
	}
	st := gjson.GetBytes(body, "statuses.0")
	if !st.IsObject() {
		return answer{}
	}
	a := answer{ok: true}
	switch code := st.Get("code").String(); code {
	case "OK":
	case "OVER_LIMIT":
		a.over = true
	default:
		return answer{}
	}
	if n := st.Get("currentLimit.requestsPerUnit"); n.Type == gjson.Number {
		a.limit = clamp(n.Int())
	}
	if n := st.Get("limitRemaining"); n.Type == gjson.Number {
		a.remaining = clamp(n.Int())
	}
	if d, ok := protoDuration(st.Get("durationUntilReset").Str); ok {
		a.reset = d
	}
	return a
}

func clamp(n int64) int64 { return min(max(n, 0), 1<<40) }

// protoDuration reads a google.protobuf.Duration in its JSON form ("37s", "0.250s"), at most a
// day (the longest window).
func protoDuration(s string) (int64, bool) {
	num, ok := cutSuffix(s, "s")
	if !ok || num == "" || num[0] == '-' || num[0] == '+' {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f > 86400 {
		return 0, false
	}
	return int64(f * float64(time.Second)), true
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) < len(suffix) || s[len(s)-len(suffix):] != suffix {
		return s, false
	}
	return s[:len(s)-len(suffix)], true
}

// keyValues fills dst with the rule's key values for q, in selector order.
func keyValues(dst []string, r *Rule, q *throttle.Request) []string {
	dst = dst[:0]
	for _, s := range r.Key {
		dst = append(dst, r.SelectorValue(s, q))
	}
	return dst
}
