package openai

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// DecodeError reads an error body from OpenAI or an OpenAI-compatible server. Servers differ
// ({"error":{"message":...}}, {"error":"..."}, {"message":...}, {"detail":...}); whatever
// carries a message wins, and a body with none gets a generic message.
func DecodeError(status int, body string) hub.Error {
	e := hub.Error{Status: status, Kind: hub.KindForStatus(status)}
	root := gjson.Parse(body)
	if !gjson.Valid(body) || !root.IsObject() {
		e.Message = "upstream returned HTTP " + itoa(status)
		return e
	}
	for _, path := range [...]string{"error.message", "error", "message", "detail.0.msg", "detail"} {
		if m := root.Get(path); m.Type == gjson.String && m.Str != "" {
			e.Message = strings.Clone(m.Str)
			break
		}
	}
	if p := root.Get("error.param"); p.Type == gjson.String {
		e.Param = strings.Clone(p.Str)
	}
	if e.Message == "" {
		e.Message = "upstream returned HTTP " + itoa(status)
	}
	return e
}

// ErrorType is the OpenAI error type for a kind.
func ErrorType(k hub.ErrorKind) string {
	switch k {
	case hub.KindAuthentication:
		return "authentication_error"
	case hub.KindPermission:
		return "permission_error"
	case hub.KindNotFound:
		return "not_found_error"
	case hub.KindRateLimit:
		return "rate_limit_error"
	case hub.KindServer, hub.KindOverloaded, hub.KindTimeout:
		return "server_error"
	}
	return "invalid_request_error"
}

// AppendError appends e as an OpenAI error body and returns the status to answer with (an
// Anthropic 529 becomes 503, which OpenAI clients retry).
func AppendError(dst []byte, e *hub.Error) (int, []byte) {
	status := e.Status
	if status == 529 || status == 0 {
		status = hub.StatusFor(e.Kind)
	}
	return status, appendErrorObject(dst, e)
}

func appendErrorObject(dst []byte, e *hub.Error) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	w.Key("error")
	w.Obj()
	w.StrField("message", e.Message)
	w.StrField("type", ErrorType(e.Kind))
	w.Key("param")
	if e.Param != "" {
		w.Str(e.Param)
	} else {
		w.Null()
	}
	w.Key("code")
	w.Null()
	w.End()
	w.End()
	return w.Buf
}
