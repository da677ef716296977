package anthropic

import (
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// DecodeError reads an Anthropic error body ({"type":"error","error":{"type","message"}}).
// The error type decides the kind when it is known; the status otherwise.
func DecodeError(status int, body string) hub.Error {
	e := hub.Error{Status: status, Kind: hub.KindForStatus(status)}
	root := gjson.Parse(body)
	if gjson.Valid(body) {
		if k, ok := kindFromType(root.Get("error.type").Str); ok {
			e.Kind = k
		}
		if m := root.Get("error.message"); m.Type == gjson.String && m.Str != "" {
			e.Message = strings.Clone(m.Str)
		}
	}
	if e.Message == "" {
		e.Message = "upstream returned HTTP " + strconv.Itoa(status)
	}
	return e
}

func kindFromType(t string) (hub.ErrorKind, bool) {
	switch t {
	case "invalid_request_error":
		return hub.KindInvalidRequest, true
	case "authentication_error":
		return hub.KindAuthentication, true
	case "permission_error", "billing_error":
		return hub.KindPermission, true
	case "not_found_error":
		return hub.KindNotFound, true
	case "request_too_large":
		return hub.KindTooLarge, true
	case "rate_limit_error":
		return hub.KindRateLimit, true
	case "api_error":
		return hub.KindServer, true
	case "overloaded_error":
		return hub.KindOverloaded, true
	case "timeout_error":
		return hub.KindTimeout, true
	}
	return 0, false
}

// ErrorType is Anthropic's error type for a kind.
func ErrorType(k hub.ErrorKind) string {
	switch k {
	case hub.KindAuthentication:
		return "authentication_error"
	case hub.KindPermission:
		return "permission_error"
	case hub.KindNotFound:
		return "not_found_error"
	case hub.KindTooLarge:
		return "request_too_large"
	case hub.KindRateLimit:
		return "rate_limit_error"
	case hub.KindServer:
		return "api_error"
	case hub.KindOverloaded:
		return "overloaded_error"
	case hub.KindTimeout:
		return "timeout_error"
	}
	return "invalid_request_error"
}

// AppendError appends e as an Anthropic error body and returns the status to answer with:
// overloaded is 529 as Anthropic answers it.
func AppendError(dst []byte, e *hub.Error) (int, []byte) {
	status := e.Status
	if status == 0 {
		status = hub.StatusFor(e.Kind)
	}
	if e.Kind == hub.KindOverloaded {
		status = 529
	}
	return status, appendErrorObject(dst, e)
}

func appendErrorObject(dst []byte, e *hub.Error) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	w.StrField("type", "error")
	w.Key("error")
	w.Obj()
	w.StrField("type", ErrorType(e.Kind))
	w.StrField("message", e.Message)
	w.End()
	w.End()
	return w.Buf
}
