package main

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/calllog"
	"github.com/stepgate/stepgate/plugin/clock"
	"github.com/stepgate/stepgate/plugin/config"
	"github.com/stepgate/stepgate/plugin/governance"
	"github.com/stepgate/stepgate/plugin/prompts"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// httpContext handles one HTTP stream. The request side decides (throttle) and rewrites (unified
// AI format); the response side translates back and settles token buckets with the reported usage.
//
// When a decision needs the body (AI requests, token-counting rules), the request headers are held
// (Pause) and the body buffered until its end; Envoy must run the filter with
// allow_on_headers_stop_iteration so that it still delivers the body to a filter holding headers.
type httpContext struct {
	types.DefaultHttpContext
	root *pluginContext
	id   uint32

	start   int64                // ns, wall clock
	headers throttle.HeaderPairs // the request headers as they arrived (before any rewrite)
	req     headerMap            // the request headers as the host holds them, and changes to them
	resp    headerMap            // the response headers likewise
	path    string               // :path as it arrived; rec.Path has its credentials redacted
	rec     calllog.Record
	waiting bool // buffering the request body before deciding

	dialect  aiformat.Dialect
	endpoint aiformat.Endpoint
	ai       *aiformat.Request            // an AI request: &store.req
	up       *aiformat.Upstream           // where it goes: &store.up, or a fallback's
	rt       *aiformat.ResponseTranslator // its answer's translator: &store.rt, or a fallback's
	buffer   bool                         // buffer the response body (non-stream JSON) before translating
	nChoices int64                        // the completions an AI request asks for (n), 0 when it does not say

	decided     bool
	decision    throttle.Decision
	upstream    bool  // the request went (or goes) upstream: its reservation is settled, not released
	forwardedAt int64 // ns when the request left (or will leave, when held) for the upstream
	local       bool  // this stream's response is our own local reply
	heldUntil   int64
	charged     int64 // the tokens a flowing stream was last charged (chargeFlow)

	upstreamStatus int  // the provider's own status (before translation); 0 before it answers
	upstreamFault  bool // the provider's answer could not be translated, or its stream was cut
	responseEnded  bool // the provider's answer reached its end

	mcp *mcpStream // on a route of the "mcp" section: &store.mcp

	caller    *governance.Identity // nil: an anonymous caller; else &callerID
	callerID  governance.Identity
	prompt    *prompts.Prompt // the prompt this request calls, if any
	lifecycle [][2]string     // a deprecated API's response headers

	body          []byte             // the request body while fleet rules decide
	fleetDeadline int64              // ns: the latest a lease wait may last (0 before the first)
	fleetDone     bool               // the fleet rules have decided
	fallback      *throttle.Decision // a fail-open fleet rule's fallback bucket: &store.fallback, or nil

	fo *failover // the request's fallbacks once its backend failed (failover.go)

	store *streamStore // kept when the context is recycled
}

// streamStore holds the state only some streams need: an AI request, its upstream and answer
// translator, an MCP stream's state, a fleet rule's fallback decision. A context keeps it from
// one stream to the next and each stream fills what it uses afresh, so that these cost no
// allocation per request, and a recycled context zeroes one pointer rather than the 2.7 KB they
// take: inside the VM both cost more than filling them.
type streamStore struct {
	req      aiformat.Request
	up       aiformat.Upstream
	rt       aiformat.ResponseTranslator
	mcp      mcpStream
	fallback throttle.Decision
}

func (h *httpContext) storage() *streamStore {
	if h.store == nil {
		h.store = new(streamStore)
	}
	return h.store
}

func (h *httpContext) OnHttpRequestHeaders(numHeaders int, endOfStream bool) types.Action {
	a := h.requestHeaders(endOfStream)
	h.flushRequest()
	return a
}

// flushRequest writes the request header changes of the callback, unless the request is
// answered locally (it never goes upstream).
func (h *httpContext) flushRequest() {
	if h.local {
		h.req.edits.Reset()
		return
	}
	h.req.flush()
}

func (h *httpContext) requestHeaders(endOfStream bool) types.Action {
	now := clock.Now()
	if h.root.releaseDue(now) {
		_ = proxywasm.SetEffectiveContext(h.id) // back to this stream after continuing others
	}
	h.start = now
	h.rec.StartUnixMs = now / int64(time.Millisecond)
	// One host call reads them all: each single-header read would cost a call and an allocation.
	h.headers, _ = proxywasm.GetHttpRequestHeaders()
	h.req.use(h.headers)
	h.rec.Method = h.headers.Get(":method")
	h.path = h.headers.Get(":path")
	// A credential in the query (Gemini's ?key=) never reaches a record or a log; upstream, AI
	// requests get the provider's path instead of the client's.
	h.rec.Path = calllog.RedactPath(h.path)
	h.rec.RequestID = h.headers.Get("x-request-id")
	h.stripInternalHeaders()
	h.redactQueryKey()

	ai := h.root.cfg.AI
	if ai != nil {
		h.dialect, h.endpoint = aiformat.Match(h.rec.Method, h.path)
		h.rec.Dialect = dialectName(h.dialect)
	}
	if (h.root.cfg.Governance != nil || h.root.cfg.Prompts != nil) && h.govern(now) {
		return types.ActionPause
	}
	if srv := h.root.cfg.MCP.Match(h.rec.Path); srv != nil {
		return h.mcpHeaders(srv, endOfStream, now)
	}
	if h.endpoint == aiformat.EndpointModels || h.endpoint == aiformat.EndpointModel {
		h.answerModels(ai)
		return types.ActionPause
	}
	if ai != nil && h.endpoint == aiformat.EndpointNone && h.prompt == nil {
		if err := aiformat.UnknownEndpoint(h.rec.Method, h.path); err != nil {
			h.reply(err.Status, err.Body, nil)
			return types.ActionPause
		}
	}
	if h.endpoint == aiformat.EndpointChat || h.endpoint == aiformat.EndpointEmbeddings ||
		h.endpoint == aiformat.EndpointCountTokens || h.root.needsBody {
		if endOfStream {
			return h.decide(nil, now)
		}
		if err := h.checkContentLength(); err != nil {
			h.reply(err.Status, err.Body, nil)
			return types.ActionPause
		}
		// The body is rewritten, so its length changes.
		h.req.remove("content-length")
		h.waiting = true
		return types.ActionPause
	}
	return h.decide(nil, now)
}

// internalPrefix starts the headers the filter sets for Envoy's routing (envoy/envoy.yaml's
// cluster_header) and the fleet rate limiter's descriptors. A client must not choose them, so any
// client header with the prefix is removed: they are seldom there, so looking costs less than
// removing each known name blindly (a host call each).
const internalPrefix = "x-stepgate-"

func (h *httpContext) stripInternalHeaders() {
	for _, kv := range h.headers {
		if strings.HasPrefix(kv[0], internalPrefix) {
			h.req.remove(kv[0])
		}
	}
}

// checkContentLength refuses a declared body over the limit before buffering any of it.
func (h *httpContext) checkContentLength() *aiformat.Error {
	cl := h.headers.Get("content-length")
	if cl == "" {
		return nil
	}
	n, perr := strconv.ParseInt(cl, 10, 64)
	if perr != nil || n <= h.root.cfg.Limits.MaxRequestBodyBytes {
		return nil
	}
	return tooLarge(h.dialect, n, h.root.cfg.Limits.MaxRequestBodyBytes)
}

func tooLarge(d aiformat.Dialect, n, limit int64) *aiformat.Error {
	return aiformat.NewError(d, 413, "request body is "+strconv.FormatInt(n, 10)+
		" bytes, over the limit of "+strconv.FormatInt(limit, 10))
}

func (h *httpContext) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	a := h.requestBody(bodySize, endOfStream)
	h.flushRequest()
	return a
}

func (h *httpContext) requestBody(bodySize int, endOfStream bool) types.Action {
	if !h.waiting {
		h.rec.RequestBytes += int64(bodySize) // each call brings a new chunk
		return types.ActionContinue
	}
	h.rec.RequestBytes = int64(bodySize) // all of the body buffered so far
	if limit := h.root.cfg.Limits.MaxRequestBodyBytes; int64(bodySize) > limit {
		h.waiting = false
		if h.mcp != nil {
			h.mcpTooLarge()
			return types.ActionPause
		}
		err := tooLarge(h.dialect, int64(bodySize), limit)
		h.reply(err.Status, err.Body, nil)
		return types.ActionPause
	}
	if !endOfStream {
		return types.ActionPause // Envoy keeps buffering; the next call sees all of it
	}
	h.waiting = false
	body, err := proxywasm.GetHttpRequestBody(0, bodySize)
	if err != nil && bodySize > 0 {
		h.root.logf(config.LevelError, "stepgate: reading request body: %v", err)
		return types.ActionContinue
	}
	// Continue from the body callback also releases the held headers (Envoy's StopIteration
	// contract); Pause keeps both for a local reply or a shaping hold.
	return h.decide(body, clock.Now())
}

// decide runs the throttle and the AI rewrite on a request whose body (if any is needed) is
// complete, at time now. It returns Pause when the stream is held or answered locally.
func (h *httpContext) decide(body []byte, now int64) types.Action {
	p := h.root
	if h.mcp != nil {
		return h.mcpDecide(body, now)
	}
	if h.endpoint == aiformat.EndpointCountTokens {
		if h.countTokens(body, now) {
			return types.ActionContinue // forwarded to the provider
		}
		return types.ActionPause
	}
	if h.endpoint == aiformat.EndpointChat || h.endpoint == aiformat.EndpointEmbeddings {
		path := h.path
		if h.prompt != nil {
			var ok bool
			if body, ok = h.renderPrompt(body); !ok {
				return types.ActionPause
			}
			path = "/v1/chat/completions"
		}
		if perr := p.cfg.AI.ParseRequestInto(&h.storage().req, h.rec.Method, path, "", body); perr != nil {
			h.rec.Error = perr.Message
			h.reply(perr.Status, perr.Body, nil)
			return types.ActionPause
		}
		h.ai = &h.store.req
		h.nChoices = h.ai.View.N // the hub's n: Gemini's candidateCount becomes n there
		h.rec.Model = h.ai.Model
		h.applyAlias()
		if !h.checkModel() {
			return types.ActionPause
		}
		if rerr := h.route(now); rerr != nil {
			h.rec.Error = rerr.Message
			h.reply(rerr.Status, rerr.Body, nil)
			return types.ActionPause
		}
	}

	if p.throttler != nil {
		h.decided = true
		q := h.throttleRequest(body)
		h.decision = p.throttler.Decide(now, &q)
		if len(h.decision.Reservation.Outcomes()) > 0 { // else no rule applies: no step taken
			h.rec.Step = h.decision.Action.String()
			h.rec.ThrottleOverflow = overflowRules(&h.decision)
			h.rec.Rule = decidingRule(&h.decision)
		}
		p.metrics.decisions(&h.decision)
		if h.decision.Action == throttle.Reject {
			h.rejectThrottled()
			return types.ActionPause
		}
	}
	h.body = body
	if p.fleet != nil && !h.decideFleet(now) {
		p.waitLease(h) // the lease is on its way: wakeWaiting takes it from here
		return types.ActionPause
	}
	if h.local || !h.proceed(now) {
		return types.ActionPause
	}
	return types.ActionContinue
}

// overflowRules names the rules that charged the request to their overflow bucket, "" for none.
func overflowRules(d *throttle.Decision) string {
	var names string
	outs := d.Reservation.Outcomes()
	for i := range outs {
		if outs[i].Overflow {
			if names != "" {
				names += ","
			}
			names += outs[i].Rule()
		}
	}
	return names
}

// proceed degrades, forwards or holds a request every rule has decided on; it reports whether the
// stream may continue now (false: answered locally or held by shaping).
func (h *httpContext) proceed(now int64) bool {
	p := h.root
	if h.local {
		return false
	}
	body := h.body
	h.body = nil
	if h.decision.Action == throttle.Degrade {
		if err := h.degrade(&body, now); err != nil {
			h.rec.Error = err.Message
			h.reply(err.Status, err.Body, nil)
			return false
		}
	}
	h.forward(body)
	h.upstream = true
	h.forwardedAt = now
	if h.decision.Delay > 0 {
		h.heldUntil = now + int64(h.decision.Delay)
		h.rec.ShapeDelayMs = int64(h.decision.Delay / time.Millisecond)
		h.forwardedAt = h.heldUntil
		p.hold(h.id, held{since: now, until: h.heldUntil, rule: shapingRule(&h.decision), step: h.rec.Step, stream: h})
		return false
	}
	return true
}

// shapingRule names the rule that holds the request longest.
func shapingRule(d *throttle.Decision) string {
	outs := d.Reservation.Outcomes()
	best := -1
	for i := range outs {
		if outs[i].Delay > 0 && (best < 0 || outs[i].Delay > outs[best].Delay) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return outs[best].Rule()
}

// decidingRule names the enforced rule whose step the decision took: the most severe outcome,
// and among shaping ones the longest hold.
func decidingRule(d *throttle.Decision) string {
	outs := d.Reservation.Outcomes()
	best := -1
	for i := range outs {
		o := &outs[i]
		if o.Shadow {
			continue
		}
		if best < 0 || o.Action > outs[best].Action || o.Action == outs[best].Action && o.Delay > outs[best].Delay {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return outs[best].Rule()
}

// route picks the backend for the (possibly degraded) AI request.
func (h *httpContext) route(now int64) *aiformat.Error {
	st := h.storage()
	if h.up == &st.up {
		h.root.router.Recycle(h.up) // routed again (degraded): the first body was not sent
	}
	h.up = nil
	if err := h.root.router.RouteInto(&st.up, h.ai, now, rand.Uint32()); err != nil {
		return err
	}
	h.up = &st.up
	h.rec.UpstreamModel = h.up.Model
	h.rec.Provider = h.up.Provider.Name
	return nil
}

func (h *httpContext) throttleRequest(body []byte) throttle.Request {
	q := throttle.Request{Path: h.path, Method: h.rec.Method, Headers: h.headers}
	if h.caller != nil {
		q.Tenant, q.KeyID, q.Tier = h.rec.Tenant, h.rec.KeyID, h.caller.Key.Tenant.Tier
	}
	if h.ai != nil {
		q.Model = h.ai.Model
		q.Provider = h.rec.Provider
		q.PromptChars = int64(len(body))
		q.MaxTokens = h.ai.MaxTokens
		h.embeddingsEstimate(&q)
		q.Choices = h.nChoices
		h.priceRequest(&q)
		h.expectCompletion(&q)
	} else if body != nil {
		q.EstimateFromBody(body)
	}
	return q
}

// degrade rewrites the request to the cheaper form the throttle chose. AI requests are re-routed
// (a cheaper model may live at another provider); other requests get their JSON body edited.
func (h *httpContext) degrade(body *[]byte, now int64) *aiformat.Error {
	g := h.decision.Degrade
	for _, hd := range g.SetHeaders {
		h.req.set(hd.Name, hd.Value)
	}
	if h.ai == nil {
		if len(*body) > 0 {
			if out, err := h.decision.ApplyDegrade(*body); err == nil {
				*body = out
			}
		}
		return nil
	}
	if h.ai.Endpoint == aiformat.EndpointEmbeddings {
		// A degrade step's cheaper model is a chat model, and an embedding has no completion to
		// cap: embeddings keep their model and go as they are (the step's headers still apply).
		return nil
	}
	if g.Model != "" {
		h.ai.SetModel(g.Model)
	}
	if g.MaxTokens > 0 {
		h.ai.SetMaxTokens(g.MaxTokens)
	}
	return h.route(now)
}

// forward writes the upstream request: the provider's path, authority, credentials and body for
// AI requests, and the throttle's request headers.
func (h *httpContext) forward(body []byte) {
	if h.up != nil {
		// Removal first, so that the credential set below is the only value of its header.
		// Names the request certainly does not have cost a digest each (headerMap.removeEach).
		h.req.removeEach(h.up.RemoveHeaders)
		for _, kv := range h.up.SetHeaders {
			h.req.set(kv[0], kv[1])
		}
		// For Envoy's fleet rate limiter (envoy/envoy.yaml's rate limit descriptors).
		h.req.set("x-stepgate-model", h.up.Model)
		h.req.set("x-stepgate-token-estimate", strconv.FormatInt(h.tokenEstimate(), 10))
		body = h.up.Body
	}
	h.tenantHeaders()
	if h.decided {
		for _, hd := range h.decision.RequestHeaders(nil) {
			h.req.set(hd.Name, hd.Value)
		}
	}
	if body != nil && (h.up != nil || h.decision.Action == throttle.Degrade) {
		if err := proxywasm.ReplaceHttpRequestBody(body); err != nil {
			h.root.logf(config.LevelError, "stepgate: replacing request body: %v", err)
		}
	}
	if h.up != nil {
		h.root.router.Recycle(h.up) // the host has copied the body
	}
}

func (h *httpContext) rejectThrottled() {
	d := &h.decision
	body := d.Body()
	if h.dialect != aiformat.DialectNone && h.dialect != aiformat.DialectOpenAI {
		// The throttle speaks OpenAI's error shape; other dialects get theirs.
		body = aiformat.NewError(h.dialect, d.Status, "rate limit exceeded, retry after "+
			strconv.FormatInt(d.RetryAfter, 10)+"s").Body
	}
	h.reply(d.Status, body, d.ResponseHeaders(nil))
}

func (h *httpContext) answerModels(ai *aiformat.Config) {
	d := h.dialect
	if h.headers.Get("anthropic-version") != "" {
		d = aiformat.DialectAnthropic
	}
	if h.endpoint == aiformat.EndpointModel {
		body, err := ai.ModelResponse(d, aiformat.ModelID(h.path), h.allowedModels())
		if err != nil {
			h.rec.Error = err.Message
			h.reply(err.Status, err.Body, nil)
			return
		}
		h.reply(200, body, nil)
		return
	}
	h.reply(200, ai.ModelsResponse(d, h.allowedModels()), nil)
}

// countTokens answers Anthropic's count_tokens: the provider's own count where the model's
// backend has one (forwarded: it reports true), else the filter's prompt estimate, labelled as
// one. The caller must be allowed the model, as for a call.
func (h *httpContext) countTokens(body []byte, now int64) bool {
	ai := h.root.cfg.AI
	req, err := ai.ParseRequest(h.rec.Method, h.path, "", body)
	if err != nil {
		h.rec.Error = err.Message
		h.reply(err.Status, err.Body, nil)
		return false
	}
	h.ai = req
	h.rec.Model = req.Model
	h.applyAlias()
	if !h.checkModel() {
		return false
	}
	if h.forwardCountTokens(now) {
		return true
	}
	if h.local { // refused while routing
		return false
	}
	out, err := ai.CountTokensResponse(req)
	if err != nil {
		h.rec.Error = err.Message
		h.reply(err.Status, err.Body, nil)
		return false
	}
	h.reply(200, out, []throttle.Header{{Name: aiformat.EstimateHeader[0], Value: aiformat.EstimateHeader[1]}})
	return false
}

// reply sends a local response. Envoy runs it through this filter's response callbacks, which
// must leave it alone (h.local).
func (h *httpContext) reply(status int, body []byte, extra []throttle.Header) {
	h.replyAs(status, aiformat.ContentType, body, extra)
}

// replyAs is reply with a content type of its own (a stream's, say).
func (h *httpContext) replyAs(status int, contentType string, body []byte, extra []throttle.Header) {
	h.local = true
	h.rec.Status = status
	h.rec.ResponseBytes = int64(len(body))
	headers := make([][2]string, 0, 2+len(extra))
	headers = append(headers, [2]string{"content-type", contentType})
	for _, hd := range extra {
		headers = append(headers, [2]string{hd.Name, hd.Value})
	}
	headers = append(headers, h.lifecycle...)
	if h.root.cfg.ResponseHeaders.Version {
		headers = append(headers, [2]string{"x-stepgate", config.Version})
	}
	if err := proxywasm.SendHttpResponse(uint32(status), headers, body, -1); err != nil {
		h.root.logf(config.LevelError, "stepgate: sending local reply: %v", err)
	}
}

func (h *httpContext) OnHttpResponseHeaders(numHeaders int, endOfStream bool) types.Action {
	if h.local {
		h.resp.forget() // our own reply's headers: never read, written one call a change
	} else {
		h.resp.read() // one host call for every header the response side reads
	}
	a := h.responseHeaders(endOfStream)
	h.resp.flush()
	return a
}

func (h *httpContext) responseHeaders(endOfStream bool) types.Action {
	h.oneRequestID()
	if h.local {
		return types.ActionContinue
	}
	h.rec.Status, _ = strconv.Atoi(h.resp.get(":status"))
	h.upstreamStatus = h.rec.Status
	h.responseEnded = endOfStream
	// The clock is a host call: read only for what uses it, the router and the first-byte metric
	// of an AI request, the throttle's view of an upstream 429 or 503, and the call record's first
	// byte when the record is logged.
	observe := h.decided && (h.rec.Status == 429 || h.rec.Status == 503)
	firstByte := h.upstream && h.root.cfg.Log.AccessLog
	var now int64
	if h.up != nil || observe || firstByte {
		now = clock.Now()
	}
	if firstByte {
		h.rec.FirstByteMs, h.rec.FirstByte = (now-h.forwardedAt)/int64(time.Millisecond), true
	}
	if h.up != nil {
		h.root.router.Report(h.up, h.rec.Status, now)
		h.root.metrics.firstByte(h.up.Provider.Name, h.rec.Model, (now-h.forwardedAt)/int64(time.Millisecond))
	}
	if observe {
		_ = h.root.throttler.ObserveUpstream(now, &h.decision.Reservation, h.rec.Status, retryAfter(h.resp.get("retry-after")))
	}
	if h.up != nil && failing(h.rec.Status) && h.failOver(h.rec.Status, now) {
		return types.ActionPause // until a fallback answers (failover.go)
	}
	if h.up != nil {
		st := h.storage()
		aiformat.InitResponseTranslator(&st.rt, h.ai, h.up, now)
		h.rt = &st.rt
		head := h.rt.Headers(h.rec.Status, h.resp.get("content-type"))
		if st, body, bad := h.rt.Unanswerable(endOfStream); head.Fail || bad {
			h.replyUpstreamFault(st, body)
			return types.ActionPause
		}
		if head.Status != h.rec.Status {
			h.resp.set(":status", strconv.Itoa(head.Status))
			h.rec.Status = head.Status
		}
		if head.ContentType != "" {
			h.resp.set("content-type", head.ContentType)
		}
		h.resp.remove("content-length")
		h.buffer = head.Buffer
	}
	if h.decided {
		p := h.root
		p.headerBuf = h.decision.ResponseHeaders(p.headerBuf[:0])
		for _, hd := range p.headerBuf {
			h.resp.set(hd.Name, hd.Value)
		}
	}
	if h.root.cfg.ResponseHeaders.Version {
		h.resp.set("x-stepgate", config.Version)
	}
	h.lifecycleHeaders()
	h.providerCountHeader()
	if h.rt != nil && endOfStream {
		h.settle() // no body to translate
	}
	if h.mcp != nil {
		h.mcpResponseHeaders(endOfStream)
	}
	if h.buffer && !endOfStream {
		// Held with the body: an answer that turns out unreadable is replaced by a 502, which
		// is only possible while nothing went to the client.
		return types.ActionPause
	}
	return types.ActionContinue
}

// replyUpstreamFault answers the client with status and body (a 502 in its dialect) instead of
// a provider answer that cannot be translated. Nothing of the answer went to the client yet,
// so Envoy sends this reply directly, without the filter's response callbacks.
func (h *httpContext) replyUpstreamFault(status int, body []byte) {
	h.upstreamFault = true
	h.rec.Error = h.rt.Failure()
	var extra []throttle.Header
	if h.decided {
		extra = h.decision.ResponseHeaders(nil)
	}
	h.reply(status, body, extra)
}

// retryAfter reads a Retry-After header given in seconds (the HTTP-date form is ignored).
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

func (h *httpContext) OnHttpResponseBody(bodySize int, endOfStream bool) types.Action {
	a := h.responseBody(bodySize, endOfStream)
	h.resp.flush() // the cost header of a held answer
	return a
}

func (h *httpContext) responseBody(bodySize int, endOfStream bool) types.Action {
	if h.fo != nil && h.fo.pending {
		return types.ActionPause // the failed answer waits, unseen, for a fallback's to replace it
	}
	if h.mcp != nil && !h.local {
		return h.mcpResponseBody(bodySize, endOfStream)
	}
	if h.local {
		return types.ActionContinue
	}
	if h.rt == nil {
		h.rec.ResponseBytes += int64(bodySize)
		return types.ActionContinue
	}
	if h.buffer {
		if !endOfStream {
			return types.ActionPause
		}
		h.responseEnded = true
		body, _ := proxywasm.GetHttpResponseBody(0, bodySize)
		status, out := h.rt.Finish(body)
		if h.rt.Failure() != "" {
			h.replyUpstreamFault(status, out)
			return types.ActionPause
		}
		if h.prompt != nil && h.prompt.Compact && h.rec.Status < 400 {
			out = prompts.Compact(out)
		}
		h.replaceResponseBody(out)
		h.rt.Recycle() // the host has copied the answer
		h.settle()
		h.costHeader()
		h.estimateHeader()
		return types.ActionContinue
	}
	var chunk []byte
	if bodySize > 0 {
		chunk, _ = proxywasm.GetHttpResponseBody(0, bodySize)
	}
	h.replaceResponseBody(h.rt.Write(chunk, endOfStream))
	if f := h.rt.Failure(); f != "" && !h.upstreamFault {
		h.upstreamFault = true // the client got an error event in its stream
		h.rec.Error = f
	}
	if endOfStream {
		h.responseEnded = true
		h.settle()
	} else {
		h.chargeFlow()
	}
	return types.ActionContinue
}

// OnHttpResponseTrailers marks the end of an answer that ends with trailers.
func (h *httpContext) OnHttpResponseTrailers(int) types.Action {
	if h.fo != nil && h.fo.pending {
		return types.ActionPause
	}
	h.responseEnded = true
	return types.ActionContinue
}

func (h *httpContext) replaceResponseBody(out []byte) {
	h.rec.ResponseBytes += int64(len(out))
	if err := proxywasm.ReplaceHttpResponseBody(out); err != nil {
		h.root.logf(config.LevelError, "stepgate: replacing response body: %v", err)
	}
}

// settle corrects the token buckets with the usage the provider reported.
func (h *httpContext) settle() {
	u := h.rt.Usage()
	h.rec.TokensIn, h.rec.TokensOut, h.rec.UsageEstimated = u.Prompt, u.Completion, u.Estimated
	if (u.Prompt > 0 || u.Completion > 0) && !u.Estimated {
		miss := h.tokenEstimate() - (u.Prompt + u.Completion)
		h.root.metrics.estimateError(h.rec.Model, h.rec.Provider, max(miss, -miss))
	}
	var now lazyClock // read only if something below needs it: a host call each
	if h.decided && (u.Prompt > 0 || u.Completion > 0) {
		_ = h.root.throttler.Settle(now.read(), &h.decision.Reservation, u.Prompt+u.Completion)
	}
	if h.fallback != nil && (u.Prompt > 0 || u.Completion > 0) {
		_ = h.root.fleet.Fallback().Settle(now.read(), &h.fallback.Reservation, u.Prompt+u.Completion)
	}
	h.chargeCost(u, &now)
	if h.fo != nil {
		h.settleFallback(u, now.read())
	}
	h.learnCompletion(u)
}

// tokenEstimate is the LLM tokens an AI request is expected to use: its estimated prompt and its
// completion limit for each completion it asks for.
func (h *httpContext) tokenEstimate() int64 {
	return h.ai.PromptTokens + min(max(h.ai.MaxTokens, 0), 1<<40)*max(h.nChoices, 1)
}

func (h *httpContext) OnHttpStreamDone() {
	p := h.root
	var now lazyClock // a host call, made only when something below needs the time
	if h.heldUntil != 0 {
		p.forget(h.id) // first: a stream that has ended is never continued
	}
	if len(p.held) > 0 && p.releaseDue(now.read()) {
		_ = proxywasm.SetEffectiveContext(h.id)
	}
	if h.decided && (!h.upstream || h.rec.Status == 0) {
		_ = p.throttler.Release(now.read(), &h.decision.Reservation)
	}
	if h.mcp != nil && h.decided {
		h.mcpDone(now.read())
	}
	if p.fleet != nil {
		h.fleetStreamDone(now.read())
	}
	if h.fo != nil {
		h.failoverDone(now.read())
	}
	if p.cfg.Log.AccessLog || h.rec.Provider != "" { // the latency is logged, or a metric's
		h.rec.LatencyMs = (now.read() - h.start) / int64(time.Millisecond)
	}
	if h.rt != nil && !h.local && !h.responseEnded {
		// The provider's answer stopped before its end (a reset): Envoy resets the client's
		// stream too, so the record and the metrics are all that can tell.
		h.upstreamFault = true
		if h.rec.Error == "" {
			h.rec.Error = "the provider's answer was cut before its end"
		}
	}
	h.finishRecord()
	p.metrics.call(&h.rec, h.upstreamStatus, h.upstreamFault)
	if p.cfg.Log.AccessLog {
		proxywasm.LogInfo(string(h.rec.AppendJSON(make([]byte, 0, 256))))
	}
	p.recycle(h)
}

// finishRecord fills the call record's fields that are known only once the call is over.
func (h *httpContext) finishRecord() {
	if h.ai != nil {
		h.rec.TokensEstimated = h.tokenEstimate()
		h.rec.Stream = h.ai.Stream
	}
	origin := calllog.FromUpstream
	if h.local {
		origin = calllog.FromFilter
		if h.decided && h.decision.Action == throttle.Reject {
			origin = calllog.FromThrottle
		}
	}
	if h.upstreamFault || h.fo != nil && h.fo.answered {
		origin = calllog.FromUpstream // a 502 for an answer the filter could not translate, or a fallback's
	}
	h.rec.ErrorType = calllog.ErrorType(h.rec.Status, origin)
}

func dialectName(d aiformat.Dialect) string {
	if d == aiformat.DialectNone {
		return ""
	}
	return d.String()
}
