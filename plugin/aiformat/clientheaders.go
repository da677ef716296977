package aiformat

import (
	"fmt"
	"slices"

	"github.com/tidwall/gjson"
)

// ClientCredentialHeaders carry a client's credential in one dialect or another. None of them
// ever reaches a provider: every value of each is removed before the provider's own credential
// is set, whatever the client sent (repeated, in any case, in another dialect's header).
var ClientCredentialHeaders = [...]string{"authorization", "x-api-key", "api-key", "x-goog-api-key"}

// SessionHeaders belong to the client's connection or session with the gateway, not to the
// call: a provider never needs them. They are removed unless the provider's forward_headers
// keeps them.
var SessionHeaders = [...]string{
	"cookie", "proxy-authorization",
	// Hop-by-hop (RFC 9110 §7.6.1): they describe one connection and must not be forwarded.
	"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
}

// staleHeaders no longer describe the rewritten request: content-length changes with the body;
// without accept-encoding the provider answers uncompressed, so the answer can be translated.
var staleHeaders = [...]string{"content-length", "accept-encoding"}

// headersToRemove lists the client headers that must not reach the provider. The credential
// headers are all removed, the provider's own included: the route sets it afresh after the
// removal. A client of a provider of its own format keeps anthropic-beta (beta features it
// opted into) when the provider type says so: Anthropic's.
func (pr *Provider) headersToRemove(sameFormat bool) []string {
	rm := append([]string(nil), ClientCredentialHeaders[:]...)
	rm = append(rm, staleHeaders[:]...)
	rm = append(rm, "anthropic-version")
	if pr.Type.kind().signs { // a client's token must not join the filter's signature
		rm = append(rm, "x-amz-security-token", "x-amz-date", "x-amz-content-sha256")
	}
	if !(pr.Type.kind().keepsBeta && sameFormat) {
		rm = append(rm, "anthropic-beta")
	}
	for _, name := range SessionHeaders {
		if !slices.Contains(pr.ForwardHeaders, name) {
			rm = append(rm, name)
		}
	}
	return rm
}

// parseForwardHeaders reads forward_headers: the session headers this provider keeps.
// Credentials cannot be kept, and naming a header that is forwarded anyway is a mistake worth
// reporting.
func parseForwardHeaders(pr *Provider, v gjson.Result, path string) error {
	names, err := strList(v, path, "forward_headers")
	if err != nil {
		return err
	}
	for i, n := range names {
		field := fmt.Sprintf("%s.forward_headers[%d]", path, i)
		switch {
		case n != lowerASCII(n):
			return fmt.Errorf("%s: header names must be lower case", field)
		case slices.Contains(ClientCredentialHeaders[:], n):
			return fmt.Errorf("%s: %q is a client credential, never forwarded (the provider's key is set by the filter)", field, n)
		case !slices.Contains(SessionHeaders[:], n):
			return fmt.Errorf("%s: %q is forwarded anyway; only these can be kept: %v", field, n, SessionHeaders)
		}
	}
	pr.ForwardHeaders = names
	return nil
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
