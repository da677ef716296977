package aiformat

import (
	"strconv"
	"unsafe"

	"github.com/stepgate/stepgate/plugin/aiformat/anthropic"
	"github.com/stepgate/stepgate/plugin/aiformat/gemini"
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
)

// Request is a client's AI request, understood: its dialect, the hub (OpenAI) form of its
// body, and what the throttle needs to know.
type Request struct {
	Dialect  Dialect
	Endpoint Endpoint
	Model    string // the model the client asked for (the routing key)
	Stream   bool
	// WantsUsage: the client expects usage in its stream. Anthropic and Gemini streams always
	// carry it; OpenAI's only with stream_options.include_usage.
	WantsUsage bool
	// MaxTokens is the completion budget the client set (0: none, the provider's default).
	MaxTokens int64
	// PromptTokens is an estimate of the prompt size (about 4 characters per token), for token
	// buckets before the provider reports the real count.
	PromptTokens int64
	View         hub.View

	Hub  []byte // the hub form of the body (the body itself for OpenAI clients)
	Body []byte // the body as received

	maxTokensCap int64
}

// SetMaxTokens caps the completion tokens the upstream request will allow (the throttle's
// degrade step). It applies to the body Route builds.
func (r *Request) SetMaxTokens(n int64) {
	r.maxTokensCap = n
	if r.MaxTokens == 0 || r.MaxTokens > n {
		r.MaxTokens = n
	}
}

// SetModel changes the model the request is routed by (the throttle's swap-to-a-cheaper-model
// step).
func (r *Request) SetModel(m string) { r.Model = m }

// CheckSize refuses a body larger than the configured limit; the filter may call it at
// request headers with the content-length to refuse before buffering.
func (c *Config) CheckSize(d Dialect, n int) *Error {
	if c.MaxBodyBytes > 0 && n > c.MaxBodyBytes {
		return render(d, &hub.Error{Status: 413, Kind: hub.KindTooLarge,
			Message: "request body is " + strconv.Itoa(n) + " bytes, over the limit of " + strconv.Itoa(c.MaxBodyBytes)})
	}
	return nil
}

// ParseRequest recognises and translates a client request. query is the URL query (Gemini's
// alt=sse); it may also be left in path. body is kept by reference in the Request: the caller
// must not modify it afterwards. Errors are rendered in the client's dialect.
func (c *Config) ParseRequest(method, path, query string, body []byte) (*Request, *Error) {
	d, ep := Match(method, path)
	if ep == EndpointNone {
		return nil, NewError(DialectOpenAI, 404, "not an AI endpoint: "+method+" "+path)
	}
	r := &Request{Dialect: d, Endpoint: ep, Body: body}
	if ep == EndpointModels {
		return r, nil
	}
	if err := c.CheckSize(d, len(body)); err != nil {
		return nil, err
	}
	if err := r.toHub(path, query); err != nil {
		return nil, render(d, err)
	}
	inspect := openai.Inspect
	if d != DialectOpenAI {
		inspect = openai.InspectValid // the codecs wrote it: well-formed by construction
	}
	v, err := inspect(bstr(r.Hub))
	if err != nil {
		return nil, render(d, err)
	}
	r.View = v
	r.Model = v.Model
	r.Stream = v.Stream
	r.WantsUsage = v.IncludeUsage || d != DialectOpenAI
	r.MaxTokens = v.MaxTokens
	r.PromptTokens = v.EstimatedPromptTokens()
	return r, nil
}

func (r *Request) toHub(path, query string) *hub.Error {
	body := bstr(r.Body)
	switch r.Dialect {
	case DialectAnthropic:
		h, err := anthropic.RequestToHub(make([]byte, 0, len(body)+len(body)/4), body)
		r.Hub = h
		return err
	case DialectGemini:
		model, stream, _ := gemini.ParsePath(pathOnly(path))
		if stream && !hasAltSSE(path, query) {
			return hub.Invalid("alt", "streamGenerateContent is supported with alt=sse only")
		}
		h, err := gemini.RequestToHub(make([]byte, 0, len(body)+len(body)/4), body, model, stream)
		r.Hub = h
		return err
	}
	r.Hub = r.Body
	return nil
}

func pathOnly(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] == '?' {
			return p[:i]
		}
	}
	return p
}

func hasAltSSE(path, query string) bool {
	return containsParam(query, "alt=sse") || containsParam(queryOf(path), "alt=sse")
}

func queryOf(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] == '?' {
			return p[i+1:]
		}
	}
	return ""
}

func containsParam(q, kv string) bool {
	for len(q) > 0 {
		i := 0
		for i < len(q) && q[i] != '&' {
			i++
		}
		if q[:i] == kv {
			return true
		}
		if i == len(q) {
			break
		}
		q = q[i+1:]
	}
	return false
}

// bstr views b as a string without copying; the codecs only read it.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
