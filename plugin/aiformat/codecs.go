package aiformat

import (
	"github.com/stepgate/stepgate/plugin/aiformat/anthropic"
	"github.com/stepgate/stepgate/plugin/aiformat/bedrock"
	"github.com/stepgate/stepgate/plugin/aiformat/gemini"
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/stepgate/stepgate/plugin/aiformat/ollama"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
)

// wireFormat is an API format on the wire. Every provider answers in one; three of them are
// also client dialects (Dialect.wire), Ollama's is a provider format only.
type wireFormat uint8

// Wire formats, the indexes of codecs.
const (
	wireOpenAI wireFormat = iota
	wireAnthropic
	wireGemini
	wireOllama
	wireBedrock
	wireCount
)

// codec is everything the filter does with one wire format, as plain functions in a static
// table: dispatching a request costs an index, never an interface value or a closure. The
// fields marked "client" are only set for formats that clients speak.
type codec struct {
	name    string
	dialect Dialect // the client dialect of this format; DialectNone for a provider-only one

	// toHub translates a client body to the hub (client; nil: the body already is hub).
	// path and query carry what the format keeps outside the body (Gemini's model, alt=sse).
	toHub func(docs *docCache, body, path, query string) ([]byte, *hub.Error)
	// fromHub translates a parsed hub request for a provider of this format.
	fromHub func(dst []byte, root jsonx.Value, t hub.Target, pr *Provider) ([]byte, *hub.Error)
	// rewrite adjusts a client body already in this format, so that it is not taken through
	// the hub and back (nil: it is; OpenAI's hub body is the client's own).
	rewrite func(dst []byte, docs *docCache, body string, t hub.Target) []byte

	decodeResponse func(body string, r *hub.Response) *hub.Error
	appendResponse func(dst []byte, r *hub.Response) []byte // client
	newDecoder     func() decoder
	newEncoder     func(wantUsage bool, created int64) encoder // client
	decodeError    func(status int, body string) hub.Error
	appendError    func(dst []byte, e *hub.Error) (int, []byte) // client

	// embedRequest writes an OpenAI embeddings request in this format and decodeEmbeddings
	// reads the answer (both nil: the format has no embeddings API of its own, or it is
	// OpenAI's, which is passed through).
	embedRequest     func(dst []byte, r *hub.EmbedRequest) ([]byte, *hub.Error)
	decodeEmbeddings func(body string, e *hub.Embeddings) *hub.Error

	ndjson bool // streams are NDJSON lines, not SSE events
	// eventStream: streams are AWS event-stream messages (binary frames), each handed to the
	// decoder as an event named by its :event-type (see eventFrames).
	eventStream bool
	sseSep      string // the event separator a passed-through stream keeps
	// looseErrors: servers of this format do not all answer errors in its shape (vLLM's
	// object errors), so an error is passed through only when it has error.message.
	looseErrors bool
	idPrefix    string // of the ids made up for responses that carry none (client)
	overload    int    // the status this format's clients know for an overloaded server (client)
}

// codecs is the table of wire formats. A new format is one codec package and one entry here,
// plus the provider types that speak it (providerKinds).
var codecs = [wireCount]codec{
	wireOpenAI: {
		name: "openai", dialect: DialectOpenAI,
		fromHub: func(dst []byte, root jsonx.Value, t hub.Target, pr *Provider) ([]byte, *hub.Error) {
			return openai.RewriteDoc(dst, root, t, &pr.Policy), nil
		},
		decodeResponse: openai.DecodeResponse,
		appendResponse: openai.AppendResponse,
		newDecoder:     func() decoder { return &openai.StreamDecoder{} },
		newEncoder: func(wantUsage bool, created int64) encoder {
			return &openai.StreamEncoder{WantUsage: wantUsage, Created: created}
		},
		decodeError: openai.DecodeError,
		appendError: openai.AppendError,
		sseSep:      "\n\n", looseErrors: true, idPrefix: "chatcmpl-", overload: 503,
	},
	wireAnthropic: {
		name: "anthropic", dialect: DialectAnthropic,
		toHub: func(docs *docCache, body, _, _ string) ([]byte, *hub.Error) {
			return docs.toHub(body, anthropic.RequestToHubDoc)
		},
		fromHub: func(dst []byte, root jsonx.Value, t hub.Target, _ *Provider) ([]byte, *hub.Error) {
			return anthropic.RequestFromHubDoc(dst, root, t)
		},
		rewrite: func(dst []byte, docs *docCache, body string, t hub.Target) []byte {
			d, _ := docs.parsed(&docs.body, body)
			defer docs.put(&docs.body, d)
			return anthropic.RewriteDoc(dst, d.Root(), t)
		},
		decodeResponse: anthropic.DecodeResponse,
		appendResponse: anthropic.AppendResponse,
		newDecoder:     func() decoder { return &anthropic.StreamDecoder{} },
		newEncoder:     func(bool, int64) encoder { return &anthropic.StreamEncoder{} },
		decodeError:    anthropic.DecodeError,
		appendError:    anthropic.AppendError,
		sseSep:         "\n\n", idPrefix: "msg_", overload: 529,
	},
	wireGemini: {
		name: "gemini", dialect: DialectGemini,
		toHub: geminiToHub,
		fromHub: func(dst []byte, root jsonx.Value, t hub.Target, _ *Provider) ([]byte, *hub.Error) {
			return gemini.RequestFromHubDoc(dst, root, t)
		},
		rewrite: func(dst []byte, _ *docCache, body string, t hub.Target) []byte {
			return gemini.Rewrite(dst, body, t)
		},
		decodeResponse:   gemini.DecodeResponse,
		appendResponse:   gemini.AppendResponse,
		newDecoder:       func() decoder { return &gemini.StreamDecoder{} },
		newEncoder:       func(bool, int64) encoder { return &gemini.StreamEncoder{} },
		decodeError:      gemini.DecodeError,
		appendError:      gemini.AppendError,
		embedRequest:     gemini.AppendEmbedRequest,
		decodeEmbeddings: gemini.DecodeEmbeddings,
		sseSep:           "\r\n\r\n", overload: 503,
	},
	wireOllama: {
		name: "ollama", dialect: DialectNone,
		fromHub: func(dst []byte, root jsonx.Value, t hub.Target, _ *Provider) ([]byte, *hub.Error) {
			return ollama.RequestFromHubDoc(dst, root, t)
		},
		decodeResponse:   ollama.DecodeResponse,
		newDecoder:       func() decoder { return &ollama.StreamDecoder{} },
		decodeError:      ollama.DecodeError,
		embedRequest:     ollama.AppendEmbedRequest,
		decodeEmbeddings: ollama.DecodeEmbeddings,
		ndjson:           true, sseSep: "\n\n",
	},
	wireBedrock: {
		name: "bedrock", dialect: DialectNone,
		fromHub: func(dst []byte, root jsonx.Value, t hub.Target, _ *Provider) ([]byte, *hub.Error) {
			return bedrock.RequestFromHubDoc(dst, root, t)
		},
		decodeResponse: bedrock.DecodeResponse,
		newDecoder:     func() decoder { return &bedrock.StreamDecoder{} },
		decodeError:    bedrock.DecodeError,
		eventStream:    true, sseSep: "\n\n",
	},
}

// geminiToHub reads the model and the streaming choice from the path: a Gemini body names
// neither.
func geminiToHub(docs *docCache, body, path, query string) ([]byte, *hub.Error) {
	model, stream, _ := gemini.ParsePath(pathOnly(path))
	if stream && !hasAltSSE(path, query) {
		return nil, hub.Invalid("alt", "streamGenerateContent is supported with alt=sse only")
	}
	return docs.toHub(body, func(dst []byte, root jsonx.Value) ([]byte, *hub.Error) {
		return gemini.RequestToHubDoc(dst, root, model, stream)
	})
}

// dialectWires is the wire format of each client dialect; a request of no dialect is
// answered in the hub's.
var dialectWires = [...]wireFormat{DialectNone: wireOpenAI, DialectOpenAI: wireOpenAI,
	DialectAnthropic: wireAnthropic, DialectGemini: wireGemini}

// wire is the format a client of dialect d speaks.
func (d Dialect) wire() wireFormat {
	if int(d) < len(dialectWires) {
		return dialectWires[d]
	}
	return wireOpenAI
}

// codec is the codec of the client's dialect.
func (d Dialect) codec() *codec { return &codecs[d.wire()] }

func (w wireFormat) String() string {
	if w < wireCount {
		return codecs[w].name
	}
	return "unknown"
}
