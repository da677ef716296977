package aiformat

import (
	"github.com/stepgate/stepgate/plugin/aiformat/anthropic"
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/tidwall/gjson"
)

// Anthropic's count_tokens (POST /v1/messages/count_tokens) is forwarded to the provider when
// the backend chosen for the model counts tokens itself (an anthropic provider): the client
// gets the provider's own count. Otherwise the filter answers with its estimate
// (CountTokensResponse).

// ProviderHeader marks a token count as the provider's own, forwarded by the filter.
var ProviderHeader = [2]string{"x-stepgate-token-count", "provider"}

// RouteCountTokens picks a backend for a count_tokens request like Route does for a call. When
// its provider counts tokens, the result is the upstream request (the client's body with the
// upstream model, at the provider's count_tokens path); when it does not, it is nil, and the
// count is to be answered with CountTokensResponse. The error is a 404 for an unknown model.
func (r *Router) RouteCountTokens(req *Request, now int64, rnd uint32) (*Upstream, *Error) {
	if req.Endpoint != EndpointCountTokens {
		return nil, NewError(req.Dialect, 400, "not a count_tokens request")
	}
	rt := r.cfg.lookup(req.Model)
	if rt == nil {
		return nil, render(req.Dialect, &hub.Error{Status: 404, Kind: hub.KindNotFound, Param: "model", Code: "model_not_found",
			Message: "model " + quote(req.Model) + " is not available"})
	}
	b, tripped := r.choose(rt, now, rnd)
	if b.Provider.Type.kind().countTokensPath == nil {
		return nil, nil
	}
	up := &Upstream{Provider: b.Provider, Model: b.Model, backend: b, tripped: tripped}
	if up.Model == "" {
		up.Model = req.Model
	}
	up.Body = anthropic.RewriteCountTokens(make([]byte, 0, len(req.Body)+64), bstr(req.Body), up.Model)
	r.headers(req, up)
	return up, nil
}

// finishCountTokens passes a provider's count through when it is one: {"input_tokens": N}.
func (t *ResponseTranslator) finishCountTokens(body []byte) (int, []byte) {
	if n := gjson.GetBytes(body, "input_tokens"); !gjson.ValidBytes(body) || n.Type != gjson.Number {
		t.fault = "the provider's answer cannot be read: no input_tokens"
		e := render(t.client, &hub.Error{Status: 502, Kind: hub.KindServer, Message: t.fault})
		return e.Status, e.Body
	}
	return t.status, body
}
