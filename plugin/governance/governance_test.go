package governance

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

type headers map[string]string

func (h headers) Get(name string) string { return h[name] }

func testConfig(t testing.TB) *Config {
	t.Helper()
	doc := fmt.Sprintf(`{
	  "routes": {
	    "chat": {"path_prefix": "/v1/", "auth": {}, "version": "v1"},
	    "gemini": {"path_prefix": "/v1beta/", "auth": {"sources": ["x-goog-api-key", "query"]}},
	    "admin": {"path_prefix": "/v1/admin/", "auth": {"sources": ["bearer"]}},
	    "open": {"path_prefix": "/public/"}
	  },
	  "tenants": {
	    "acme": {"allowed_models": ["gpt-4o*"], "allowed_routes": ["chat", "gemini"], "tier": "gold",
	             "metadata_headers": {"x-cost-center": "42"}, "allowed_tools": ["search_*"]},
	    "globex": {}
	  },
	  "consumers": {
	    "alice": {"tenant": "acme", "keys": [{"id": "alice-1", "sha256": %q},
	              {"id": "alice-old", "sha256": %q, "expires": "2026-01-01T00:00:00Z"}]},
	    "bob": {"tenant": "acme", "allowed_models": ["*"], "tier": "free", "keys": [{"id": "bob-1", "sha256": %q}]},
	    "carol": {"tenant": "globex", "keys": [{"id": "carol-1", "sha256": %q}]}
	  }}`, Hash("sk-alice"), Hash("sk-alice-old"), Hash("sk-bob"), Hash("sk-carol"))
	c, err := ParseConfig(gjson.Parse(doc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func TestAuthenticate(t *testing.T) {
	c := testConfig(t)
	for _, tc := range []struct {
		name, path string
		h          headers
		status     int
		keyID, msg string
	}{
		{"bearer", "/v1/chat/completions", headers{"authorization": "Bearer sk-alice"}, 0, "alice-1", ""},
		{"bearer case", "/v1/chat/completions", headers{"authorization": "bearer  sk-alice "}, 0, "alice-1", ""},
		{"x-api-key", "/v1/messages", headers{"x-api-key": "sk-bob"}, 0, "bob-1", ""},
		{"goog", "/v1beta/models/x:generateContent", headers{"x-goog-api-key": "sk-alice"}, 0, "alice-1", ""},
		{"query", "/v1beta/models/x:generateContent?alt=sse&key=sk-alice", headers{}, 0, "alice-1", ""},
		{"source not accepted", "/v1beta/models/x:generateContent", headers{"authorization": "Bearer sk-alice"}, 401, "", "missing API key (send it as x-goog-api-key or ?key=)"},
		{"missing", "/v1/chat/completions", headers{}, 401, "", "missing API key"},
		{"unknown", "/v1/chat/completions", headers{"authorization": "Bearer sk-mallory"}, 401, "", "invalid API key"},
		{"expired", "/v1/chat/completions", headers{"authorization": "Bearer sk-alice-old"}, 401, "", "API key alice-old expired at 2026-01-01T00:00:00Z"},
		{"route denied", "/v1/admin/x", headers{"authorization": "Bearer sk-alice"}, 403, "", "route admin is not allowed for tenant acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.MatchRoute(tc.path)
			id, d := c.Authenticate(r, tc.h, tc.path, now)
			if tc.status != 0 {
				if d == nil || d.Status != tc.status || !strings.HasPrefix(d.Message, tc.msg) {
					t.Fatalf("denial %+v, want %d %q", d, tc.status, tc.msg)
				}
				if strings.Contains(d.Message, "sk-") {
					t.Fatalf("denial repeats the key: %q", d.Message)
				}
				return
			}
			if d != nil || id.Key.ID != tc.keyID {
				t.Fatalf("got %+v %+v, want key %s", id, d, tc.keyID)
			}
		})
	}
}

func TestConsumerOverridesStayOwn(t *testing.T) {
	c := testConfig(t)
	alice, bob := c.Lookup("sk-alice"), c.Lookup("sk-bob")
	if alice.Tenant.Name != "acme" || bob.Tenant.Name != "acme" {
		t.Fatal("tenant names")
	}
	if alice.Tenant.AllowsModel("claude-sonnet-4") || !bob.Tenant.AllowsModel("claude-sonnet-4") {
		t.Error("bob's allowed_models override leaked or was lost")
	}
	if alice.Tenant.Tier != "gold" || bob.Tenant.Tier != "free" {
		t.Errorf("tiers %q %q", alice.Tenant.Tier, bob.Tenant.Tier)
	}
	if c.Tenants["acme"].Tier != "gold" {
		t.Error("a consumer changed its tenant")
	}
	if !alice.Tenant.AllowsTool("search_web") || alice.Tenant.AllowsTool("shell") || !c.Lookup("sk-carol").Tenant.AllowsTool("shell") {
		t.Error("AllowsTool")
	}
	if d := (&Identity{Key: alice}).CheckModel("claude-sonnet-4"); d == nil || d.Status != 403 ||
		d.Message != "model claude-sonnet-4 is not allowed for tenant acme" {
		t.Errorf("CheckModel: %+v", d)
	}
	if h := alice.Tenant.Headers; len(h) != 1 || h[0] != [2]string{"x-cost-center", "42"} {
		t.Errorf("headers %q", h)
	}
}

func TestMatchRouteLongestPrefix(t *testing.T) {
	c := testConfig(t)
	for path, want := range map[string]string{"/v1/admin/x": "admin", "/v1/chat/completions?x=1": "chat", "/public/a": "open", "/other": ""} {
		r := c.MatchRoute(path)
		got := ""
		if r != nil {
			got = r.Name
		}
		if got != want {
			t.Errorf("%s: route %q, want %q", path, got, want)
		}
	}
}

func TestQueryKey(t *testing.T) {
	if got := QueryKey("/p?alt=sse&key=abc&x=1"); got != "abc" {
		t.Errorf("QueryKey %q", got)
	}
	if got := WithoutQueryKey("/p?alt=sse&key=abc&x=1"); got != "/p?alt=sse&x=1" {
		t.Errorf("WithoutQueryKey %q", got)
	}
	if got := WithoutQueryKey("/p?key=abc"); got != "/p" {
		t.Errorf("WithoutQueryKey %q", got)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	h := Hash("k")
	for doc, want := range map[string]string{
		`{"routes":{"a":{}}}`: "routes.a.path_prefix: required",
		`{"routes":{"a":{"path_prefix":"/v1/","auth":{"sources":["cookie"]}}}}`:                                                          `routes.a.auth.sources[0]: unknown source "cookie"`,
		`{"routes":{"a":{"path_prefix":"/v1/"},"b":{"path_prefix":"/v1/"}}}`:                                                             "routes.b.path_prefix",
		`{"tenants":{"t":{"allowed_models":"x"}}}`:                                                                                       "tenants.t.allowed_models: must be an array",
		`{"tenants":{"t":{"metadata_headers":{"X-A":"1"}}}}`:                                                                             "tenants.t.metadata_headers.X-A",
		`{"consumers":{"c":{"tenant":"nope","keys":[]}}}`:                                                                                `consumers.c.tenant: unknown tenant "nope"`,
		`{"tenants":{"t":{}},"consumers":{"c":{"tenant":"t"}}}`:                                                                          "consumers.c.keys: required",
		`{"tenants":{"t":{}},"consumers":{"c":{"tenant":"t","keys":[{"id":"a","sha256":"zz"}]}}}`:                                        "consumers.c.keys[0].sha256: want 64 hex digits",
		`{"tenants":{"t":{}},"consumers":{"c":{"tenant":"t","keys":[{"sha256":"` + h + `"}]}}}`:                                          "consumers.c.keys[0].id: required",
		`{"tenants":{"t":{}},"consumers":{"c":{"tenant":"t","keys":[{"id":"a","sha256":"` + h + `"},{"id":"b","sha256":"` + h + `"}]}}}`: "consumers.c.keys[1].sha256: the same key as c's key a",
		`{"tenants":{"t":{}},"consumers":{"c":{"tenant":"t","keys":[{"id":"a","sha256":"` + h + `","expires":"soon"}]}}}`:                "consumers.c.keys[0].expires",
		`{"tenants":{"t":{}},"consumers":{"c":{"tenant":"t","key":[]}}}`:                                                                 "consumers.c.key: unknown field",
	} {
		_, err := ParseConfig(gjson.Parse(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", doc, err, want)
		}
	}
}

func TestNoSectionsNoConfig(t *testing.T) {
	c, err := ParseConfig(gjson.Parse(`{"log":{}}`))
	if c != nil || err != nil {
		t.Fatal(c, err)
	}
}

// globRef is the obvious recursive matcher Glob must agree with.
func globRef(p, s string) bool {
	if p == "" {
		return s == ""
	}
	if p[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if globRef(p[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return s != "" && s[0] == p[0] && globRef(p[1:], s[1:])
}

func TestGlob(t *testing.T) {
	for _, c := range [][2]string{{"a*b*c", "axbyc"}, {"*", ""}, {"gpt-4o*", "gpt-4o-mini"}, {"*-mini", "gpt-4o-mini"},
		{"a*a", "a"}, {"*ab*ab", "abab"}, {"a**b", "ab"}, {"x", "y"}} {
		if Glob(c[0], c[1]) != globRef(c[0], c[1]) {
			t.Errorf("Glob(%q, %q) = %v", c[0], c[1], Glob(c[0], c[1]))
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b*c", "axbyc")
	f.Add("*ab*ab", "abab")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 16 || len(s) > 32 {
			return
		}
		if Glob(p, s) != globRef(p, s) {
			t.Fatalf("Glob(%q, %q) = %v", p, s, Glob(p, s))
		}
	})
}

// FuzzAuthenticate: any headers and path either authenticate a configured key or are denied
// with 401/403, never panic, and a denial never echoes what the client sent.
func FuzzAuthenticate(f *testing.F) {
	c := testConfig(f)
	f.Add("/v1/chat/completions", "Bearer sk-alice", "", "")
	f.Add("/v1beta/x?key=sk-bob&key=", "", "", "sk-carol")
	f.Add("/v1/admin", "bearer ", "sk-", "")
	f.Fuzz(func(t *testing.T, path, authz, xkey, gkey string) {
		r := c.MatchRoute(path)
		if r == nil || !r.Auth {
			return
		}
		id, d := c.Authenticate(r, headers{"authorization": authz, "x-api-key": xkey, "x-goog-api-key": gkey}, path, now)
		if (id.Key == nil) == (d == nil) {
			t.Fatal("want exactly one of identity and denial")
		}
		if d != nil {
			if d.Status != 401 && d.Status != 403 {
				t.Fatalf("status %d", d.Status)
			}
			for _, secret := range []string{authz, xkey, gkey, QueryKey(path)} {
				if len(secret) >= 16 && strings.Contains(d.Message, secret) {
					t.Fatalf("denial %q holds client input %q", d.Message, secret)
				}
			}
		}
		_ = WithoutQueryKey(path)
	})
}
