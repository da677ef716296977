package fleet

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/throttle"
)

// Config is the top-level "fleet" section (the rate limit service) and the fleet rules.
type Config struct {
	// Cluster is the Envoy cluster of the rate limit service's HTTP port; Authority its :authority.
	Cluster, Authority string
	// Domain is the service's configuration domain.
	Domain string
	Rules  []Rule
}

// Rule is a throttle rule with scope fleet and its lease options.
type Rule struct {
	throttle.Rule
	// Window is the service's fixed window (second, minute, hour, day) and Limit the tokens the
	// fleet may take in one, both from the rule's rate ("100/min").
	Window time.Duration
	Limit  int64
	// Timeout bounds a service call and any request's wait for a lease.
	Timeout time.Duration
	// FallbackPPM sizes the fail-open fallback bucket, in millionths of Limit per Window.
	FallbackPPM int64
	// MinBlock and MaxBlock bound the block size; the block adapts so that it lasts about
	// LeasePeriod at the key's rate.
	MinBlock, MaxBlock int64
	LeasePeriod        time.Duration
	// Retry is how long the rule stays in its fail mode after a failed call before probing again.
	Retry time.Duration
}

// Defaults of the "fleet" section and of a rule's "fleet" object.
const (
	DefaultCluster     = "ratelimit"
	DefaultDomain      = "stepgate"
	DefaultTimeout     = 50 * time.Millisecond
	DefaultFallbackPPM = 100_000 // 10%
	DefaultLeasePeriod = time.Second
	DefaultRetry       = time.Second
	maxNameLen         = 55 // the fallback rule is named <name>.fallback, within throttle's 64
	maxLimit           = 1e12
	maxHits            = 1<<32 - 1 // hitsAddend is a uint32
)

var windows = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hour": time.Hour, "d": 24 * time.Hour, "day": 24 * time.Hour,
}

// ParseConfig reads the "fleet" section v (at path p) and the fleet rules among rules, which sit at
// rulesPath[i]. Errors name the field.
func ParseConfig(v gjson.Result, p string, rules []throttle.Rule, rulesPath string) (Config, error) {
	c := Config{Cluster: DefaultCluster, Domain: DefaultDomain}
	if v.Exists() {
		if err := object(v, p, "cluster", "authority", "domain"); err != nil {
			return c, err
		}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"cluster", &c.Cluster}, {"authority", &c.Authority}, {"domain", &c.Domain}} {
			if x := v.Get(f.name); x.Exists() {
				if x.Type != gjson.String || x.Str == "" {
					return c, fmt.Errorf("%s.%s: must be a non-empty string", p, f.name)
				}
				*f.dst = x.Str
			}
		}
	}
	if c.Authority == "" {
		c.Authority = c.Cluster
	}
	for i := range rules {
		if rules[i].Scope != throttle.ScopeFleet {
			continue
		}
		r, err := parseRule(rules[i], fmt.Sprintf("%s[%d]", rulesPath, i))
		if err != nil {
			return c, err
		}
		c.Rules = append(c.Rules, r)
	}
	return c, nil
}

func parseRule(tr throttle.Rule, p string) (Rule, error) {
	r := Rule{Rule: tr, Timeout: DefaultTimeout, FallbackPPM: DefaultFallbackPPM, LeasePeriod: DefaultLeasePeriod,
		Retry: DefaultRetry, MinBlock: 1}
	count, unit, _ := strings.Cut(tr.RateText, "/")
	n, err := strconv.ParseInt(strings.TrimSpace(count), 10, 64)
	w, ok := windows[strings.TrimSpace(unit)]
	if err != nil || !ok || n < 1 || n > maxLimit {
		return r, fmt.Errorf("%s.rate: a fleet rule needs a whole count per second, minute, hour or day "+
			"(the service's fixed windows), got %q", p, tr.RateText)
	}
	r.Window, r.Limit = w, n
	r.MaxBlock = min(max(1, n/50), maxHits)
	switch {
	case len(tr.Name) > maxNameLen:
		return r, fmt.Errorf("%s.name: a fleet rule's name has at most %d characters", p, maxNameLen)
	case tr.Shadow:
		return r, fmt.Errorf("%s.shadow: not available on fleet rules (a lease takes the service's tokens)", p)
	case tr.Adaptive != nil:
		return r, fmt.Errorf("%s.adaptive: not available on fleet rules (the service holds the count)", p)
	}
	for i, s := range tr.Steps {
		if s.Action == throttle.Shape {
			return r, fmt.Errorf("%s.steps[%d].action: shape is not available on fleet rules (a fixed window "+
				"refills only at its reset); use degrade or reject", p, i)
		}
	}
	if tr.FleetOptions != "" {
		if err := parseOptions(gjson.Parse(tr.FleetOptions), p+".fleet", &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

func parseOptions(v gjson.Result, p string, r *Rule) error {
	if err := object(v, p, "timeout", "fallback", "min_block", "max_block", "lease_period", "retry"); err != nil {
		return err
	}
	for _, f := range []struct {
		name   string
		dst    *time.Duration
		lo, hi time.Duration
	}{{"timeout", &r.Timeout, time.Millisecond, 10 * time.Second},
		{"lease_period", &r.LeasePeriod, time.Millisecond, time.Hour},
		{"retry", &r.Retry, time.Millisecond, time.Hour}} {
		if x := v.Get(f.name); x.Exists() {
			d, err := time.ParseDuration(x.Str)
			if x.Type != gjson.String || err != nil || d < f.lo || d > f.hi {
				return fmt.Errorf("%s.%s: want a duration from %v to %v, got %s", p, f.name, f.lo, f.hi, x.Raw)
			}
			*f.dst = d
		}
	}
	if x := v.Get("fallback"); x.Exists() {
		ppm, ok := percent(x.Str)
		if x.Type != gjson.String || !ok {
			return fmt.Errorf("%s.fallback: want a percentage of the fleet limit from 0%% to 100%%, got %s", p, x.Raw)
		}
		r.FallbackPPM = ppm
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"min_block", &r.MinBlock}, {"max_block", &r.MaxBlock}} {
		if x := v.Get(f.name); x.Exists() {
			if x.Type != gjson.Number || x.Float() != float64(x.Int()) || x.Int() < 1 || x.Int() > min(r.Limit, maxHits) {
				return fmt.Errorf("%s.%s: want a whole number of tokens from 1 to the limit %d, got %s",
					p, f.name, r.Limit, x.Raw)
			}
			*f.dst = x.Int()
		}
	}
	if r.MinBlock > r.MaxBlock {
		if v.Get("max_block").Exists() {
			return fmt.Errorf("%s.min_block: %d is above max_block %d", p, r.MinBlock, r.MaxBlock)
		}
		r.MaxBlock = r.MinBlock
	}
	return nil
}

// percent reads "12.5%" as millionths (125000).
func percent(s string) (int64, bool) {
	num, ok := strings.CutSuffix(s, "%")
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f < 0 || f > 100 {
		return 0, false
	}
	return int64(f*1e4 + 0.5), true
}

// object checks that v is an object with only the allowed fields.
func object(v gjson.Result, p string, allowed ...string) error {
	if !v.IsObject() {
		return fmt.Errorf("%s: must be an object, got %s", p, v.Raw)
	}
	var err error
	v.ForEach(func(k, _ gjson.Result) bool {
		for _, a := range allowed {
			if k.Str == a {
				return true
			}
		}
		err = fmt.Errorf("%s.%s: unknown field (want one of %s)", p, k.Str, strings.Join(allowed, ", "))
		return false
	})
	return err
}
