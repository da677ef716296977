package main

// providerRequestIDHeaders are where providers put their own id for a call, in order of
// preference.
var providerRequestIDHeaders = [...]string{"x-request-id", "request-id", "apim-request-id"}

// oneRequestID keeps one request id end to end: the client gets, in x-request-id, the id of
// the call record (the request's x-request-id), whatever the provider answered; the provider's own
// id goes into the record as provider_request_id. Without it the client would see the provider's
// id and the record the gateway's, with nothing to join them.
func (h *httpContext) oneRequestID() {
	if h.rec.RequestID == "" {
		return
	}
	if !h.local {
		for _, name := range providerRequestIDHeaders {
			if v := h.resp.get(name); v != "" {
				if v != h.rec.RequestID { // a server that echoes the request's id has none of its own
					h.rec.ProviderRequestID = v
				}
				break
			}
		}
	}
	h.resp.set("x-request-id", h.rec.RequestID)
}
