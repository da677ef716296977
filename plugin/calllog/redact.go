package calllog

import "strings"

// Redacted replaces a secret in what is logged.
const Redacted = "REDACTED"

// secretParams are query parameters that carry credentials (Gemini's ?key=, OAuth tokens…).
var secretParams = [...]string{"key", "api_key", "api-key", "apikey", "access_token", "token", "x-goog-api-key"}

// RedactPath returns path with the values of credential query parameters replaced by
// Redacted, so that a record never holds a key a client put in its URL. A path without such a
// parameter is returned as is, without allocating.
func RedactPath(path string) string {
	q := strings.IndexByte(path, '?')
	if q < 0 || !hasSecret(path[q+1:]) {
		return path
	}
	var b strings.Builder
	b.Grow(len(path))
	b.WriteString(path[:q+1])
	for i, kv := range strings.Split(path[q+1:], "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		name, _, hasValue := strings.Cut(kv, "=")
		if hasValue && isSecret(name) {
			b.WriteString(name)
			b.WriteString("=" + Redacted)
			continue
		}
		b.WriteString(kv)
	}
	return b.String()
}

func hasSecret(query string) bool {
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		if name, _, ok := strings.Cut(kv, "="); ok && isSecret(name) {
			return true
		}
	}
	return false
}

func isSecret(name string) bool {
	for _, s := range secretParams {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}
