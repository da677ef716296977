package main

import (
	"math/rand/v2"

	"github.com/stepgate/stepgate/plugin/aiformat"
)

// forwardCountTokens sends a count_tokens request to the model's provider when that provider
// counts tokens itself (Anthropic), and reports whether it did. A 404 for an unknown model is
// answered here, in the client's shape (h.local tells).
func (h *httpContext) forwardCountTokens(now int64) bool {
	up, err := h.root.router.RouteCountTokens(h.ai, now, rand.Uint32())
	if err != nil {
		h.rec.Error = err.Message
		h.reply(err.Status, err.Body, nil)
		return false
	}
	if up == nil {
		return false
	}
	h.up = up
	h.rec.UpstreamModel = up.Model
	h.rec.Provider = up.Provider.Name
	h.forward(nil)
	h.upstream = true
	h.forwardedAt = now
	return true
}

// providerCountHeader labels a count_tokens answer that came from the provider as its own.
func (h *httpContext) providerCountHeader() {
	if h.up != nil && h.endpoint == aiformat.EndpointCountTokens && h.rec.Status < 400 {
		h.resp.set(aiformat.ProviderHeader[0], aiformat.ProviderHeader[1])
	}
}
