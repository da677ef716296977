package mockprovider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind names an emulated provider API.
type Kind string

// The emulated providers.
const (
	OpenAI    Kind = "openai"
	Azure     Kind = "azure"
	Anthropic Kind = "anthropic"
	Gemini    Kind = "gemini"
	Ollama    Kind = "ollama"
	Bedrock   Kind = "bedrock"
)

// Kinds lists every emulated provider, in a stable order.
func Kinds() []Kind { return []Kind{OpenAI, Azure, Anthropic, Gemini, Ollama, Bedrock} }

// ParseKind reads a provider name as the binary's -kind flag spells it.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Kinds(), k) {
		return k, nil
	}
	return "", fmt.Errorf("unknown provider kind %q (want openai, azure, anthropic, gemini, ollama or bedrock)", s)
}

// DefaultKey is the one valid credential when Options.Keys is empty.
const DefaultKey = "test-key"

// maxBody bounds what a Server reads of a request body.
const maxBody = 32 << 20

// Options configures a Server. The zero value is usable.
type Options struct {
	// Keys are the credentials the server accepts (Authorization: Bearer for OpenAI, api-key or
	// Bearer for Azure, x-api-key for Anthropic, x-goog-api-key or ?key= for Gemini; for
	// Bedrock, the access key ids whose secret is DefaultAWSSecret). Empty means {DefaultKey}.
	Keys []string
	// AWSSecrets maps Bedrock access key ids to their secret access keys (SigV4), in addition to
	// Keys.
	AWSSecrets map[string]string
	// Models, when not empty, are the only model names served; others get the provider's
	// "model not found". Fault-trigger names (mock-fail-…) are always served. Azure uses
	// Deployments instead. Models also feed the list-models endpoints.
	Models []string
	// Deployments maps Azure deployment names to the model they report. Empty means every
	// deployment exists and reports its own name.
	Deployments map[string]string
	// APIVersions are the Azure api-version values accepted; empty means a list of the published
	// GA and preview versions (see AzureAPIVersions).
	APIVersions []string
	// OllamaAuth makes the Ollama emulation require Authorization: Bearer KEY, as ollama.com does;
	// a local Ollama checks nothing.
	OllamaAuth bool
	// ChunkDelay pauses between stream chunks (a Fault's ChunkDelay overrides it).
	ChunkDelay time.Duration
	// Clock gives the timestamps of responses; nil means time.Now.
	Clock func() time.Time
}

// Server emulates one provider. It is an http.Handler and safe for concurrent use.
type Server struct {
	kind Kind
	d    dialect
	opts Options
	keys map[string]bool

	mu     sync.Mutex
	seq    int
	faults []Fault
	reqs   []Request
}

// New returns a Server emulating kind. It panics on an unknown kind (a programming error).
func New(kind Kind, opts Options) *Server {
	s := &Server{kind: kind, opts: opts, keys: map[string]bool{}}
	switch kind {
	case OpenAI:
		s.d = openaiDialect{}
	case Azure:
		s.d = openaiDialect{azure: true}
	case Anthropic:
		s.d = anthropicDialect{}
	case Gemini:
		s.d = geminiDialect{}
	case Ollama:
		s.d = ollamaDialect{}
	case Bedrock:
		s.d = bedrockDialect{}
	default:
		panic(fmt.Sprintf("mockprovider: unknown kind %q", kind))
	}
	keys := opts.Keys
	if len(keys) == 0 {
		keys = []string{DefaultKey}
	}
	for _, k := range keys {
		s.keys[k] = true
	}
	if s.opts.Clock == nil {
		s.opts.Clock = time.Now
	}
	return s
}

// Kind reports the provider this server emulates.
func (s *Server) Kind() Kind { return s.kind }

// FailNext makes the next n requests fail with f (after any faults already queued).
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults reports how many queued faults are left.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// begin records a request and hands out its sequence number and queued fault.
func (s *Server) begin(r *http.Request, body []byte) (int, Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.reqs = append(s.reqs, newRequest(s.seq, s.kind, s.opts.Clock(), r, body))
	var f Fault
	if len(s.faults) > 0 {
		f = s.faults[0]
		s.faults = s.faults[1:]
	}
	return s.seq, f
}

// ServeHTTP serves the provider API and, under /__mock/, the control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		serveControl(w, r, []*Server{s})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	seq, f := s.begin(r, body)
	x := &exchange{s: s, w: w, r: r, body: body, fault: f, id: fmt.Sprintf("mock%06d", seq)}
	if hf, ok := headerFault(r); ok {
		x.fault = x.fault.merge(hf)
	}
	if err != nil || len(body) > maxBody {
		x.fail(s.d.statusError(Fault{Status: http.StatusRequestEntityTooLarge, Message: "request body too large"}))
		return
	}
	x.serve()
}

func headerFault(r *http.Request) (Fault, bool) {
	spec := r.Header.Get("X-Mock-Fault")
	if spec == "" {
		return Fault{}, false
	}
	f, err := ParseFault(spec)
	return f, err == nil
}

// exchange is one request being served.
type exchange struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	body  []byte
	fault Fault
	id    string // per-request id base, e.g. mock000001
}

func (x *exchange) serve() {
	d := x.s.d
	rt, aerr := d.route(x.r, x.s)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	if f, ok := faultFromModel(rt.model); ok {
		x.fault = x.fault.merge(f)
	}
	if x.fault.Status != 0 {
		x.fail(d.statusError(x.fault))
		return
	}
	if aerr := d.authenticate(x.r, x.s); aerr != nil {
		x.fail(aerr)
		return
	}
	if rt.ep == epModels {
		x.writeJSON(http.StatusOK, d.listModels(x.s))
		return
	}
	if tc, ok := d.(tokenCounter); ok && rt.ep == epCountTokens {
		body, aerr := tc.countTokens(x.r, x.body, x.s)
		if aerr != nil {
			x.fail(aerr)
			return
		}
		x.writeJSON(http.StatusOK, body)
		return
	}
	if em, ok := d.(embedder); ok && rt.ep == epEmbeddings {
		body, aerr := em.embeddings(rt, x.r, x.body, x.s)
		if aerr != nil {
			x.fail(aerr)
			return
		}
		x.writeJSON(http.StatusOK, body)
		return
	}
	c, aerr := d.parse(rt, x.r, x.body, x.s)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	c.id, c.created = x.id, x.s.opts.Clock()
	if f, ok := faultFromModel(c.model); ok {
		x.fault = x.fault.merge(f)
	}
	if f, ok := faultFromText(c.conv.last.text); ok {
		x.fault = x.fault.merge(f)
	}
	if x.fault.Status != 0 {
		x.fail(d.statusError(x.fault))
		return
	}
	if aerr := x.s.checkModel(c, rt); aerr != nil {
		x.fail(aerr)
		return
	}
	rep := c.conv.reply(c)
	if c.stream {
		ct, frames, first := d.stream(c, rep)
		x.writeStream(ct, frames, first)
		return
	}
	x.writeJSON(http.StatusOK, d.respond(c, rep))
}

// checkModel applies Options.Models (and Azure's Options.Deployments).
func (s *Server) checkModel(c *call, rt route) *apiError {
	if strings.Contains(c.model, "mock-fail-") {
		return nil
	}
	if s.kind == Azure {
		if len(s.opts.Deployments) > 0 {
			m, ok := s.opts.Deployments[rt.model]
			if !ok {
				return s.d.modelNotFound(rt.model)
			}
			c.model = m
		}
		return nil
	}
	if len(s.opts.Models) > 0 && !slices.Contains(s.opts.Models, c.model) {
		return s.d.modelNotFound(c.model)
	}
	return nil
}

// wait sleeps for d unless the client goes away first; it reports whether to go on.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (x *exchange) setHeaders(extra http.Header) {
	h := x.w.Header()
	x.s.d.headers(h, x.id)
	for k, v := range extra {
		h[k] = v
	}
}

// fail answers an error in the provider's shape (after any fault delay).
func (x *exchange) fail(e *apiError) {
	if !wait(x.r.Context(), x.fault.Delay) {
		return
	}
	x.setHeaders(e.header)
	ct := e.contentType
	if ct == "" {
		ct = "application/json"
	}
	body := e.body
	if ef, ok := x.s.d.(errorFinisher); ok {
		body = ef.finishError(body, x.id)
	}
	x.w.Header().Set("Content-Type", ct)
	x.w.WriteHeader(e.status)
	_, _ = x.w.Write(body)
}

// writeJSON answers a JSON body, applying the Delay, Malformed and Break faults.
func (x *exchange) writeJSON(status int, body []byte) {
	if !wait(x.r.Context(), x.fault.Delay) {
		return
	}
	if x.writeNonAnswer() {
		return
	}
	if x.fault.Malformed {
		body = body[:len(body)/2]
	}
	x.setHeaders(nil)
	h := x.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	x.w.WriteHeader(status)
	if x.fault.Break {
		_, _ = x.w.Write(body[:len(body)/2])
		flush(x.w)
		panic(http.ErrAbortHandler) // closes the connection short of Content-Length
	}
	_, _ = x.w.Write(body)
}

// writeStream sends frames one by one, flushing each, applying the Delay, ChunkDelay, Malformed
// and Break faults at the first content frame.
func (x *exchange) writeStream(contentType string, frames [][]byte, firstContent int) {
	ctx := x.r.Context()
	if !wait(ctx, x.fault.Delay) {
		return
	}
	delay := x.s.opts.ChunkDelay
	if x.fault.ChunkDelay > 0 {
		delay = x.fault.ChunkDelay
	}
	if x.writeNonAnswer() {
		return
	}
	firstContent = min(firstContent, len(frames)-1)
	x.setHeaders(nil)
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	flush(x.w)
	for i, fr := range frames {
		if i > 0 && !wait(ctx, delay) {
			return
		}
		if x.fault.Malformed && i == firstContent {
			fr = malform(fr)
		}
		if _, err := x.w.Write(fr); err != nil {
			return
		}
		flush(x.w)
		if x.fault.Break && i == firstContent {
			panic(http.ErrAbortHandler) // ends the response without its terminating chunk
		}
	}
}

// htmlPage is what the HTML fault answers.
const htmlPage = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>\n"

// writeNonAnswer applies the HTML and Empty faults: a 200 that is not the API's answer.
func (x *exchange) writeNonAnswer() bool {
	h := x.w.Header()
	switch {
	case x.fault.HTML:
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", fmt.Sprint(len(htmlPage)))
		x.w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(x.w, htmlPage)
	case x.fault.Empty:
		h.Set("Content-Length", "0")
		x.w.WriteHeader(http.StatusOK)
	default:
		return false
	}
	return true
}

func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}

// malform truncates the JSON inside one stream frame, keeping the frame's framing so that the
// client's SSE/NDJSON reader hands the broken JSON to its decoder.
func malform(frame []byte) []byte {
	start := strings.IndexByte(string(frame), '{')
	end := strings.LastIndexByte(string(frame), '}')
	if start < 0 || end <= start {
		return frame
	}
	cut := start + (end-start)/2
	out := append([]byte{}, frame[:cut]...)
	return append(out, frame[end+1:]...)
}
