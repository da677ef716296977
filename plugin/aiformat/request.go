package aiformat

import (
	"strconv"
	"unsafe"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
	"github.com/stepgate/stepgate/plugin/internal/vmsync"
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
	emb          embedInput // an embeddings request's input and options
}

// docCache keeps the parsed form of the last request body and hub body ParseRequest indexed,
// so that Route, which normally follows at once, does not parse them again (parsing is most of
// a translation's cost inside wasm). A Doc is taken out while in use, so concurrent callers
// never share one; a Doc that no longer holds the wanted text is simply parsed again.
type docCache struct {
	mu        vmsync.Mutex
	hub, body *jsonx.Doc
}

func (c *docCache) take(slot **jsonx.Doc) *jsonx.Doc {
	c.mu.Lock()
	d := *slot
	*slot = nil
	c.mu.Unlock()
	if d == nil {
		d = new(jsonx.Doc)
	}
	return d
}

func (c *docCache) put(slot **jsonx.Doc, d *jsonx.Doc) {
	c.mu.Lock()
	*slot = d
	c.mu.Unlock()
}

// parsed returns a Doc holding src (parsed now unless the cached one already does) and whether
// src is valid JSON. Give it back with put.
func (c *docCache) parsed(slot **jsonx.Doc, src string) (*jsonx.Doc, bool) {
	d := c.take(slot)
	if d.Holds(src) {
		return d, d.Root().Exists()
	}
	return d, d.Parse(src)
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
	r := new(Request)
	if err := c.ParseRequestInto(r, method, path, query, body); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseRequestInto is ParseRequest into storage of the caller's: a stream's, reused from one
// request to the next, where inside the VM an allocation per request costs more than filling it.
func (c *Config) ParseRequestInto(r *Request, method, path, query string, body []byte) *Error {
	d, ep := Match(method, path)
	if ep == EndpointNone {
		return NewError(PathDialect(path), 404, "not an AI endpoint: "+method+" "+path)
	}
	*r = Request{Dialect: d, Endpoint: ep, Body: body}
	if ep == EndpointModels || ep == EndpointModel {
		return nil
	}
	if err := c.CheckSize(d, len(body)); err != nil {
		return err
	}
	if ep == EndpointEmbeddings {
		if err := r.parseEmbeddings(); err != nil {
			return render(d, err)
		}
		return nil
	}
	if err := r.toHub(&c.docs, path, query); err != nil {
		return render(d, err)
	}
	v, err := c.docs.inspectHub(r.Hub, d)
	if err != nil {
		return render(d, err)
	}
	r.View = v
	r.Model = v.Model
	r.Stream = v.Stream
	r.WantsUsage = v.IncludeUsage || d != DialectOpenAI
	r.MaxTokens = v.MaxTokens
	r.PromptTokens = v.EstimatedPromptTokens()
	return nil
}

// inspectHub parses a hub body into the cached hub Doc (where Route finds it) and checks it.
// The Doc goes back without a deferred call, which inside the VM costs more than the call.
func (c *docCache) inspectHub(body []byte, d Dialect) (hub.View, *hub.Error) {
	h := c.take(&c.hub)
	if !h.Parse(bstr(body)) && d == DialectOpenAI { // the codecs' output is well-formed
		c.put(&c.hub, h)
		return hub.View{}, hub.Invalid("", "request body is not valid JSON")
	}
	v, err := openai.InspectDoc(h.Root())
	c.put(&c.hub, h)
	return v, err
}

func (r *Request) toHub(docs *docCache, path, query string) *hub.Error {
	c := r.Dialect.codec()
	if c.toHub == nil {
		r.Hub = r.Body
		return nil
	}
	var err *hub.Error
	r.Hub, err = c.toHub(docs, bstr(r.Body), path, query)
	return err
}

// toHub parses a client body into the cached body Doc and translates it with conv.
func (c *docCache) toHub(body string, conv func(dst []byte, root jsonx.Value) ([]byte, *hub.Error)) ([]byte, *hub.Error) {
	d := c.take(&c.body)
	defer c.put(&c.body, d)
	if !d.Parse(body) {
		return nil, hub.Invalid("", "request body is not valid JSON")
	}
	return conv(make([]byte, 0, len(body)+len(body)/4), d.Root())
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
