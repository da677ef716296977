package main

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/governance"
	"github.com/stepgate/stepgate/plugin/lifecycle"
	"github.com/stepgate/stepgate/plugin/prompts"
)

// govern runs at request headers: it finds the API route or prompt, answers retired ones with
// 410, authenticates the caller on routes that require a key and removes the key from the
// request, and answers the prompt catalogue. It reports whether the stream was answered locally.
func (h *httpContext) govern(now int64) bool {
	cfg := h.root.cfg
	if e, ok := h.matchPrompt(); ok {
		h.prompt = e.Prompt
		h.rec.Route, h.rec.Version = e.Name, e.Prompt.Version
		h.dialect, h.endpoint = aiformat.DialectOpenAI, aiformat.EndpointChat
		h.rec.Dialect = "openai"
		if h.retired(e.Name, &e.Prompt.Lifecycle) {
			return true
		}
	}
	var route *governance.Route
	if g := cfg.Governance; g != nil {
		route = g.MatchRoute(h.rec.Path)
	}
	if route != nil {
		if h.prompt == nil {
			h.rec.Route, h.rec.Version = route.Name, route.Version
		}
		if h.retired(route.Name, &route.Lifecycle) {
			return true
		}
		if route.Auth && !h.authenticate(route, now) {
			return true
		}
	}
	if h.prompt != nil && h.caller != nil && !h.caller.Key.Tenant.AllowsPrompt(h.rec.Route) {
		h.deny(403, "prompt "+h.rec.Route+" is not allowed for tenant "+h.caller.Key.Tenant.Name)
		return true
	}
	if cfg.Prompts != nil && h.rec.Method == "GET" && pathOnly(h.rec.Path) == prompts.CataloguePath {
		h.reply(200, cfg.Prompts.Catalogue(h.visiblePrompt), nil)
		return true
	}
	return false
}

func (h *httpContext) matchPrompt() (prompts.Endpoint, bool) {
	if h.root.cfg.Prompts == nil || h.rec.Method != "POST" || h.root.cfg.AI == nil {
		return prompts.Endpoint{}, false
	}
	return h.root.cfg.Prompts.Match(h.rec.Path)
}

// retired answers a retired API with 410 naming its successor; a deprecated one's headers are
// kept for the response.
func (h *httpContext) retired(name string, l *lifecycle.Lifecycle) bool {
	switch l.State {
	case lifecycle.Retired:
		h.deny(410, l.RetiredMessage(name))
		return true
	case lifecycle.Deprecated:
		h.lifecycle = l.Headers
	}
	return false
}

// authenticate finds the caller's key; the key itself is then removed from the request so that
// it can never reach an upstream (AI requests lose every client credential when they are routed,
// so only the others need a host call here), and from the call record's path.
func (h *httpContext) authenticate(r *governance.Route, now int64) bool {
	id, d := h.root.cfg.Governance.Authenticate(r, h.headers, h.headers.Get(":path"), now)
	if d != nil {
		h.rec.Error = d.Message
		h.deny(d.Status, d.Message)
		return false
	}
	h.callerID = id
	h.caller = &h.callerID
	h.rec.Tenant, h.rec.KeyID = id.Key.Tenant.Name, id.Key.ID
	if h.endpoint != aiformat.EndpointNone {
		return true
	}
	switch id.Source {
	case governance.SourceBearer:
		h.req.remove("authorization")
	case governance.SourceXAPIKey:
		h.req.remove("x-api-key")
	case governance.SourceGoogAPIKey:
		h.req.remove("x-goog-api-key")
	case governance.SourceQuery:
		h.req.set(":path", h.rec.Path)
	}
	return true
}

// redactQueryKey removes a ?key= credential from the path the filter records and parses.
func (h *httpContext) redactQueryKey() {
	if strings.Contains(h.rec.Path, "key=") && governance.QueryKey(h.rec.Path) != "" {
		h.rec.Path = governance.WithoutQueryKey(h.rec.Path)
	}
}

// deny answers locally in the client's dialect; nothing is sent upstream.
func (h *httpContext) deny(status int, msg string) {
	h.rec.Error = msg
	e := aiformat.NewError(h.errorDialect(), status, msg)
	h.reply(status, e.Body, nil)
}

// errorDialect is the dialect of the client's errors: Anthropic clients listing models send
// anthropic-version on an OpenAI-looking path.
func (h *httpContext) errorDialect() aiformat.Dialect {
	if h.dialect == aiformat.DialectOpenAI && h.headers.Get("anthropic-version") != "" {
		return aiformat.DialectAnthropic
	}
	return h.dialect
}

// checkModel refuses a model the caller's tenant may not use, after any model alias applied.
func (h *httpContext) checkModel() bool {
	if h.caller == nil {
		return true
	}
	if d := h.caller.CheckModel(h.ai.Model); d != nil {
		h.deny(d.Status, d.Message)
		return false
	}
	return true
}

// applyAlias replaces a model alias with the model it stands for.
func (h *httpContext) applyAlias() {
	if p := h.root.cfg.Prompts; p != nil {
		if target, ok := p.ModelAliases[h.ai.Model]; ok {
			h.ai.SetModel(target)
		}
	}
}

// renderPrompt turns a prompt call's variables into the chat request it stands for.
func (h *httpContext) renderPrompt(body []byte) ([]byte, bool) {
	model := h.prompt.Model
	out, _, verr := h.prompt.Render(nil, body, model)
	if verr != nil {
		h.deny(400, verr.Message)
		return nil, false
	}
	return out, true
}

func (h *httpContext) visiblePrompt(e prompts.Endpoint) bool {
	if h.caller == nil {
		return true
	}
	t := h.caller.Key.Tenant
	return t.AllowsPrompt(e.Name) && t.AllowsModel(e.Prompt.Model)
}

// allowedModels is what /v1/models lists for this caller: nil (all) for anonymous callers.
func (h *httpContext) allowedModels() []string {
	if h.caller == nil {
		return nil
	}
	return h.caller.Key.Tenant.AllowedModels
}

// tenantHeaders sets the caller's metadata headers and the tenant's own provider key.
func (h *httpContext) tenantHeaders() {
	if h.caller == nil {
		return
	}
	t := h.caller.Key.Tenant
	// For Envoy's own rate limit filter (envoy/envoy.yaml's tenant descriptors); Envoy's route
	// removes it before the provider, like every x-stepgate-* header.
	h.req.set("x-stepgate-tenant", t.Name)
	for _, kv := range t.Headers {
		h.req.set(kv[0], kv[1])
	}
	if h.up == nil || t.Credentials == nil {
		return
	}
	if key, ok := t.Credentials[h.up.Provider.Name]; ok {
		c := h.up.Provider.Credential(key)
		h.req.set(c[0], c[1])
	}
}

// lifecycleHeaders adds a deprecated API's Deprecation, Sunset and Link headers.
func (h *httpContext) lifecycleHeaders() {
	for _, kv := range h.lifecycle {
		h.resp.set(kv[0], kv[1])
	}
}

func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}
