package mockprovider

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// dialect is one provider's API: the same small set of functions per provider, so that adding a
// provider is copying a shape.
type dialect interface {
	// route maps method and path to an endpoint, or answers the provider's "not found".
	route(r *http.Request, s *Server) (route, *apiError)
	// authenticate checks the provider's credential header against s's keys.
	authenticate(r *http.Request, s *Server) *apiError
	// parse validates the request strictly and extracts what the reply needs.
	parse(rt route, r *http.Request, body []byte, s *Server) (*call, *apiError)
	// statusError is the provider's error body for an injected status fault.
	statusError(f Fault) *apiError
	// modelNotFound is the provider's answer for a model it does not serve.
	modelNotFound(model string) *apiError
	// listModels is the body of the provider's list-models endpoint.
	listModels(s *Server) []byte
	// respond renders a non-streamed answer.
	respond(c *call, rep reply) []byte
	// stream renders a streamed answer as frames to flush one by one; firstContent is the index
	// of the first frame carrying reply content (where Break and Malformed faults strike).
	stream(c *call, rep reply) (contentType string, frames [][]byte, firstContent int)
	// headers adds the provider's usual response headers (request ids …).
	headers(h http.Header, id string)
}

// embedder is implemented by dialects with an embeddings API: it validates the request as
// strictly as parse does and renders the whole answer.
type embedder interface {
	embeddings(rt route, r *http.Request, body []byte, s *Server) ([]byte, *apiError)
}

// errorFinisher is implemented by dialects whose error bodies carry the request id.
type errorFinisher interface {
	finishError(body []byte, id string) []byte
}

type endpoint int

const (
	epChat endpoint = iota + 1
	epModels
	epEmbeddings  // OpenAI, Azure, Gemini (embedContent, batchEmbedContents) and Ollama (/api/embed)
	epCountTokens // Anthropic /v1/messages/count_tokens
)

// route is what the path of a request says.
type route struct {
	ep     endpoint
	model  string // model or Azure deployment named by the path
	stream bool   // Gemini streamGenerateContent
	sse    bool   // Gemini alt=sse
	batch  bool   // Gemini batchEmbedContents
}

// apiError is a complete error answer in one provider's shape.
type apiError struct {
	status      int
	header      http.Header
	body        []byte
	contentType string
}

// call is a validated request, reduced to what the reply needs.
type call struct {
	id      string
	created time.Time
	model   string
	stream  bool
	conv    conversation
	n       int  // OpenAI n (choices)
	usage   bool // OpenAI stream_options.include_usage
	sse     bool // Gemini alt=sse
}

// marshal renders v as compact JSON without HTML escaping, as the providers do.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("mockprovider: marshal: " + err.Error()) // only our own response types get here
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// jsonKind names the JSON type of v.
func jsonKind(v gjson.Result) string {
	switch v.Type {
	case gjson.Null:
		return "null"
	case gjson.False, gjson.True:
		return "boolean"
	case gjson.Number:
		return "number"
	case gjson.String:
		return "string"
	default:
		if v.IsArray() {
			return "array"
		}
		return "object"
	}
}

// isInt reports whether v is a JSON number written as an integer.
func isInt(v gjson.Result) bool {
	return v.Type == gjson.Number && !strings.ContainsAny(v.Raw, ".eE")
}

func isBool(v gjson.Result) bool { return v.Type == gjson.True || v.Type == gjson.False }

// member is one key of a JSON object, in document order.
type member struct {
	key string
	val gjson.Result
}

func members(v gjson.Result) []member {
	var out []member
	v.ForEach(func(k, val gjson.Result) bool {
		out = append(out, member{k.String(), val})
		return true
	})
	return out
}

// field returns the member named key of an object (gjson's Get would interpret path syntax).
func field(v gjson.Result, key string) gjson.Result {
	var out gjson.Result
	v.ForEach(func(k, val gjson.Result) bool {
		if k.String() == key {
			out = val
			return false
		}
		return true
	})
	return out
}

// compactJSON returns raw JSON without insignificant whitespace, keeping key order.
func compactJSON(raw string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return raw
	}
	return b.String()
}

// rfc3339 formats t as the providers do in JSON timestamps.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
