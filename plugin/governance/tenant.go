package governance

import "strings"

// Tenant is what a group of consumers may do. A consumer may override some fields; the Tenant a
// Key points to is then that consumer's own copy, with the tenant's Name.
type Tenant struct {
	Name string
	// Allowed* are glob lists ("gpt-4o*", "*"); nil allows everything.
	AllowedModels     []string
	AllowedRoutes     []string // API route names (Route.Name), MCP routes included
	AllowedPrompts    []string
	AllowedTools      []string // MCP tool names
	AllowedMCPServers []string
	// Tier names the throttle rules that apply to this tenant (rules whose match.tiers holds it).
	Tier string
	// Credentials replace the provider's own key for this tenant: provider name → key.
	Credentials map[string]string
	// Headers are sent upstream with every request of this tenant (its metadata).
	Headers [][2]string
}

// AllowsModel reports whether the tenant may call model (the name the client asked for).
func (t *Tenant) AllowsModel(model string) bool { return allowed(t.AllowedModels, model) }

// AllowsRoute reports whether the tenant may use the API route named name.
func (t *Tenant) AllowsRoute(name string) bool { return allowed(t.AllowedRoutes, name) }

// AllowsPrompt reports whether the tenant may call the prompt named name.
func (t *Tenant) AllowsPrompt(name string) bool { return allowed(t.AllowedPrompts, name) }

// AllowsTool reports whether the tenant may call the MCP tool named name.
func (t *Tenant) AllowsTool(name string) bool { return allowed(t.AllowedTools, name) }

// AllowsMCPServer reports whether the tenant may reach the MCP server named name.
func (t *Tenant) AllowsMCPServer(name string) bool { return allowed(t.AllowedMCPServers, name) }

func allowed(globs []string, s string) bool {
	if globs == nil {
		return true
	}
	for _, g := range globs {
		if Glob(g, s) {
			return true
		}
	}
	return false
}

// Glob reports whether s matches pattern, where '*' matches any run of bytes (none included).
func Glob(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	s, pattern = s[star:], pattern[star+1:]
	suffix := pattern
	if last := strings.LastIndexByte(pattern, '*'); last >= 0 {
		suffix, pattern = pattern[last+1:], pattern[:last]
	} else {
		pattern = ""
	}
	if !strings.HasSuffix(s, suffix) {
		return false
	}
	s = s[:len(s)-len(suffix)]
	// The literal runs between stars must appear in order; taking each at its first place
	// leaves the most room for the next.
	for pattern != "" {
		var part string
		part, pattern, _ = strings.Cut(pattern, "*")
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return true
}
