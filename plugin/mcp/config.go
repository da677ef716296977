package mcp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
)

// Config is the "mcp" section: the MCP servers the gateway fronts, each on its own route.
type Config struct {
	Servers []Server // longest path_prefix first
	// AllowedServers are globs over server names that callers may reach; nil allows all. Once
	// callers are tenants, a tenant's own list applies through the same Allowed.
	AllowedServers []string
}

// Server is one MCP server behind the gateway: the route marked MCP.
type Server struct {
	Name string
	// PathPrefix is the route: the path is PathPrefix or starts with PathPrefix + "/" (a query
	// string is ignored).
	PathPrefix string
	// Cluster is the Envoy cluster of the server, set as x-stepgate-cluster.
	Cluster string
	// Host, when set, replaces :authority.
	Host string
	// AllowedTools are globs over tool names callers may call and see in tools/list; nil
	// allows all.
	AllowedTools []string
	// BlockedMethods are globs over JSON-RPC methods the gateway answers with MethodNotFound.
	BlockedMethods []string
}

// Match returns the server whose route holds path, nil when none does.
func (c *Config) Match(path string) *Server {
	if c == nil {
		return nil
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for i := range c.Servers {
		s := &c.Servers[i]
		if rest, ok := strings.CutPrefix(path, s.PathPrefix); ok && (rest == "" || rest[0] == '/' || strings.HasSuffix(s.PathPrefix, "/")) {
			return s
		}
	}
	return nil
}

// Blocks reports whether the gateway blocks method on s.
func (s *Server) Blocks(method string) bool {
	return s.BlockedMethods != nil && Allowed(s.BlockedMethods, method)
}

// ParseConfig reads the "mcp" section v found at path; errors name the field.
func ParseConfig(v gjson.Result, path string) (*Config, error) {
	if err := object(v, path, "servers", "allowed_servers"); err != nil {
		return nil, err
	}
	c := &Config{}
	var err error
	if c.AllowedServers, err = globList(v.Get("allowed_servers"), path+".allowed_servers"); err != nil {
		return nil, err
	}
	servers := v.Get("servers")
	sp := path + ".servers"
	if !servers.IsObject() {
		return nil, fmt.Errorf("%s: must be an object of server name to server, got %s", sp, short(servers.Raw))
	}
	servers.ForEach(func(name, sv gjson.Result) bool {
		var s Server
		s, err = parseServer(name.Str, sv, sp+"."+name.Str)
		c.Servers = append(c.Servers, s)
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if len(c.Servers) == 0 {
		return nil, fmt.Errorf("%s: needs at least one server", sp)
	}
	for i, s := range c.Servers {
		for _, o := range c.Servers[:i] {
			if o.PathPrefix == s.PathPrefix {
				return nil, fmt.Errorf("%s.%s.path_prefix: %q is also the route of %s", sp, s.Name, s.PathPrefix, o.Name)
			}
		}
	}
	slices.SortStableFunc(c.Servers, func(a, b Server) int { return len(b.PathPrefix) - len(a.PathPrefix) })
	return c, nil
}

func parseServer(name string, v gjson.Result, p string) (Server, error) {
	s := Server{Name: name}
	if err := object(v, p, "path_prefix", "cluster", "host", "allowed_tools", "blocked_methods"); err != nil {
		return s, err
	}
	if !validName(name) {
		return s, fmt.Errorf("%s: a server name is 1 to 64 letters, digits, '-' or '_'", p)
	}
	var err error
	if s.PathPrefix, err = requiredString(v, p, "path_prefix"); err != nil {
		return s, err
	}
	if !strings.HasPrefix(s.PathPrefix, "/") || strings.ContainsAny(s.PathPrefix, "?#*") {
		return s, fmt.Errorf("%s.path_prefix: %q must start with '/' and hold no '?', '#' or '*'", p, s.PathPrefix)
	}
	if s.Cluster, err = requiredString(v, p, "cluster"); err != nil {
		return s, err
	}
	if h := v.Get("host"); h.Exists() {
		if h.Type != gjson.String || h.Str == "" || strings.ContainsAny(h.Str, " /\r\n") {
			return s, fmt.Errorf("%s.host: must be a host[:port], got %s", p, short(h.Raw))
		}
		s.Host = h.Str
	}
	if s.AllowedTools, err = globList(v.Get("allowed_tools"), p+".allowed_tools"); err != nil {
		return s, err
	}
	if s.BlockedMethods, err = globList(v.Get("blocked_methods"), p+".blocked_methods"); err != nil {
		return s, err
	}
	return s, nil
}

func requiredString(v gjson.Result, p, name string) (string, error) {
	f := v.Get(name)
	if f.Type != gjson.String || f.Str == "" {
		if !f.Exists() {
			return "", fmt.Errorf("%s.%s: required", p, name)
		}
		return "", fmt.Errorf("%s.%s: must be a non-empty string, got %s", p, name, short(f.Raw))
	}
	return f.Str, nil
}

// globList reads an array of globs; absent is nil (no restriction), [] allows nothing.
func globList(v gjson.Result, p string) ([]string, error) {
	if !v.Exists() {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, fmt.Errorf("%s: must be an array of globs, got %s", p, short(v.Raw))
	}
	out := []string{}
	var err error
	v.ForEach(func(_, g gjson.Result) bool {
		if g.Type != gjson.String || g.Str == "" {
			err = fmt.Errorf("%s[%d]: must be a non-empty string, got %s", p, len(out), short(g.Raw))
			return false
		}
		out = append(out, g.Str)
		return true
	})
	return out, err
}

func object(v gjson.Result, p string, allowed ...string) error {
	if !v.IsObject() {
		return fmt.Errorf("%s: must be an object, got %s", p, short(v.Raw))
	}
	return cfgjson.KnownFields(v, p, allowed...)
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func short(raw string) string {
	if len(raw) > 40 {
		return raw[:40] + "…"
	}
	return raw
}
