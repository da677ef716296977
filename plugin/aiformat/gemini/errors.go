package gemini

import (
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// DecodeError reads a Google API error ({"error":{"code","message","status"}}). Gemini also
// answers some stream errors as a JSON array of one such object.
func DecodeError(status int, body string) hub.Error {
	e := hub.Error{Status: status, Kind: hub.KindForStatus(status)}
	if gjson.Valid(body) {
		root := gjson.Parse(body)
		if root.IsArray() {
			root = root.Get("0")
		}
		if k, ok := kindFromStatus(root.Get("error.status").Str); ok {
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

func kindFromStatus(s string) (hub.ErrorKind, bool) {
	switch s {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		return hub.KindInvalidRequest, true
	case "UNAUTHENTICATED":
		return hub.KindAuthentication, true
	case "PERMISSION_DENIED":
		return hub.KindPermission, true
	case "NOT_FOUND":
		return hub.KindNotFound, true
	case "RESOURCE_EXHAUSTED":
		return hub.KindRateLimit, true
	case "INTERNAL", "UNKNOWN":
		return hub.KindServer, true
	case "UNAVAILABLE":
		return hub.KindOverloaded, true
	case "DEADLINE_EXCEEDED":
		return hub.KindTimeout, true
	}
	return 0, false
}

// Status is the google.rpc status name for a kind.
func Status(k hub.ErrorKind) string {
	switch k {
	case hub.KindAuthentication:
		return "UNAUTHENTICATED"
	case hub.KindPermission:
		return "PERMISSION_DENIED"
	case hub.KindNotFound:
		return "NOT_FOUND"
	case hub.KindRateLimit:
		return "RESOURCE_EXHAUSTED"
	case hub.KindServer:
		return "INTERNAL"
	case hub.KindOverloaded:
		return "UNAVAILABLE"
	case hub.KindTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "INVALID_ARGUMENT"
}

// AppendError appends e as a Google API error and returns the status (529 becomes 503).
func AppendError(dst []byte, e *hub.Error) (int, []byte) {
	status := e.Status
	if status == 529 || status == 0 {
		status = hub.StatusFor(e.Kind)
	}
	return status, appendErrorObject(dst, status, e)
}

func appendErrorObject(dst []byte, status int, e *hub.Error) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	w.Key("error")
	w.Obj()
	w.IntField("code", int64(status))
	w.StrField("message", e.Message)
	w.StrField("status", Status(e.Kind))
	w.End()
	w.End()
	return w.Buf
}
