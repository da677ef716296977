package report

import (
	"github.com/tidwall/gjson"
)

// Record is the part of a call record (docs/CALL-RECORD.md) the report uses. Its strings may
// point into the reader's buffer: they are valid until the next line, and an Aggregator copies
// the ones it keeps.
type Record struct {
	TsMs      int64
	Tenant    string
	KeyID     string
	Model     string // the upstream model when there is one, else the model asked for
	Provider  string
	Step      string
	ErrorType string
	Status    int64
	TokensIn  int64
	TokensOut int64
	LatencyMs int64
	TTFBMs    int64
	HasTTFB   bool
}

// knownFields are the call record's fields (docs/CALL-RECORD.md), with the JSON type each must
// have; a record with a field of another type is malformed. Fields not listed are counted as
// unknown and ignored.
var knownFields = map[string]gjson.Type{
	"ts_ms": gjson.Number, "request_id": gjson.String, "method": gjson.String, "path": gjson.String,
	"dialect": gjson.String, "tenant": gjson.String, "key_id": gjson.String, "route": gjson.String,
	"model": gjson.String, "upstream_model": gjson.String, "provider": gjson.String, "step": gjson.String,
	"status": gjson.Number, "tokens_in": gjson.Number, "tokens_out": gjson.Number,
	"latency_ms": gjson.Number, "error": gjson.String, "error_type": gjson.String, "rule": gjson.String,
	"shape_delay_ms": gjson.Number, "tokens_estimated": gjson.Number, "ttfb_ms": gjson.Number,
	"request_bytes": gjson.Number, "response_bytes": gjson.Number, "stream": gjson.True,
	// Any type: written by the filter, not used here.
	"provider_request_id": gjson.Null, "version": gjson.Null, "mcp_method": gjson.Null, "tool": gjson.Null,
	"throttle_overflow": gjson.Null, "usage_estimated": gjson.Null, "cost_micros": gjson.Null, "attempts": gjson.Null,
}

// The timestamps a record may carry (2000-01-01 to 2200-01-01 UTC): anything else is a broken
// record, and would stretch the period over centuries.
const (
	minTsMs = 946684800000
	maxTsMs = 7258118400000
)

// What parseRecord found.
type parsed uint8

const (
	isRecord  parsed = iota
	notRecord        // valid JSON without ts_ms: another kind of log line
	badRecord        // a record that cannot be used: a field of the wrong type, ts_ms out of range
)

// parseRecord reads one JSON object into r; unknown counts the fields it does not know. js must
// be valid JSON.
func parseRecord(js string, r *Record) (res parsed, unknown int) {
	*r = Record{}
	ok, hasTs := true, false
	var model, upstream string
	gjson.Parse(js).ForEach(func(k, v gjson.Result) bool {
		want, known := knownFields[k.Str]
		switch {
		case !known:
			unknown++
			return true
		case want == gjson.Null:
			return true
		case v.Type != want && !(want == gjson.True && v.Type == gjson.False):
			ok = false
			return false
		}
		switch k.Str {
		case "ts_ms":
			r.TsMs, hasTs = v.Int(), true
		case "tenant":
			r.Tenant = v.Str
		case "key_id":
			r.KeyID = v.Str
		case "model":
			model = v.Str
		case "upstream_model":
			upstream = v.Str
		case "provider":
			r.Provider = v.Str
		case "step":
			r.Step = v.Str
		case "error_type":
			r.ErrorType = v.Str
		case "status":
			r.Status = v.Int()
		case "tokens_in":
			r.TokensIn = max(v.Int(), 0)
		case "tokens_out":
			r.TokensOut = max(v.Int(), 0)
		case "latency_ms":
			r.LatencyMs = max(v.Int(), 0)
		case "ttfb_ms":
			r.TTFBMs, r.HasTTFB = max(v.Int(), 0), true
		}
		return true
	})
	switch {
	case !hasTs && ok:
		return notRecord, unknown
	case !ok || r.TsMs < minTsMs || r.TsMs > maxTsMs:
		return badRecord, unknown
	}
	r.Model = model
	if upstream != "" {
		r.Model = upstream
	}
	if r.ErrorType == "" {
		r.ErrorType = guessErrorType(r.Status, r.Step)
	}
	return isRecord, unknown
}

// guessErrorType classifies records written before error_type existed, the way the filter does.
func guessErrorType(status int64, step string) string {
	switch {
	case status == 0 || status < 400:
		return ""
	case step == "reject" && (status == 429 || status == 503):
		return "throttle"
	case status == 429 || status >= 500:
		return "provider"
	}
	return "client"
}
