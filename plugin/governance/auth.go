package governance

import (
	"time"
)

// Identity is an authenticated caller.
type Identity struct {
	Key    *Key
	Source Source // where the key came from, so that the glue can remove it
}

// Denial is a refused request: 401 (no valid key) or 403 (not allowed), with a message that
// never holds the key itself.
type Denial struct {
	Status  int
	Message string
}

// Authenticate finds the caller of a request on route r (which requires auth) at now (Unix ns).
// The Identity is returned by value: inside the VM an allocation per request costs more than
// the lookup itself once the heap holds thousands of consumers.
func (c *Config) Authenticate(r *Route, h Headers, path string, now int64) (Identity, *Denial) {
	key, src := Presented(h, path, r.Sources)
	if key == "" {
		return Identity{}, &Denial{401, "missing API key (send it as " + sourcesText(r.Sources) + ")"}
	}
	k := c.Lookup(key)
	if k == nil {
		return Identity{}, &Denial{401, "invalid API key"}
	}
	if k.Expires != 0 && now >= k.Expires {
		return Identity{}, &Denial{401, "API key " + k.ID + " expired at " + time.Unix(0, k.Expires).UTC().Format(time.RFC3339)}
	}
	if !k.Tenant.AllowsRoute(r.Name) {
		return Identity{}, &Denial{403, "route " + r.Name + " is not allowed for tenant " + k.Tenant.Name}
	}
	return Identity{Key: k, Source: src}, nil
}

// CheckModel refuses a model the caller's tenant may not use.
func (id *Identity) CheckModel(model string) *Denial {
	if id == nil || id.Key.Tenant.AllowsModel(model) {
		return nil
	}
	return &Denial{403, "model " + model + " is not allowed for tenant " + id.Key.Tenant.Name}
}

func sourcesText(s Source) string {
	var out string
	for i, name := range [...]string{"Authorization: Bearer", "x-api-key", "x-goog-api-key", "?key="} {
		if s&(1<<i) == 0 {
			continue
		}
		if out != "" {
			out += " or "
		}
		out += name
	}
	return out
}
