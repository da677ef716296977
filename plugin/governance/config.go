package governance

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
	"github.com/stepgate/stepgate/plugin/internal/vmsync"
	"github.com/stepgate/stepgate/plugin/lifecycle"
)

// Sections are the top-level configuration sections this package reads.
var Sections = []string{"routes", "tenants", "consumers"}

// Config is the governance of one plugin configuration.
type Config struct {
	Routes  []*Route // longest path prefix first
	Tenants map[string]*Tenant
	keys    map[[32]byte]*Key
	ids     map[string]*Key

	// verified remembers keys that passed the SHA-256 check (see Lookup).
	mu       vmsync.Mutex
	seeds    [2]sipKey
	verified map[[2]uint64]*Key
}

// KeyCount is the number of configured keys.
func (c *Config) KeyCount() int { return len(c.keys) }

// ParseConfig reads the routes, tenants and consumers sections of the configuration root. It
// returns nil when the document has none of them.
func ParseConfig(root gjson.Result) (*Config, error) {
	if !slices.ContainsFunc(Sections, func(s string) bool { return root.Get(s).Exists() }) {
		return nil, nil
	}
	c := &Config{Tenants: map[string]*Tenant{}, keys: map[[32]byte]*Key{}, ids: map[string]*Key{},
		verified: map[[2]uint64]*Key{}}
	for i := range c.seeds {
		c.seeds[i] = sipKey{rand.Uint64(), rand.Uint64()}
	}
	if err := c.parseRoutes(root.Get("routes")); err != nil {
		return nil, err
	}
	if err := c.parseTenants(root.Get("tenants")); err != nil {
		return nil, err
	}
	if err := c.parseConsumers(root.Get("consumers")); err != nil {
		return nil, err
	}
	c.ids = nil // only for duplicate checks while parsing
	return c, nil
}

var routeFields = append([]string{"path_prefix", "auth"}, lifecycle.Fields...)

func (c *Config) parseRoutes(v gjson.Result) error {
	if !v.Exists() {
		return nil
	}
	if err := cfgjson.Object(v, "routes"); err != nil {
		return err
	}
	var err error
	v.ForEach(func(name, rv gjson.Result) bool {
		var r *Route
		if r, err = parseRoute(name.Str, rv, "routes."+name.Str); err == nil {
			c.Routes = append(c.Routes, r)
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(c.Routes, func(i, j int) bool { return len(c.Routes[i].PathPrefix) > len(c.Routes[j].PathPrefix) })
	for i := 1; i < len(c.Routes); i++ {
		if a, b := c.Routes[i-1], c.Routes[i]; a.PathPrefix == b.PathPrefix {
			return fmt.Errorf("routes.%s.path_prefix: %q is also route %s's", b.Name, b.PathPrefix, a.Name)
		}
	}
	return nil
}

func parseRoute(name string, v gjson.Result, p string) (*Route, error) {
	if err := cfgjson.Object(v, p, routeFields...); err != nil {
		return nil, err
	}
	r := &Route{Name: name}
	var err error
	if r.PathPrefix, err = cfgjson.String(v, p, "path_prefix"); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(r.PathPrefix, "/") {
		return nil, fmt.Errorf("%s.path_prefix: required, a path starting with '/'", p)
	}
	if r.Lifecycle, err = lifecycle.Parse(v, p); err != nil {
		return nil, err
	}
	if a := v.Get("auth"); a.Exists() {
		r.Auth = true
		if r.Sources, err = parseAuth(a, p+".auth"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func parseAuth(v gjson.Result, p string) (Source, error) {
	if err := cfgjson.Object(v, p, "sources"); err != nil {
		return 0, err
	}
	names, err := cfgjson.Strings(v, p, "sources")
	if err != nil {
		return 0, err
	}
	if names == nil {
		return AllSources, nil
	}
	var s Source
	for i, n := range names {
		k := slices.Index(sourceNames[:], n)
		if k < 0 {
			return 0, fmt.Errorf("%s.sources[%d]: unknown source %q (want bearer, x-api-key, x-goog-api-key or query)", p, i, n)
		}
		s |= 1 << k
	}
	if s == 0 {
		return 0, fmt.Errorf("%s.sources: needs at least one source", p)
	}
	return s, nil
}

var policyFields = []string{"allowed_models", "allowed_routes", "allowed_prompts", "allowed_tools", "allowed_mcp_servers", "tier", "metadata_headers"}

func (c *Config) parseTenants(v gjson.Result) error {
	if !v.Exists() {
		return nil
	}
	if err := cfgjson.Object(v, "tenants"); err != nil {
		return err
	}
	var err error
	v.ForEach(func(name, tv gjson.Result) bool {
		p := "tenants." + name.Str
		if err = cfgjson.Object(tv, p, append(policyFields, "credentials")...); err != nil {
			return false
		}
		t := &Tenant{Name: name.Str}
		if err = parsePolicy(t, tv, p); err != nil {
			return false
		}
		t.Credentials, err = stringMap(tv, p, "credentials")
		c.Tenants[name.Str] = t
		return err == nil
	})
	return err
}

// parsePolicy reads the fields a consumer may override over its tenant's.
func parsePolicy(t *Tenant, v gjson.Result, p string) error {
	lists := []*[]string{&t.AllowedModels, &t.AllowedRoutes, &t.AllowedPrompts, &t.AllowedTools, &t.AllowedMCPServers}
	for i, dst := range lists {
		l, err := cfgjson.Strings(v, p, policyFields[i])
		if err != nil {
			return err
		}
		if l != nil {
			*dst = l
		}
	}
	tier, err := cfgjson.String(v, p, "tier")
	if err != nil {
		return err
	}
	if tier != "" {
		t.Tier = tier
	}
	hs, err := stringMap(v, p, "metadata_headers")
	if err != nil {
		return err
	}
	for name, val := range hs {
		if name != strings.ToLower(name) || name == "" || name[0] == ':' || strings.HasPrefix(name, "x-stepgate-") {
			return fmt.Errorf("%s.metadata_headers.%s: want a lower-case header name outside x-stepgate-*", p, name)
		}
		t.Headers = append(t.Headers, [2]string{name, val})
	}
	slices.SortFunc(t.Headers, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return nil
}

func (c *Config) parseConsumers(v gjson.Result) error {
	if !v.Exists() {
		return nil
	}
	if err := cfgjson.Object(v, "consumers"); err != nil {
		return err
	}
	var err error
	v.ForEach(func(name, cv gjson.Result) bool {
		err = c.parseConsumer(name.Str, cv, "consumers."+name.Str)
		return err == nil
	})
	return err
}

func (c *Config) parseConsumer(name string, v gjson.Result, p string) error {
	if err := cfgjson.Object(v, p, append(policyFields, "tenant", "keys")...); err != nil {
		return err
	}
	tn, err := cfgjson.String(v, p, "tenant")
	if err != nil {
		return err
	}
	base, ok := c.Tenants[tn]
	if !ok {
		return fmt.Errorf("%s.tenant: unknown tenant %q (want one of the tenants section)", p, tn)
	}
	t := base
	if slices.ContainsFunc(policyFields, func(f string) bool { return v.Get(f).Exists() }) {
		// The consumer's overrides apply to its own copy; the others share their tenant's, which
		// keeps the VM's heap (and so each garbage collection) small with many consumers.
		own := *base
		own.Headers = slices.Clone(base.Headers)
		if err := parsePolicy(&own, v, p); err != nil {
			return err
		}
		t = &own
	}
	keys := v.Get("keys")
	if !keys.IsArray() || len(keys.Array()) == 0 {
		return fmt.Errorf("%s.keys: required, an array of {\"id\", \"sha256\", \"expires\"}", p)
	}
	for i, kv := range keys.Array() {
		if err := c.parseKey(name, t, kv, fmt.Sprintf("%s.keys[%d]", p, i)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) parseKey(consumer string, t *Tenant, v gjson.Result, p string) error {
	if err := cfgjson.Object(v, p, "id", "sha256", "expires"); err != nil {
		return err
	}
	k := &Key{Consumer: consumer, Tenant: t}
	var err error
	if k.ID, err = cfgjson.String(v, p, "id"); err != nil || k.ID == "" {
		return fmt.Errorf("%s.id: required, a name for logs and throttle keys", p)
	}
	h, err := cfgjson.String(v, p, "sha256")
	if err != nil {
		return err
	}
	var sum [32]byte
	if b, derr := hex.DecodeString(h); derr != nil || len(b) != len(sum) {
		return fmt.Errorf("%s.sha256: want 64 hex digits, the SHA-256 of the key (stepgate-dev -hash-key prints it)", p)
	} else {
		copy(sum[:], b)
	}
	if old, dup := c.keys[sum]; dup {
		return fmt.Errorf("%s.sha256: the same key as %s's key %s", p, old.Consumer, old.ID)
	}
	if old, dup := c.ids[k.ID]; dup {
		return fmt.Errorf("%s.id: %q is also %s's key id", p, k.ID, old.Consumer)
	}
	exp, err := cfgjson.String(v, p, "expires")
	if err != nil {
		return err
	}
	if exp != "" {
		tm, perr := time.Parse(time.RFC3339, exp)
		if perr != nil {
			return fmt.Errorf("%s.expires: want an RFC 3339 time like 2027-01-31T00:00:00Z, got %q", p, exp)
		}
		k.Expires = tm.UnixNano()
	}
	c.keys[sum], c.ids[k.ID] = k, k
	return nil
}
