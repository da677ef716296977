package devgateway

import (
	"strings"

	"github.com/tidwall/gjson"
)

// redacted stands for a secret in what the admin port shows.
const redacted = `"REDACTED"`

// secretField reports whether a configuration field holds a secret: provider keys (api_key,
// api_keys), AWS secrets (secret_access_key, session_token) and, for sections to come,
// anything named a secret, password, token or hash.
func secretField(name string) bool {
	if strings.HasPrefix(name, "secret_") {
		return true
	}
	switch name {
	case "api_key", "api_keys", "secret", "password", "token", "hash":
		return true
	}
	for _, suffix := range []string{"_api_key", "_secret", "_password", "_token", "_hash"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// redactConfig returns the plugin configuration with every secret's value replaced (each
// string of a secret array too), fields in their order. A document that is not JSON is
// withheld entirely: it cannot be shown safely.
func redactConfig(doc []byte) []byte {
	if len(strings.TrimSpace(string(doc))) == 0 {
		return doc
	}
	if !gjson.ValidBytes(doc) {
		return []byte(`{"error":"the configuration is not valid JSON; not shown"}`)
	}
	return appendRedacted(nil, gjson.ParseBytes(doc), false)
}

func appendRedacted(dst []byte, v gjson.Result, secret bool) []byte {
	switch {
	case v.IsObject():
		dst = append(dst, '{')
		first := true
		v.ForEach(func(k, val gjson.Result) bool {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, k.Raw...)
			dst = append(dst, ':')
			dst = appendRedacted(dst, val, secretField(k.Str))
			return true
		})
		return append(dst, '}')
	case v.IsArray():
		dst = append(dst, '[')
		for i, e := range v.Array() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendRedacted(dst, e, secret)
		}
		return append(dst, ']')
	case secret && v.Type == gjson.String:
		return append(dst, redacted...)
	}
	return append(dst, v.Raw...)
}
