// Package calllog holds the per-call log record: one JSON object per stream, written when the
// stream ends, with what an operator needs to analyse traffic (tenant, key id, route, model,
// provider, throttle step, status, tokens, latency). Secrets never enter a Record: keys appear only
// by their configured id.
//
// Records are encoded by appending to a caller-owned buffer, without reflection, because one is
// written for every request inside the VM.
package calllog

import (
	"strconv"
	"unicode/utf8"
)

// Record is one call. Empty strings and zero numbers are left out of the JSON. docs/CALL-RECORD.md
// documents every field; its names are stable, since reports and log pipelines key on them.
type Record struct {
	StartUnixMs int64  // wall-clock start
	RequestID   string // x-request-id

	// ProviderRequestID is the provider's own id for the call (OpenAI's x-request-id,
	// Anthropic's request-id, Azure's apim-request-id), for matching the provider's records.
	ProviderRequestID string

	Method        string
	Path          string
	Dialect       string // the client's API format
	Tenant        string
	KeyID         string
	Route         string
	Version       string // of the route or prompt
	Model         string // as the client asked
	UpstreamModel string // as sent to the provider
	Provider      string
	Step          string // throttle step taken: allow, shape, degrade, reject
	MCPMethod     string // the JSON-RPC method of an MCP request (the first request's, in a batch)
	Tool          string // the tool of an MCP tools/call
	Status        int
	TokensIn      int64
	TokensOut     int64
	LatencyMs     int64
	Error         string
	// ThrottleOverflow names the throttle rules (comma-separated) that charged the call to their
	// overflow bucket: its key found no place in the rule's key table.
	ThrottleOverflow string

	// Rule is the throttle rule whose step decided (the most severe one).
	Rule string
	// ShapeDelayMs is how long shaping held the request.
	ShapeDelayMs int64
	// TokensEstimated is the LLM tokens reserved up front (estimated prompt + completion limit).
	TokensEstimated int64
	// FirstByteMs is the time from sending the request upstream to the response headers, written
	// only when FirstByte is set (a real 0 ms must not look like "no upstream answer").
	FirstByteMs int64
	FirstByte   bool
	// RequestBytes and ResponseBytes are the client's request body and the body sent back.
	RequestBytes  int64
	ResponseBytes int64
	// ErrorType says who failed a call: client, throttle, provider or gateway.
	ErrorType string
	// Stream marks a streamed (SSE) response.
	Stream bool
	// UsageEstimated: the provider reports no usage for this kind of call (Gemini's embeddings),
	// so TokensIn is the filter's estimate of the input.
	UsageEstimated bool
	// CostMicros is the call's cost in micro-units of the pricing section's currency, from the
	// reported usage at the upstream model's prices; 0 when unpriced.
	CostMicros int64
	// Attempts lists, for a request that failed over, each backend in order: the first one,
	// then every fallback sent or skipped. Empty when the first backend answered.
	Attempts []Attempt
}

// Attempt is one backend a failing-over request went to, or skipped.
type Attempt struct {
	Provider   string
	Model      string // upstream model
	Status     int    // the provider's status; 0 when no answer came (or none was asked for)
	DurationMs int64
	Outcome    string // served, failed, no_answer (the call failed or timed out), throttled
}

// AppendJSON appends r as one JSON object (no trailing newline) to dst.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"ts_ms":`...)
	dst = strconv.AppendInt(dst, r.StartUnixMs, 10)
	dst = field(dst, "request_id", r.RequestID)
	dst = field(dst, "provider_request_id", r.ProviderRequestID)
	dst = field(dst, "method", r.Method)
	dst = field(dst, "path", r.Path)
	dst = field(dst, "dialect", r.Dialect)
	dst = field(dst, "tenant", r.Tenant)
	dst = field(dst, "key_id", r.KeyID)
	dst = field(dst, "route", r.Route)
	dst = field(dst, "version", r.Version)
	dst = field(dst, "model", r.Model)
	dst = field(dst, "upstream_model", r.UpstreamModel)
	dst = field(dst, "provider", r.Provider)
	dst = field(dst, "step", r.Step)
	dst = field(dst, "mcp_method", r.MCPMethod)
	dst = field(dst, "tool", r.Tool)
	dst = number(dst, "status", int64(r.Status))
	dst = number(dst, "tokens_in", r.TokensIn)
	dst = number(dst, "tokens_out", r.TokensOut)
	if r.UsageEstimated {
		dst = append(dst, `,"usage_estimated":true`...)
	}
	dst = number(dst, "cost_micros", r.CostMicros)
	dst = append(dst, `,"latency_ms":`...)
	dst = strconv.AppendInt(dst, r.LatencyMs, 10)
	dst = field(dst, "error", r.Error)
	dst = field(dst, "throttle_overflow", r.ThrottleOverflow)
	dst = field(dst, "error_type", r.ErrorType)
	dst = field(dst, "rule", r.Rule)
	dst = number(dst, "shape_delay_ms", r.ShapeDelayMs)
	dst = number(dst, "tokens_estimated", r.TokensEstimated)
	if r.FirstByte {
		dst = append(dst, `,"ttfb_ms":`...)
		dst = strconv.AppendInt(dst, r.FirstByteMs, 10)
	}
	dst = number(dst, "request_bytes", r.RequestBytes)
	dst = number(dst, "response_bytes", r.ResponseBytes)
	if r.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if len(r.Attempts) > 0 {
		dst = appendAttempts(dst, r.Attempts)
	}
	return append(dst, '}')
}

func appendAttempts(dst []byte, as []Attempt) []byte {
	dst = append(dst, `,"attempts":[`...)
	for i := range as {
		a := &as[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"provider":`...)
		dst = AppendString(dst, a.Provider)
		dst = append(dst, `,"model":`...)
		dst = AppendString(dst, a.Model)
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(a.Status), 10)
		dst = append(dst, `,"duration_ms":`...)
		dst = strconv.AppendInt(dst, a.DurationMs, 10)
		dst = append(dst, `,"outcome":`...)
		dst = AppendString(dst, a.Outcome)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func field(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return AppendString(dst, value)
}

func number(dst []byte, name string, n int64) []byte {
	if n == 0 {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return strconv.AppendInt(dst, n, 10)
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so the record stays valid
// JSON whatever a client sent in a path or header.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
