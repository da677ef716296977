package aiformat

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Failover: when the backend chosen for a request answers 429 or 5xx (or cannot be reached, which
// Envoy answers with a 503 of its own) before anything went to the client, the filter sends the
// request again to the route's fallbacks, one after another, within a number of attempts and a
// total deadline. This file holds the configuration and the walk; the filter does the calls.

// Failover defaults.
const (
	DefaultFallbackAttempts   = 2
	DefaultFallbackDeadlineMs = 30000
	maxFallbackAttempts       = 10
	maxFallbackDeadlineMs     = 600000
)

// parseFallbacks reads models.fallbacks ({"route": ["fallback route", …]}),
// models.fallback_attempts and models.fallback_deadline_ms. A key names a route of
// models.routes (an exact name or a pattern); an entry names an exact route, so that the
// request can be sent on under that name. A fallback's own fallbacks follow it (depth first,
// each route once), so a fallback that falls back to the route it serves is a cycle: refused.
func (c *Config) parseFallbacks(v gjson.Result, path string, routes map[string]*Route) error {
	n, err := posInt(v, path, "fallback_attempts", DefaultFallbackAttempts)
	if err != nil {
		return err
	}
	if n < 1 || n > maxFallbackAttempts {
		return fmt.Errorf("%s.fallback_attempts: must be between 1 and %d", path, maxFallbackAttempts)
	}
	c.FallbackAttempts = int(n)
	ms, err := posInt(v, path, "fallback_deadline_ms", DefaultFallbackDeadlineMs)
	if err != nil {
		return err
	}
	if ms < 1 || ms > maxFallbackDeadlineMs {
		return fmt.Errorf("%s.fallback_deadline_ms: must be between 1 and %d", path, maxFallbackDeadlineMs)
	}
	c.FallbackDeadline = ms * 1e6
	f := v.Get("fallbacks")
	if !f.Exists() {
		return nil
	}
	if !f.IsObject() {
		return fmt.Errorf("%s.fallbacks: must be an object of route name: [fallback route names]", path)
	}
	direct := map[*Route][]*Route{}
	paths := map[*Route]string{}
	f.ForEach(func(k, list gjson.Result) bool {
		err = c.parseFallbackList(k.Str, list, path+".fallbacks."+k.Str, routes, direct, paths)
		return err == nil
	})
	if err != nil {
		return err
	}
	done := map[*Route]bool{}
	for r := range direct {
		if err := checkCycle(r, direct, paths, nil, done); err != nil {
			return err
		}
	}
	for r := range direct {
		r.Fallbacks = expand(r, direct, map[*Route]bool{r: true}, nil)
	}
	return nil
}

func (c *Config) parseFallbackList(key string, list gjson.Result, path string, routes map[string]*Route,
	direct map[*Route][]*Route, paths map[*Route]string) error {
	r := routes[key]
	if r == nil {
		return fmt.Errorf("%s: no route %q in the routes", path, key)
	}
	if !list.IsArray() || len(list.Array()) == 0 {
		return fmt.Errorf("%s: must be a non-empty array of route names", path)
	}
	var out []*Route
	for i, e := range list.Array() {
		ep := path + "[" + strconv.Itoa(i) + "]"
		if e.Type != gjson.String {
			return fmt.Errorf("%s: must be a route name", ep)
		}
		fb := c.exact[e.Str]
		switch {
		case e.Str == key:
			return fmt.Errorf("%s: %q falls back to itself", ep, e.Str)
		case fb == nil:
			return fmt.Errorf("%s: unknown route %q (a fallback names an exact model of the routes)", ep, e.Str)
		}
		for _, o := range out {
			if o == fb {
				return fmt.Errorf("%s: %q is listed twice", ep, e.Str)
			}
		}
		out = append(out, fb)
	}
	direct[r], paths[r] = out, path
	return nil
}

// checkCycle refuses a chain of fallbacks that leads back to a route on it (a depth-first
// walk; done marks the routes whose chains were found free of cycles, so each is walked once).
func checkCycle(r *Route, direct map[*Route][]*Route, paths map[*Route]string, stack []*Route, done map[*Route]bool) error {
	if done[r] {
		return nil
	}
	for i, s := range stack {
		if s == r {
			names := make([]string, 0, len(stack)-i+1)
			for _, t := range stack[i:] {
				names = append(names, t.Pattern)
			}
			names = append(names, r.Pattern)
			return fmt.Errorf("%s: fallbacks make a cycle: %s", paths[stack[i]], strings.Join(names, " -> "))
		}
	}
	stack = append(stack, r)
	for _, fb := range direct[r] {
		if err := checkCycle(fb, direct, paths, stack, done); err != nil {
			return err
		}
	}
	done[r] = true
	return nil
}

// expand lists r's fallbacks, each followed by its own, each route once.
func expand(r *Route, direct map[*Route][]*Route, seen map[*Route]bool, out []*Route) []*Route {
	for _, fb := range direct[r] {
		if seen[fb] {
			continue
		}
		seen[fb] = true
		out = append(out, fb)
		out = expand(fb, direct, seen, out)
	}
	return out
}

// Failover walks the fallbacks of one failed request. Its zero value has nothing to try.
type Failover struct {
	routes   []*Route
	next     int
	left     int   // attempts left
	deadline int64 // ns: no attempt starts after it, and each call must end by it
}

// Failover returns the walk over the fallbacks of up's route for a request that left at start
// (ns), and whether there is anything to try.
func (c *Config) Failover(up *Upstream, start int64) (Failover, bool) {
	if up == nil || up.route == nil || len(up.route.Fallbacks) == 0 {
		return Failover{}, false
	}
	return Failover{routes: up.route.Fallbacks, left: c.FallbackAttempts, deadline: start + c.FallbackDeadline}, true
}

// Next returns the next fallback to try at now and the time the attempt may take (ns), or nil
// when the attempts are spent, the deadline has passed or no fallback is left.
func (f *Failover) Next(now int64) (*Route, int64) {
	if f.left <= 0 || now >= f.deadline || f.next >= len(f.routes) {
		return nil, 0
	}
	r := f.routes[f.next]
	f.next++
	return r, f.deadline - now
}

// Attempted counts one attempt sent (a fallback skipped, by its throttle rules say, is not one).
func (f *Failover) Attempted() { f.left-- }

// Expired reports whether the deadline has passed at now.
func (f *Failover) Expired(now int64) bool { return now >= f.deadline }
