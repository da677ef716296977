// Package aiformat is stepgate's unified AI format: clients speak OpenAI Chat Completions (the
// hub), Anthropic Messages or Gemini; providers are OpenAI, OpenAI-compatible servers, Azure
// OpenAI, Anthropic, Gemini and Ollama. This package is the filter's entry point to it:
//
//   - Match and (*Config).ParseRequest recognise an AI request and translate it to the hub,
//     with the facts the throttle needs (model, stream, max tokens, estimated prompt tokens).
//   - (*Router).Route picks a backend for the model (weights, cool-down of failing backends,
//     key rotation) and produces everything to send upstream: headers to set and remove, path,
//     cluster and the body in the provider's native format.
//   - ResponseTranslator rewrites the provider's answer (JSON, SSE or NDJSON stream, error)
//     into the client's dialect chunk by chunk and reports token usage.
//   - Error values carry a status and a body already in the client's dialect.
//
// The codecs live in the sibling packages openai, anthropic, gemini and ollama, which share one
// shape; hub holds the neutral types they meet in, sse the stream framing. Two tables are the
// only places that name a format: codecs (one codec per wire format) and providerKinds (what
// each configured provider type adds: host, path, credentials). Nothing here
// imports the proxy-wasm SDK: the filter's glue in plugin/ calls these functions from its
// callbacks. See docs/AI-FORMAT.md for the field mapping tables.
package aiformat

import (
	"net/url"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/gemini"
)

// Dialect is an API format a client speaks.
type Dialect uint8

// Client dialects.
const (
	DialectNone Dialect = iota
	DialectOpenAI
	DialectAnthropic
	DialectGemini
)

func (d Dialect) String() string {
	switch d {
	case DialectOpenAI:
		return "openai"
	case DialectAnthropic:
		return "anthropic"
	case DialectGemini:
		return "gemini"
	}
	return "none"
}

// Endpoint is what a request asks for.
type Endpoint uint8

// Endpoints.
const (
	EndpointNone        Endpoint = iota // not an AI request: pass it through untouched
	EndpointChat                        // a chat/messages/generateContent call
	EndpointModels                      // a model listing, answered locally (ModelsResponse)
	EndpointModel                       // one model, answered locally (ModelResponse, ModelID)
	EndpointCountTokens                 // Anthropic's count_tokens, answered locally (CountTokensResponse)
	EndpointEmbeddings                  // OpenAI's embeddings, passed to providers that serve them
)

// Match tells from the request line alone whether a request is ours and in which dialect, so
// the filter can decide at request headers whether to buffer the body. path may include the
// query string. Paths are matched by suffix, so the API may be mounted under a prefix.
func Match(method, path string) (Dialect, Endpoint) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	switch method {
	case "POST":
		switch {
		case strings.HasSuffix(path, "/chat/completions"):
			return DialectOpenAI, EndpointChat
		case strings.HasSuffix(path, "/v1/messages"):
			return DialectAnthropic, EndpointChat
		case strings.HasSuffix(path, "/v1/embeddings"):
			return DialectOpenAI, EndpointEmbeddings
		case strings.HasSuffix(path, "/v1/messages/count_tokens"):
			return DialectAnthropic, EndpointCountTokens
		}
		if _, _, ok := gemini.ParsePath(path); ok {
			return DialectGemini, EndpointChat
		}
	case "GET":
		switch {
		case strings.HasSuffix(path, "/v1/models"):
			return DialectOpenAI, EndpointModels
		case strings.HasSuffix(path, "/v1beta/models"):
			return DialectGemini, EndpointModels
		}
		if _, d := modelID(path); d != DialectNone {
			return d, EndpointModel
		}
	}
	return DialectNone, EndpointNone
}

// ModelID is the model a GET /v1/models/{id} (or Gemini's /v1beta/models/{id}) asks for, its
// escapes decoded; "" for any other path. An id may hold '/' (a route named
// "meta-llama/Llama-3-8B"): everything after the prefix is the id.
func ModelID(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	id, _ := modelID(path)
	return id
}

func modelID(path string) (string, Dialect) {
	for _, p := range [...]struct {
		prefix string
		d      Dialect
	}{{"/v1/models/", DialectOpenAI}, {"/v1beta/models/", DialectGemini}} {
		i := strings.Index(path, p.prefix)
		if i < 0 {
			continue
		}
		id := path[i+len(p.prefix):]
		if u, err := url.PathUnescape(id); err == nil {
			id = u
		}
		if id == "" || strings.ContainsRune(id, ':') { // Gemini's models/x:generateContent and kin
			return "", DialectNone
		}
		return id, p.d
	}
	return "", DialectNone
}

// UnknownEndpoint is the 404 for a request Match does not know under an Anthropic or Gemini
// path (/v1/messages/batches, /v1beta/cachedContents): in that client's error shape, where the
// proxy's catch-all would answer in OpenAI's. nil for other paths, which go on as they are.
func UnknownEndpoint(method, path string) *Error {
	d := PathDialect(path)
	if d == DialectOpenAI {
		return nil
	}
	return NewError(d, 404, "not an AI endpoint: "+method+" "+path)
}

// PathDialect is the dialect a client that sent path most likely speaks, for answering a
// request Match does not know (an unknown path under an Anthropic or Gemini prefix gets its
// 404 in that client's error shape). OpenAI's is the default.
func PathDialect(path string) Dialect {
	switch {
	case strings.Contains(path, "/v1/messages"), strings.Contains(path, "/v1/complete"):
		return DialectAnthropic
	case strings.Contains(path, "/v1beta/"), strings.Contains(path, ":generateContent"),
		strings.Contains(path, ":streamGenerateContent"):
		return DialectGemini
	}
	return DialectOpenAI
}
