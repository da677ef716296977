package calllog

import (
	"strings"
	"testing"
)

func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1beta/models/g:generateContent?key=AIza-secret":         "/v1beta/models/g:generateContent?key=REDACTED",
		"/v1beta/models/g:streamGenerateContent?alt=sse&KEY=s&x=1": "/v1beta/models/g:streamGenerateContent?alt=sse&KEY=REDACTED&x=1",
		"/p?access_token=t&api_key=k&keyword=kept":                 "/p?access_token=REDACTED&api_key=REDACTED&keyword=kept",
		"/v1/chat/completions":                                     "/v1/chat/completions",
		"/p?key":                                                   "/p?key",
		"/p?monkey=1&key=&key=2":                                   "/p?monkey=1&key=REDACTED&key=REDACTED",
	} {
		if got := RedactPath(in); got != want {
			t.Errorf("RedactPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRedactPath(f *testing.F) {
	f.Add("/p?key=secret-value&alt=sse")
	f.Add("/p?a=1&&key=x=y")
	f.Fuzz(func(t *testing.T, path string) {
		got := RedactPath(path)
		if !strings.Contains(path, "?") && got != path {
			t.Fatalf("changed a path without a query: %q → %q", path, got)
		}
		q := strings.IndexByte(got, '?')
		if q < 0 {
			return
		}
		for _, kv := range strings.Split(got[q+1:], "&") {
			if name, v, ok := strings.Cut(kv, "="); ok && isSecret(name) && v != Redacted {
				t.Fatalf("%q → %q keeps %s", path, got, kv)
			}
		}
	})
}
