package aiformat

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/openai"
	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
	"github.com/tidwall/gjson"
)

// Provider is one configured upstream API.
type Provider struct {
	Name             string
	Type             ProviderType
	Cluster          string   // Envoy cluster (header x-stepgate-cluster)
	Host             string   // :authority sent upstream
	BasePath         string   // path prefix, e.g. "/v1"
	APIKeys          []string // rotated per request
	APIVersion       string   // Azure api-version
	AnthropicVersion string   // anthropic-version header
	DefaultMaxTokens int64    // Anthropic: max_tokens when the request has none
	Policy           openai.Policy
	ForwardHeaders   []string // session headers (SessionHeaders) this provider keeps

	authHeader   string      // header carrying the key
	authValues   []string    // per key, the header value (e.g. "Bearer sk-...")
	fixedHeaders [][2]string // set on every request after the key (anthropic-version)
	aws          *awsAuth    // SigV4 credentials and region (type bedrock)
	index        int         // position in Config.Providers (the router's key counters)
	// The client headers to remove upstream (see headersToRemove), for any client and for a
	// client of the provider's own format (an Anthropic client of Anthropic keeps anthropic-beta).
	removeHeaders, removeHeadersSameFormat []string
}

// Backend is one place a model can be served: a provider and the model name there.
type Backend struct {
	Provider *Provider
	Model    string // upstream model name; "" = the name the client asked for
	Weight   uint32

	breakerKey string
	// The upstream path for this backend's model, streamed and not (computed once: Route
	// would otherwise build the same string for every request).
	path, streamPath string
}

// Route maps a model name or pattern to its backends.
type Route struct {
	Pattern  string
	Backends []Backend
	total    uint32 // sum of weights
	literal  int    // non-wildcard characters, for specificity
	// Fallbacks are the routes a failed request is sent on to, in order (models.fallbacks,
	// each fallback's own following it).
	Fallbacks []*Route
}

// Config is the "providers" and "models" sections of the plugin configuration.
type Config struct {
	Providers      []*Provider
	MaxBodyBytes   int   // 0: no limit of ours (Envoy's buffer limit still applies)
	Cooldown       int64 // ns a failing backend is skipped
	FailuresToTrip uint32
	// FallbackAttempts bounds the fallback calls of one request; FallbackDeadline (ns) is the
	// time from the request leaving for its first backend after which no fallback is tried.
	FallbackAttempts int
	FallbackDeadline int64

	exact   map[string]*Route
	globs   []*Route // most specific first
	def     *Route
	ordered []*Route // exact routes in document order, for model listings

	docs docCache // parsed bodies shared by ParseRequest and Route
}

// Defaults.
const (
	DefaultMaxBodyBytes   = 8 << 20
	DefaultCooldownMillis = 30000
)

// ParseConfig reads the "providers" and "models" sections from the plugin configuration
// document root. prefix is the JSON path of root ("" at top level); errors name the field as
// "providers.openai.type: ...". Unknown fields are errors.
func ParseConfig(root gjson.Result, prefix string) (*Config, error) {
	p := func(s string) string {
		if prefix == "" {
			return s
		}
		return prefix + "." + s
	}
	c := &Config{MaxBodyBytes: DefaultMaxBodyBytes, Cooldown: DefaultCooldownMillis * 1e6, FailuresToTrip: 1, exact: map[string]*Route{}}
	byName := map[string]*Provider{}
	providers := root.Get("providers")
	if !providers.IsObject() {
		return nil, fmt.Errorf("%s: required: an object of named providers", p("providers"))
	}
	var err error
	providers.ForEach(func(k, v gjson.Result) bool {
		var pr *Provider
		pr, err = parseProvider(k.Str, v, p("providers")+"."+k.Str)
		if err == nil {
			pr.index = len(c.Providers)
			pr.removeHeaders = pr.headersToRemove(false)
			pr.removeHeadersSameFormat = pr.headersToRemove(true)
			c.Providers = append(c.Providers, pr)
			byName[pr.Name] = pr
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.parseModels(root.Get("models"), p("models"), byName); err != nil {
		return nil, err
	}
	return c, nil
}

func str(v gjson.Result, path, name string, def string) (string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return def, nil
	}
	if f.Type != gjson.String {
		return "", fmt.Errorf("%s.%s: must be a string", path, name)
	}
	return f.Str, nil
}

func strList(v gjson.Result, path, name string) ([]string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return nil, nil
	}
	if !f.IsArray() {
		return nil, fmt.Errorf("%s.%s: must be an array of strings", path, name)
	}
	var out []string
	var err error
	i := 0
	f.ForEach(func(_, s gjson.Result) bool {
		if s.Type != gjson.String || s.Str == "" {
			err = fmt.Errorf("%s.%s[%d]: must be a non-empty string", path, name, i)
			return false
		}
		out = append(out, s.Str)
		i++
		return true
	})
	return out, err
}

func posInt(v gjson.Result, path, name string, def int64) (int64, error) {
	f := v.Get(name)
	if !f.Exists() {
		return def, nil
	}
	if f.Type != gjson.Number || f.Num < 0 || float64(int64(f.Num)) != f.Num {
		return 0, fmt.Errorf("%s.%s: must be a non-negative integer", path, name)
	}
	return f.Int(), nil
}

func parseProvider(name string, v gjson.Result, path string) (*Provider, error) {
	if !v.IsObject() {
		return nil, fmt.Errorf("%s: must be an object", path)
	}
	if name == "" || strings.ContainsAny(name, "/*") {
		return nil, fmt.Errorf("%s: provider names must be non-empty and contain no '/' or '*'", path)
	}
	if err := cfgjson.KnownFields(v, path, append([]string{"type", "cluster", "host", "base_path", "api_key", "api_keys",
		"forward_headers"}, typeFields()...)...); err != nil {
		return nil, err
	}
	pr := &Provider{Name: name}
	ts, err := str(v, path, "type", "")
	if err != nil {
		return nil, err
	}
	if pr.Type = providerTypeNamed(ts); pr.Type == 0 {
		return nil, fmt.Errorf("%s.type: unknown provider type %q (want %s)", path, ts, providerTypeNames())
	}
	if pr.Cluster, err = str(v, path, "cluster", ""); err != nil {
		return nil, err
	}
	if pr.Cluster == "" {
		return nil, fmt.Errorf("%s.cluster: required: the Envoy cluster for this provider", path)
	}
	defHost, defBase := pr.Type.endpointDefaults(v)
	if pr.Host, err = str(v, path, "host", defHost); err != nil {
		return nil, err
	}
	if pr.Host == "" && pr.Type.kind().defaultHost == nil { // else its own fields are missing: parse says which
		return nil, fmt.Errorf("%s.host: required for type %s", path, pr.Type)
	}
	if pr.BasePath, err = str(v, path, "base_path", defBase); err != nil {
		return nil, err
	}
	if pr.BasePath != "" && (pr.BasePath[0] != '/' || strings.HasSuffix(pr.BasePath, "/")) {
		return nil, fmt.Errorf("%s.base_path: must start with '/' and not end with one", path)
	}
	if err := parseKeys(pr, v, path); err != nil {
		return nil, err
	}
	if err := parseTypeSpecific(pr, v, path); err != nil {
		return nil, err
	}
	if err := parseForwardHeaders(pr, v, path); err != nil {
		return nil, err
	}
	return pr, nil
}

func parseKeys(pr *Provider, v gjson.Result, path string) error {
	keys, err := strList(v, path, "api_keys")
	if err != nil {
		return err
	}
	if one, err := str(v, path, "api_key", ""); err != nil {
		return err
	} else if one != "" {
		keys = append([]string{one}, keys...)
	}
	pr.APIKeys = keys
	k := pr.Type.kind()
	if len(keys) == 0 && !k.keyOptional {
		return fmt.Errorf("%s.api_keys: required for type %s", path, pr.Type)
	}
	pr.authHeader = k.authHeader
	for _, key := range keys {
		pr.authValues = append(pr.authValues, k.authPrefix+key)
	}
	return nil
}

// parseTypeSpecific reads the fields of the provider's own type and refuses those of others.
func parseTypeSpecific(pr *Provider, v gjson.Result, path string) error {
	k := pr.Type.kind()
	for _, f := range typeFields() {
		if v.Get(f).Exists() && !slices.Contains(k.fields, f) {
			return fmt.Errorf("%s.%s: not used by type %s", path, f, pr.Type)
		}
	}
	if k.parse == nil {
		return nil
	}
	return k.parse(pr, v, path)
}

func parsePolicy(pr *Provider, v gjson.Result, path string) error {
	compat, err := str(v, path, "compat", "")
	if err != nil {
		return err
	}
	base, ok := openai.Presets[compat]
	if !ok {
		names := make([]string, 0, len(openai.Presets))
		for n := range openai.Presets {
			if n != "" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		return fmt.Errorf("%s.compat: unknown preset %q (want one of %s)", path, compat, strings.Join(names, ", "))
	}
	pol := openai.Policy{
		Drop:           append([]string(nil), base.Drop...),
		Rename:         append([][2]string(nil), base.Rename...),
		MaxTokensField: base.MaxTokensField,
		NoStreamUsage:  base.NoStreamUsage,
	}
	drop, err := strList(v, path, "drop_fields")
	if err != nil {
		return err
	}
	pol.Drop = append(pol.Drop, drop...)
	if rn := v.Get("rename_fields"); rn.Exists() {
		if !rn.IsObject() {
			return fmt.Errorf("%s.rename_fields: must be an object of from: to names", path)
		}
		rn.ForEach(func(k, to gjson.Result) bool {
			if to.Type != gjson.String || to.Str == "" {
				err = fmt.Errorf("%s.rename_fields.%s: must be a non-empty string", path, k.Str)
				return false
			}
			pol.Rename = append(pol.Rename, [2]string{k.Str, to.Str})
			return true
		})
		if err != nil {
			return err
		}
	}
	if f, err := str(v, path, "max_tokens_field", pol.MaxTokensField); err != nil {
		return err
	} else if f != "" && f != "max_tokens" && f != "max_completion_tokens" {
		return fmt.Errorf("%s.max_tokens_field: must be \"max_tokens\" or \"max_completion_tokens\"", path)
	} else {
		pol.MaxTokensField = f
	}
	if su := v.Get("stream_usage"); su.Exists() {
		if su.Type != gjson.True && su.Type != gjson.False {
			return fmt.Errorf("%s.stream_usage: must be a boolean", path)
		}
		pol.NoStreamUsage = !su.Bool()
	}
	pr.Policy = pol
	return nil
}

func (c *Config) parseModels(v gjson.Result, path string, byName map[string]*Provider) error {
	if !v.IsObject() {
		return fmt.Errorf("%s: required: an object with routes", path)
	}
	if err := cfgjson.KnownFields(v, path, "routes", "default", "max_body_bytes", "cooldown_ms", "failures_to_trip",
		"fallbacks", "fallback_attempts", "fallback_deadline_ms"); err != nil {
		return err
	}
	mb, err := posInt(v, path, "max_body_bytes", DefaultMaxBodyBytes)
	if err != nil {
		return err
	}
	c.MaxBodyBytes = int(mb)
	cd, err := posInt(v, path, "cooldown_ms", DefaultCooldownMillis)
	if err != nil {
		return err
	}
	c.Cooldown = cd * 1e6
	ft, err := posInt(v, path, "failures_to_trip", 1)
	if err != nil {
		return err
	}
	if ft == 0 || ft > 1000 {
		return fmt.Errorf("%s.failures_to_trip: must be between 1 and 1000", path)
	}
	c.FailuresToTrip = uint32(ft)
	routes := v.Get("routes")
	if routes.Exists() && !routes.IsObject() {
		return fmt.Errorf("%s.routes: must be an object of model name or pattern: backends", path)
	}
	byKey := map[string]*Route{}
	routes.ForEach(func(k, b gjson.Result) bool {
		var r *Route
		r, err = parseRoute(k.Str, b, path+".routes."+k.Str, byName)
		if err != nil {
			return false
		}
		byKey[k.Str] = r
		if strings.Contains(k.Str, "*") {
			c.globs = append(c.globs, r)
		} else {
			c.exact[k.Str] = r
			c.ordered = append(c.ordered, r)
		}
		return true
	})
	if err != nil {
		return err
	}
	sort.SliceStable(c.globs, func(i, j int) bool { return c.globs[i].literal > c.globs[j].literal })
	if d := v.Get("default"); d.Exists() {
		if c.def, err = parseRoute("*", d, path+".default", byName); err != nil {
			return err
		}
	}
	if len(c.exact) == 0 && len(c.globs) == 0 && c.def == nil {
		return fmt.Errorf("%s.routes: required: at least one route or a default", path)
	}
	return c.parseFallbacks(v, path, byKey)
}

func parseRoute(pattern string, v gjson.Result, path string, byName map[string]*Provider) (*Route, error) {
	if pattern == "" {
		return nil, fmt.Errorf("%s: empty model name", path)
	}
	r := &Route{Pattern: pattern, literal: len(pattern) - strings.Count(pattern, "*")}
	items := []gjson.Result{v}
	if v.IsArray() {
		items = v.Array()
		if len(items) == 0 {
			return nil, fmt.Errorf("%s: needs at least one backend", path)
		}
	}
	for i, it := range items {
		bp := path
		if v.IsArray() {
			bp = path + "[" + strconv.Itoa(i) + "]"
		}
		b, err := parseBackend(it, bp, byName)
		if err != nil {
			return nil, err
		}
		b.breakerKey = "stepgate/aiformat/breaker/" + b.Provider.Name + "/" + b.Model
		if b.Model != "" {
			b.path, b.streamPath = b.Provider.path(b.Model, false), b.Provider.path(b.Model, true)
		}
		r.total += b.Weight
		r.Backends = append(r.Backends, b)
	}
	if r.total == 0 {
		return nil, fmt.Errorf("%s: every backend has weight 0", path)
	}
	return r, nil
}

// parseBackend reads {"provider": "name", "model": "upstream-name", "weight": 1} or the
// shorthand "name" / "name/upstream-model".
func parseBackend(v gjson.Result, path string, byName map[string]*Provider) (Backend, error) {
	b := Backend{Weight: 1}
	var prov string
	switch {
	case v.Type == gjson.String:
		prov = v.Str
		if i := strings.IndexByte(prov, '/'); i >= 0 {
			prov, b.Model = prov[:i], prov[i+1:]
		}
	case v.IsObject():
		if err := cfgjson.KnownFields(v, path, "provider", "model", "weight"); err != nil {
			return b, err
		}
		var err error
		if prov, err = str(v, path, "provider", ""); err != nil {
			return b, err
		}
		if b.Model, err = str(v, path, "model", ""); err != nil {
			return b, err
		}
		w, err := posInt(v, path, "weight", 1)
		if err != nil {
			return b, err
		}
		if w > 1_000_000 {
			return b, fmt.Errorf("%s.weight: must be at most 1000000", path)
		}
		b.Weight = uint32(w)
	default:
		return b, fmt.Errorf("%s: must be a backend object, a provider name, or an array of those", path)
	}
	pr, ok := byName[prov]
	if !ok {
		return b, fmt.Errorf("%s.provider: unknown provider %q", path, prov)
	}
	b.Provider = pr
	if b.Model != "" && !pr.modelSafe(b.Model) {
		return b, fmt.Errorf("%s.model: %q cannot be a path segment of %s: use letters, digits, '.', '-' and '_' only", path, b.Model, pr.Type)
	}
	return b, nil
}

// lookup finds the route for a model: an exact name, else the most specific matching pattern,
// else the default.
func (c *Config) lookup(model string) *Route {
	if r, ok := c.exact[model]; ok {
		return r
	}
	if len(model) > maxGlobName { // bounds the backtracking of glob on hostile names
		return c.def
	}
	for _, r := range c.globs {
		if glob(r.Pattern, model) {
			return r
		}
	}
	return c.def
}

const maxGlobName = 256

// glob matches s against a pattern where '*' stands for any run of characters.
func glob(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	s = s[star:]
	rest := pattern[star+1:]
	if rest == "" {
		return true
	}
	for i := 0; i <= len(s); i++ {
		if glob(rest, s[i:]) {
			return true
		}
	}
	return false
}
