package mockprovider

import (
	"net/http"
	"strings"
)

// Mux serves every provider on one listener, for docker compose and the dev gateway. A request
// reaches a provider by its native path (/v1/chat/completions → OpenAI, /openai/deployments/… →
// Azure, /v1/messages and its count_tokens → Anthropic, /v1beta/… → Gemini, /api/… → Ollama, /model/… → Bedrock; GET /v1/models goes to
// Anthropic when the request carries x-api-key or anthropic-version, else to OpenAI), or by an
// explicit prefix that is stripped: /openai/…, /azure/…, /anthropic/…, /gemini/…, /ollama/….
// The control endpoints under /__mock/ act on all providers (POST /__mock/faults takes "kind").
type Mux struct {
	servers map[Kind]*Server
	order   []*Server
}

// NewMux returns a Mux whose providers all use opts.
func NewMux(opts Options) *Mux {
	m := &Mux{servers: map[Kind]*Server{}}
	for _, k := range Kinds() {
		s := New(k, opts)
		m.servers[k] = s
		m.order = append(m.order, s)
	}
	return m
}

// Server returns the provider emulation of kind k.
func (m *Mux) Server(k Kind) *Server { return m.servers[k] }

// FailNext queues f for the next n requests of every provider.
func (m *Mux) FailNext(n int, f Fault) {
	for _, s := range m.order {
		s.FailNext(n, f)
	}
}

// ServeHTTP dispatches to the provider the path names.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		serveControl(w, r, m.order)
		return
	}
	kind, path := muxRoute(r)
	if kind == "" {
		controlJSON(w, http.StatusNotFound, map[string]string{"error": "mockprovider mux: no provider serves " + r.URL.Path})
		return
	}
	if path != r.URL.Path {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = path, ""
		r2.URL = &u
		r = r2
	}
	m.servers[kind].ServeHTTP(w, r)
}

func muxRoute(r *http.Request) (Kind, string) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/openai/deployments/") || p == "/openai/models":
		return Azure, p
	case p == "/v1/chat/completions", p == "/v1/embeddings":
		return OpenAI, p
	case p == "/v1/messages", p == "/v1/messages/count_tokens":
		return Anthropic, p
	case strings.HasPrefix(p, "/v1beta/") || strings.HasPrefix(p, "/v1/models/"):
		return Gemini, p
	case strings.HasPrefix(p, "/api/"):
		return Ollama, p
	case strings.HasPrefix(p, "/model/"):
		return Bedrock, p
	case p == "/v1/models":
		if r.Header.Get("X-Api-Key") != "" || r.Header.Get("Anthropic-Version") != "" {
			return Anthropic, p
		}
		return OpenAI, p
	}
	for _, k := range Kinds() {
		if rest, ok := strings.CutPrefix(p, "/"+string(k)+"/"); ok {
			return k, "/" + rest
		}
	}
	return "", p
}
