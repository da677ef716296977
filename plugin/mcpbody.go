package main

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/mcp"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// rebuildBatch is the batch of the messages that go to the server, each byte for byte.
func rebuildBatch(msgs []mcp.Message, fwd []bool, size int) []byte {
	out := make([]byte, 0, size)
	out = append(out, '[')
	for i := range msgs {
		if !fwd[i] {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, msgs[i].Raw...)
	}
	return append(out, ']')
}

// wrapBatch is the gateway's answers as a batch response.
func wrapBatch(answers [][]byte) []byte {
	n := 2
	for _, a := range answers {
		n += len(a) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, a := range answers {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, a...)
	}
	return append(out, ']')
}

// mergeAnswers adds the gateway's answers to the server's JSON answer to a cut-down batch: the
// server's batch, or its single answer, becomes one batch with both. A body that is neither
// (an HTTP error page) is left as it is.
func mergeAnswers(body []byte, answers [][]byte) []byte {
	if len(answers) == 0 {
		return body
	}
	trimmed := strings.TrimSpace(string(body))
	switch {
	case trimmed == "":
		return wrapBatch(answers)
	case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
		inner := strings.TrimSpace(trimmed[1 : len(trimmed)-1])
		out := make([]byte, 0, len(body)+64*len(answers))
		out = append(out, '[')
		out = append(out, inner...)
		for _, a := range answers {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, a...)
		}
		return append(out, ']')
	case strings.HasPrefix(trimmed, "{"):
		return wrapBatch(append([][]byte{[]byte(trimmed)}, answers...))
	}
	return body
}

// mediaType is a content-type without its parameters, in lower case.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// outcomeOf names the gateway's refusal for metrics.
func outcomeOf(code int) string {
	switch code {
	case mcp.InvalidRequest:
		return "invalid"
	case mcp.MethodNotFound:
		return "blocked"
	case mcp.Forbidden:
		return "denied"
	case mcp.Throttled:
		return "reject"
	}
	return "error"
}

// stepAction is the throttle action a call record's step names.
func stepAction(step string) throttle.Action {
	for a := throttle.Allow; a <= throttle.Reject; a++ {
		if a.String() == step {
			return a
		}
	}
	return throttle.Allow
}

// rejectingRule names the first enforced rule that rejected d.
func rejectingRule(d *throttle.Decision) string {
	outs := d.Reservation.Outcomes()
	for i := range outs {
		if o := &outs[i]; !o.Shadow && o.Action == throttle.Reject {
			return o.Rule()
		}
	}
	return ""
}

// errorMessage is the message of a JSON-RPC error answer, for the call record.
func errorMessage(answer []byte) string {
	return gjson.GetBytes(answer, "error.message").String()
}
