package mockprovider

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// OpenAI's error body: {"error":{"message","type","param","code"}} with null for absent values.
type oaiErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func oaiErr(status int, msg, typ, param, code string) *apiError {
	var b oaiErrorBody
	b.Error.Message, b.Error.Type = msg, typ
	b.Error.Param, b.Error.Code = nullable(param), nullable(code)
	return &apiError{status: status, body: marshal(b)}
}

func oaiInvalid(msg, param, code string) *apiError {
	return oaiErr(http.StatusBadRequest, msg, "invalid_request_error", param, code)
}

const oaiBadJSON = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your " +
	"HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have " +
	"trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)"

// oaiTypeWord names a JSON value's type as OpenAI's validator does ("an integer", "a decimal" …).
func oaiTypeWord(v gjson.Result) string {
	switch jsonKind(v) {
	case "null":
		return "null"
	case "boolean":
		return "a boolean"
	case "number":
		if isInt(v) {
			return "an integer"
		}
		return "a decimal"
	case "string":
		return "a string"
	case "array":
		return "an array"
	}
	return "an object"
}

func oaiInvalidType(param, expected string, got gjson.Result) *apiError {
	return oaiInvalid(fmt.Sprintf("Invalid type for '%s': expected %s, but got %s instead.", param, expected, oaiTypeWord(got)),
		param, "invalid_type")
}

func oaiUnknown(param string) *apiError {
	return oaiInvalid(fmt.Sprintf("Unknown parameter: '%s'.", param), param, "unknown_parameter")
}

func oaiMissing(param string) *apiError {
	return oaiInvalid(fmt.Sprintf("Missing required parameter: '%s'.", param), param, "missing_required_parameter")
}

func oaiInvalidValue(param, got string, supported []string) *apiError {
	return oaiInvalid(fmt.Sprintf("Invalid value: '%s'. Supported values are: %s.", got, quotedList(supported)), param, "invalid_value")
}

// quotedList renders 'a', 'b', and 'c' (or 'a' and 'b', or 'a').
func quotedList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "'" + v + "'"
	}
	switch len(q) {
	case 1:
		return q[0]
	case 2:
		return q[0] + " and " + q[1]
	}
	return strings.Join(q[:len(q)-1], ", ") + ", and " + q[len(q)-1]
}

// oaiRange reports a number outside [lo, hi]: "Invalid 'temperature': decimal above maximum value.
// Expected a value <= 2, but got 3 instead."
func oaiRange(param string, v gjson.Result, lo, hi float64, integer bool) *apiError {
	kind := "decimal"
	if integer {
		kind = "integer"
	}
	f := v.Float()
	fmtNum := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch {
	case f < lo:
		return oaiInvalid(fmt.Sprintf("Invalid '%s': %s below minimum value. Expected a value >= %s, but got %s instead.",
			param, kind, fmtNum(lo), v.Raw), param, kind+"_below_min_value")
	case f > hi:
		return oaiInvalid(fmt.Sprintf("Invalid '%s': %s above maximum value. Expected a value <= %s, but got %s instead.",
			param, kind, fmtNum(hi), v.Raw), param, kind+"_above_max_value")
	}
	return nil
}

// Azure's own (gateway-level) error body: {"error":{"code","message"}}.
func azureErr(status int, code, msg string) *apiError {
	type body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	var b body
	b.Error.Code, b.Error.Message = code, msg
	return &apiError{status: status, body: marshal(b)}
}

// maskKey shows a rejected key the way OpenAI does: a prefix, stars, the last four characters.
func maskKey(k string) string {
	if len(k) <= 8 {
		return strings.Repeat("*", len(k))
	}
	return k[:3] + strings.Repeat("*", len(k)-7) + k[len(k)-4:]
}

func retryHeaders(f Fault, azure bool) http.Header {
	h := http.Header{}
	if f.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ceilSeconds(f.RetryAfter)))
		if azure {
			h.Set("Retry-After-Ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
		}
	}
	return h
}

func (d openaiDialect) statusError(f Fault) *apiError {
	wait := ceilSeconds(f.RetryAfter)
	if d.azure {
		code, msg := strconv.Itoa(f.Status), f.Message
		switch {
		case msg != "":
		case f.Status == 429:
			msg = fmt.Sprintf("Requests to the ChatCompletions_Create Operation under Azure OpenAI API have exceeded call "+
				"rate limit of your current OpenAI S0 pricing tier. Please retry after %d seconds.", wait)
		case f.Status == 500:
			code, msg = "InternalServerError", "The service is temporarily unable to process your request. Please try again later."
		case f.Status == 503:
			code, msg = "ServiceUnavailable", "The service is temporarily unable to process your request. Please try again later."
		default:
			msg = http.StatusText(f.Status)
		}
		e := azureErr(f.Status, code, msg)
		e.header = retryHeaders(f, true)
		return e
	}
	msg, typ, code := f.Message, "invalid_request_error", ""
	switch f.Status {
	case 429:
		typ, code = "requests", "rate_limit_exceeded"
		if msg == "" {
			msg = fmt.Sprintf("Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in %ds.", wait)
		}
	case 500:
		typ = "server_error"
		if msg == "" {
			msg = "The server had an error while processing your request. Sorry about that!"
		}
	case 503:
		typ = "server_error"
		if msg == "" {
			msg = "The server is overloaded or not ready yet."
		}
	default:
		if f.Status >= 500 {
			typ = "server_error"
		}
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
	}
	e := oaiErr(f.Status, msg, typ, "", code)
	e.header = retryHeaders(f, false)
	return e
}

func (d openaiDialect) modelNotFound(model string) *apiError {
	if d.azure {
		return azureErr(http.StatusNotFound, "DeploymentNotFound", "The API deployment for this resource does not exist. "+
			"If you created the deployment within the last 5 minutes, please wait a moment and try again.")
	}
	return oaiErr(http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model),
		"invalid_request_error", "", "model_not_found")
}
