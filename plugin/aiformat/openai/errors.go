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
	if c := root.Get("error.code"); c.Type == gjson.String {
		e.Code = strings.Clone(c.Str)
	}
	if e.Message == "" {
		e.Message = "upstream returned HTTP " + itoa(status)
	}
	return e
}

// ErrorType is the OpenAI error type for a kind. OpenAI files almost every client error under
// invalid_request_error (an unknown model, a bad key, a forbidden model: the code tells them
// apart) and a rate limit under the limit that was hit, "requests" or "tokens".
func ErrorType(k hub.ErrorKind) string {
	switch k {
	case hub.KindRateLimit:
		return "requests"
	case hub.KindServer, hub.KindOverloaded, hub.KindTimeout:
		return "server_error"
	}
	return "invalid_request_error"
}

// errorCode is the code OpenAI sends with a kind when the error names none of its own.
func errorCode(e *hub.Error) string {
	switch {
	case e.Code != "":
		return e.Code
	case e.Kind == hub.KindRateLimit:
		return "rate_limit_exceeded"
	case e.Kind == hub.KindAuthentication:
		return "invalid_api_key"
	}
	return ""
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
	if code := errorCode(e); code != "" {
		w.Str(code)
	} else {
		w.Null()
	}
	w.End()
	w.End()
	return w.Buf
}
