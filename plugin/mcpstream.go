package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/stepgate/stepgate/plugin/config"
	"github.com/stepgate/stepgate/plugin/governance"
	"github.com/stepgate/stepgate/plugin/mcp"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// mcpStream is the MCP side of a stream on a route of the "mcp" section: the POSTed JSON-RPC
// messages are parsed; the ones the gateway refuses (invalid, blocked method, tool or server not
// allowed, throttled) are answered by the gateway with JSON-RPC errors, the others go to the
// server; answers to a batch are merged into the server's response, and tools/list results are
// filtered to the allowed tools. Nothing else of the traffic (Mcp-Session-Id, the GET stream,
// SSE events) is touched.
type mcpStream struct {
	srv    *mcp.Server
	tenant *governance.Tenant // the authenticated caller's tenant; nil for an anonymous caller
	msgs   []mcp.Message

	answers  [][]byte          // the gateway's answers, merged into a batch's response
	status   int               // the HTTP status of a local reply
	rejected throttle.Decision // the first throttled request's decision, for its headers
	throttle throttle.Decision
	extra    []throttle.Decision // reservations of a batch's other forwarded requests
	filter   mcp.ToolFilter

	respJSON bool // buffering a JSON response to merge or filter
	respSSE  bool
	events   mcp.EventRewriter
	prefixed bool // the answers went out ahead of the SSE stream
}

// mcpHeaders starts a stream on an MCP route. POST bodies are read whole before deciding; any
// other request (the GET event stream, DELETE of a session) is decided on its headers.
func (h *httpContext) mcpHeaders(srv *mcp.Server, endOfStream bool, now int64) types.Action {
	st := h.storage()
	st.mcp = mcpStream{srv: srv} // the storage is the last MCP stream's: each starts from zero
	h.mcp = &st.mcp
	if h.caller != nil {
		h.mcp.tenant = h.caller.Key.Tenant
	}
	h.rec.Route = srv.Name
	h.req.set("x-stepgate-cluster", srv.Cluster)
	if srv.Host != "" {
		h.req.set(":authority", srv.Host)
	}
	if h.rec.Method != "POST" || endOfStream {
		return h.decide(nil, now)
	}
	if err := h.checkContentLength(); err != nil {
		h.mcpTooLarge()
		return types.ActionPause
	}
	h.waiting = true
	return types.ActionPause
}

// mcpTooLarge refuses a body over limits.max_request_body_bytes, in JSON-RPC.
func (h *httpContext) mcpTooLarge() {
	h.rec.Error = "request body too large"
	h.mcpReply(413, h.mcpError(nil, mcp.InvalidRequest, "invalid request: body over the gateway's limit", nil))
}

// mcpDecide decides a whole request on an MCP route.
func (h *httpContext) mcpDecide(body []byte, now int64) types.Action {
	m := h.mcp
	if body == nil && !h.serverAllowed() {
		h.mcpReply(403, h.mcpError(nil, mcp.Forbidden, "server not allowed", func(e *mcp.Error) { e.Server = m.srv.Name }))
		return types.ActionPause
	}
	if body == nil {
		if m.restrictsTools() {
			// A GET stream may replay answers to earlier POSTs (Last-Event-ID): any tool list
			// on it is filtered.
			m.filter.AnyID, m.filter.Allow = true, m.allowTool
		}
		return h.mcpSend(nil, now, h.mcpThrottle(now, "", ""))
	}
	parsed, err := mcp.Parse(body, m.msgs)
	m.msgs = parsed.Messages
	switch {
	case err != nil:
		h.rec.Error = "parse error"
		h.mcpReply(400, h.mcpError(nil, mcp.ParseError, "parse error: the body is not JSON", nil))
		return types.ActionPause
	case parsed.Batch && len(parsed.Messages) == 0:
		h.rec.Error = "empty batch"
		h.mcpReply(400, h.mcpError(nil, mcp.InvalidRequest, "invalid request: empty batch", nil))
		return types.ActionPause
	}
	var inline [8]bool
	fwd := inline[:0]
	if len(m.msgs) > len(inline) {
		fwd = make([]bool, 0, len(m.msgs))
	}
	fwd = fwd[:len(m.msgs)]
	var forwarded, requests int
	for i := range m.msgs {
		if h.mcpMessage(&m.msgs[i], now) {
			fwd[i] = true
			forwarded++
			if m.msgs[i].Kind == mcp.Request {
				requests++
			}
		}
	}
	switch {
	case forwarded == len(m.msgs):
		return h.mcpSend(nil, now, m.throttle) // the body goes as it came
	case !parsed.Batch:
		var answer []byte
		if len(m.answers) > 0 {
			answer = m.answers[0]
		}
		h.mcpReply(m.status, answer, m.rejected.ResponseHeaders(nil)...)
		return types.ActionPause
	case forwarded == 0 && len(m.answers) == 0:
		h.mcpReply(202, nil) // only notifications, all refused: nothing to answer
		return types.ActionPause
	case forwarded == 0:
		h.mcpReply(200, wrapBatch(m.answers))
		return types.ActionPause
	}
	out := rebuildBatch(m.msgs, fwd, len(body))
	if requests == 0 && len(m.answers) > 0 {
		// The server answers a batch without requests with 202 and no body, to which the
		// gateway's answers could not be added: they are the reply, and the batch's
		// notifications and responses go to the server beside it.
		h.mcpDispatch(out)
		h.mcpReply(200, wrapBatch(m.answers))
		return types.ActionPause
	}
	return h.mcpSend(out, now, m.throttle)
}

// mcpMessage decides one message; it reports whether it goes to the server, or else adds the
// gateway's answer (none for a notification).
func (h *httpContext) mcpMessage(msg *mcp.Message, now int64) bool {
	m, p := h.mcp, h.root
	if msg.Kind == mcp.Request && h.rec.MCPMethod == "" {
		h.rec.MCPMethod = msg.Method
	}
	if msg.Tool != "" && h.rec.Tool == "" {
		h.rec.Tool = msg.Tool
	}
	refuse := func(status, code int, text string, data func(*mcp.Error)) bool {
		p.metrics.mcp(h.rec.Tenant, m.srv.Name, msg.Method, msg.Tool, outcomeOf(code))
		if code == mcp.InvalidRequest {
			msg.ID = nil // JSON-RPC answers an invalid request with a null id unless it can read it
		}
		if msg.Kind == mcp.Notification {
			if m.status == 0 {
				m.status = 403 // a lone refused notification: the server "cannot accept" it
			}
			return false
		}
		h.mcpAnswer(status, h.mcpError(msg.ID, code, text, data))
		return false
	}
	switch {
	case msg.Kind == mcp.Response:
		return true
	case msg.Kind == mcp.Invalid:
		return refuse(400, mcp.InvalidRequest, "invalid request: "+msg.Reason, nil)
	case !h.serverAllowed():
		return refuse(403, mcp.Forbidden, "server not allowed", func(e *mcp.Error) { e.Server = m.srv.Name })
	case m.srv.Blocks(msg.Method):
		return refuse(200, mcp.MethodNotFound, "method not found", func(e *mcp.Error) { e.Method = msg.Method })
	case msg.Method == mcp.MethodToolsCall && !m.allowTool(msg.Tool):
		return refuse(200, mcp.Forbidden, "tool not allowed", func(e *mcp.Error) { e.Tool = msg.Tool })
	}
	if msg.Kind == mcp.Request {
		d := h.mcpThrottle(now, msg.Method, msg.Tool)
		if d.Action == throttle.Reject {
			if m.rejected.Action != throttle.Reject {
				m.rejected = d
			}
			return refuse(d.Status, mcp.Throttled, "rate limited", func(e *mcp.Error) {
				e.RetryAfter, e.Rule = d.RetryAfter, rejectingRule(&d)
			})
		}
		h.mcpKeep(d)
		p.metrics.mcp(h.rec.Tenant, m.srv.Name, msg.Method, msg.Tool, d.Action.String())
		if msg.Method == mcp.MethodToolsList && m.restrictsTools() {
			m.filter.IDs = append(m.filter.IDs, msg.ID)
			m.filter.Allow = m.allowTool
		}
	} else {
		p.metrics.mcp(h.rec.Tenant, m.srv.Name, msg.Method, msg.Tool, "allow")
	}
	return true
}

// allowTool is the one place a tool is checked, for calls and for tools/list alike: the
// server's allowed_tools today; a caller's tenant list (Tenant.AllowsTool) joins it here.
func (m *mcpStream) allowTool(name string) bool {
	return mcp.Allowed(m.srv.AllowedTools, name) && (m.tenant == nil || m.tenant.AllowsTool(name))
}

// serverAllowed is the one place a server is checked: the section's allowed_servers today; a
// caller's tenant list joins it here.
func (h *httpContext) serverAllowed() bool {
	name := h.mcp.srv.Name
	return mcp.Allowed(h.root.cfg.MCP.AllowedServers, name) && (h.mcp.tenant == nil || h.mcp.tenant.AllowsMCPServer(name))
}

// restrictsTools says whether some tools may be hidden from tools/list.
func (m *mcpStream) restrictsTools() bool {
	return m.srv.AllowedTools != nil || (m.tenant != nil && m.tenant.AllowedTools != nil)
}

// mcpThrottle runs the throttle for one MCP message (or a request without a body).
func (h *httpContext) mcpThrottle(now int64, method, tool string) throttle.Decision {
	p := h.root
	if p.throttler == nil {
		return throttle.Decision{}
	}
	q := throttle.Request{Path: h.rec.Path, Method: h.rec.Method, Headers: h.headers, Tenant: h.rec.Tenant,
		KeyID: h.rec.KeyID, MCPMethod: method, MCPTool: tool}
	d := p.throttler.Decide(now, &q)
	p.metrics.decisions(&d)
	if len(d.Reservation.Outcomes()) > 0 {
		h.decided = true
		if h.rec.Step == "" || d.Action > stepAction(h.rec.Step) {
			h.rec.Step = d.Action.String()
		}
	}
	return d
}

// mcpKeep keeps the decision of a forwarded request: the one that holds longest drives the
// stream (hold, headers); the others only keep their reservations.
func (h *httpContext) mcpKeep(d throttle.Decision) {
	m := h.mcp
	if len(d.Reservation.Outcomes()) == 0 {
		return
	}
	if len(m.throttle.Reservation.Outcomes()) == 0 || d.Delay > m.throttle.Delay {
		if len(m.throttle.Reservation.Outcomes()) > 0 {
			m.extra = append(m.extra, m.throttle)
		}
		m.throttle = d
		return
	}
	m.extra = append(m.extra, d)
}

// mcpSend forwards the request (with body, when the batch was cut down) under decision d,
// holding it while d says so.
func (h *httpContext) mcpSend(body []byte, now int64, d throttle.Decision) types.Action {
	h.decision = d
	if h.decided {
		for _, hd := range d.RequestHeaders(nil) {
			h.req.set(hd.Name, hd.Value)
		}
	}
	if body != nil {
		h.req.remove("content-length")
		if err := proxywasm.ReplaceHttpRequestBody(body); err != nil {
			h.root.logf(config.LevelError, "stepgate: replacing request body: %v", err)
		}
	}
	h.upstream = true
	h.forwardedAt = now
	if d.Delay > 0 {
		h.heldUntil = now + int64(d.Delay)
		h.forwardedAt = h.heldUntil
		h.root.hold(h.id, held{since: now, until: h.heldUntil, rule: shapingRule(&d), step: h.rec.Step, stream: h})
		return types.ActionPause
	}
	return types.ActionContinue
}

// mcpDispatch sends a cut-down batch of notifications to the server beside the stream.
func (h *httpContext) mcpDispatch(body []byte) {
	h.flushRequest() // the notifications go with the request's headers as they are now
	hs, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		return
	}
	out := hs[:0]
	for _, kv := range hs {
		if kv[0] != "content-length" && kv[0] != "x-stepgate-cluster" && kv[0] != "transfer-encoding" {
			out = append(out, kv)
		}
	}
	if _, err := proxywasm.DispatchHttpCall(h.mcp.srv.Cluster, out, body, nil, 30000, func(int, int, int) {}); err != nil {
		h.root.logf(config.LevelWarn, "stepgate: forwarding MCP notifications to %s: %v", h.mcp.srv.Cluster, err)
	}
}

// mcpAnswer adds one answer; the HTTP status of a lone answer is the most severe one.
func (h *httpContext) mcpAnswer(status int, answer []byte) {
	m := h.mcp
	m.answers = append(m.answers, answer)
	if status > m.status || m.status == 0 {
		m.status = status
	}
	if h.rec.Error == "" {
		h.rec.Error = errorMessage(answer)
	}
}

func (h *httpContext) mcpError(id []byte, code int, text string, data func(*mcp.Error)) []byte {
	e := mcp.Error{ID: id, Code: code, Message: text}
	if data != nil {
		data(&e)
	}
	return mcp.AppendError(nil, &e)
}

// mcpReply answers the whole request locally. A refused lone notification has no answer of its
// own: its reply holds an error without id.
// A throttled lone request carries the throttle's headers (Retry-After, RateLimit).
func (h *httpContext) mcpReply(status int, body []byte, extra ...throttle.Header) {
	if len(body) == 0 && status >= 400 {
		body = h.mcpError(nil, mcp.Forbidden, "notification refused", nil)
	}
	if status == 0 {
		status = 202
	}
	h.reply(status, body, extra)
}

// mcpResponseHeaders prepares the response side: merging the gateway's answers into a batch's
// response and filtering tools/list results need the body; anything else streams untouched.
func (h *httpContext) mcpResponseHeaders(endOfStream bool) {
	m := h.mcp
	if endOfStream || (len(m.answers) == 0 && !m.filter.Active()) {
		return
	}
	switch mediaType(h.resp.get("content-type")) {
	case "application/json":
		m.respJSON = true
	case "text/event-stream":
		m.respSSE = true
		if m.filter.Active() {
			m.events.Rewrite = m.filter.Message
		}
	default:
		return
	}
	h.resp.remove("content-length")
}

func (h *httpContext) mcpResponseBody(bodySize int, endOfStream bool) types.Action {
	m := h.mcp
	switch {
	case m.respJSON:
		if !endOfStream {
			return types.ActionPause
		}
		body, _ := proxywasm.GetHttpResponseBody(0, bodySize)
		if m.filter.Active() {
			body = m.filter.Body(body)
		}
		h.replaceResponseBody(mergeAnswers(body, m.answers))
	case m.respSSE:
		var chunk []byte
		if bodySize > 0 {
			chunk, _ = proxywasm.GetHttpResponseBody(0, bodySize)
		}
		var out []byte
		if !m.prefixed && len(m.answers) > 0 {
			m.prefixed = true
			for _, a := range m.answers {
				out = mcp.AppendEvent(out, a)
			}
		}
		if m.events.Rewrite != nil {
			out = append(out, m.events.Write(chunk, endOfStream)...)
		} else if out == nil {
			return types.ActionContinue // nothing to add or change: the stream goes as it is
		} else {
			out = append(out, chunk...)
		}
		h.replaceResponseBody(out)
	}
	return types.ActionContinue
}

// mcpDone gives back the reservations of a batch's other requests when none went upstream.
func (h *httpContext) mcpDone(now int64) {
	m := h.mcp
	if !h.upstream || h.rec.Status == 0 {
		for i := range m.extra {
			_ = h.root.throttler.Release(now, &m.extra[i].Reservation)
		}
	}
}
