package governance

import (
	"strings"

	"github.com/stepgate/stepgate/plugin/lifecycle"
)

// Source is where a client's API key may come from, as a bit set.
type Source uint8

// Sources.
const (
	SourceBearer     Source = 1 << iota // Authorization: Bearer <key> (OpenAI clients)
	SourceXAPIKey                       // x-api-key (Anthropic clients)
	SourceGoogAPIKey                    // x-goog-api-key (Gemini clients)
	SourceQuery                         // ?key=<key> (Gemini clients)

	AllSources = SourceBearer | SourceXAPIKey | SourceGoogAPIKey | SourceQuery
)

var sourceNames = [...]string{"bearer", "x-api-key", "x-goog-api-key", "query"}

// Route is a published API: every request whose path starts with PathPrefix. The longest prefix
// wins.
type Route struct {
	Name       string
	PathPrefix string
	// Auth requires a key; Sources are where it may come from. Without Auth the route is anonymous.
	Auth    bool
	Sources Source
	lifecycle.Lifecycle
}

// MatchRoute returns the route of path (query string ignored), nil when none matches.
func (c *Config) MatchRoute(path string) *Route {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for _, r := range c.Routes { // longest prefix first
		if strings.HasPrefix(path, r.PathPrefix) {
			return r
		}
	}
	return nil
}
