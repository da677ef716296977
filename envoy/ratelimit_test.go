package envoy_test

import (
	"fmt"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"sigs.k8s.io/yaml"
)

// rlConfig is envoyproxy/ratelimit's file configuration (one domain).
type rlConfig struct {
	Domain      string         `json:"domain"`
	Descriptors []rlDescriptor `json:"descriptors"`
}

type rlDescriptor struct {
	Key            string         `json:"key"`
	Value          string         `json:"value,omitempty"`
	RateLimit      *rlLimit       `json:"rate_limit,omitempty"`
	Descriptors    []rlDescriptor `json:"descriptors,omitempty"`
	ShadowMode     bool           `json:"shadow_mode,omitempty"`
	DetailedMetric bool           `json:"detailed_metric,omitempty"`
}

type rlLimit struct {
	Unit            string `json:"unit"`
	RequestsPerUnit uint32 `json:"requests_per_unit"`
	Unlimited       bool   `json:"unlimited,omitempty"`
	Name            string `json:"name,omitempty"`
}

func loadRateLimitConfig(t testing.TB) rlConfig {
	t.Helper()
	var c rlConfig
	if err := yaml.UnmarshalStrict(readFile(t, ratelimitPath), &c); err != nil {
		t.Fatalf("%s: %v", ratelimitPath, err)
	}
	return c
}

// checkLimits reports descriptors without a key, limits with a unit ratelimit does not know, and
// leaves without a limit.
func checkLimits(ds []rlDescriptor, path string) []error {
	var errs []error
	for i, d := range ds {
		p := fmt.Sprintf("%s[%d](%s=%s)", path, i, d.Key, d.Value)
		if d.Key == "" {
			errs = append(errs, fmt.Errorf("%s: descriptor without key", p))
		}
		if l := d.RateLimit; l != nil {
			if _, ok := rlsv3.RateLimitResponse_RateLimit_Unit_value[strings.ToUpper(l.Unit)]; !ok || strings.EqualFold(l.Unit, "unknown") {
				errs = append(errs, fmt.Errorf("%s: unknown unit %q", p, l.Unit))
			}
			if !l.Unlimited && l.RequestsPerUnit == 0 {
				errs = append(errs, fmt.Errorf("%s: requests_per_unit must be > 0", p))
			}
		} else if len(d.Descriptors) == 0 {
			errs = append(errs, fmt.Errorf("%s: leaf without rate_limit", p))
		}
		errs = append(errs, checkLimits(d.Descriptors, p+".descriptors")...)
	}
	return errs
}

// entry is one descriptor entry the ratelimit filter sends: a key and, for a generic key, a value
// (empty when it comes from a request header and so can be anything).
type entry struct{ key, value string }

func descriptorOf(t testing.TB, rl *routev3.RateLimit) []entry {
	t.Helper()
	var es []entry
	for _, a := range rl.GetActions() {
		switch {
		case a.GetRequestHeaders() != nil:
			es = append(es, entry{a.GetRequestHeaders().GetDescriptorKey(), ""})
		case a.GetGenericKey() != nil:
			k := a.GetGenericKey().GetDescriptorKey()
			if k == "" {
				k = "generic_key"
			}
			es = append(es, entry{k, a.GetGenericKey().GetDescriptorValue()})
		default:
			t.Fatalf("rate limit action %v: this test knows request_headers and generic_key only", a)
		}
	}
	return es
}

// limited reports whether ratelimit finds a limit for a descriptor whose header-valued entries take
// the given value: ratelimit walks the tree, preferring key+value over key alone.
func limited(ds []rlDescriptor, es []entry, headerValue string) bool {
	if len(es) == 0 {
		return false
	}
	v := es[0].value
	if v == "" {
		v = headerValue
	}
	var match *rlDescriptor
	for i := range ds {
		d := &ds[i]
		if d.Key == es[0].key && d.Value == v {
			match = d
			break
		}
		if d.Key == es[0].key && d.Value == "" && match == nil {
			match = d
		}
	}
	switch {
	case match == nil:
		return false
	case len(es) == 1:
		return match.RateLimit != nil
	default:
		return limited(match.Descriptors, es[1:], headerValue)
	}
}

// TestRateLimitDescriptorsHaveLimits: the ratelimit service is configured for the filter's domain
// and has a limit for every descriptor the filter can send, whatever the header values.
func TestRateLimitDescriptorsHaveLimits(t *testing.T) {
	c := loadRateLimitConfig(t)
	f := rateLimitFilter(t, loadBootstrap(t))
	if c.Domain != f.GetDomain() {
		t.Errorf("%s domain %q, envoy.yaml ratelimit domain %q", ratelimitPath, c.Domain, f.GetDomain())
	}
	for _, err := range checkLimits(c.Descriptors, "descriptors") {
		t.Errorf("%s: %v", ratelimitPath, err)
	}
	if len(f.GetRateLimits()) == 0 {
		t.Fatal("the ratelimit filter sends no descriptor")
	}
	for i, rl := range f.GetRateLimits() {
		es := descriptorOf(t, rl)
		for _, v := range []string{"acme", "enterprise", "gpt-4o"} {
			if !limited(c.Descriptors, es, v) {
				t.Errorf("rate_limits[%d] %v with header values %q: no limit in %s", i, es, v, ratelimitPath)
			}
		}
	}
	if f.GetFailureModeDeny() {
		t.Error("failure_mode_deny: fleet limits must fail open (stepgate's own limits still hold)")
	}
}

func TestLimitedWalk(t *testing.T) {
	tree := []rlDescriptor{
		{Key: "tenant", Descriptors: []rlDescriptor{{Key: "model", RateLimit: &rlLimit{Unit: "minute", RequestsPerUnit: 1}}}},
		{Key: "tenant", Value: "vip", Descriptors: []rlDescriptor{{Key: "other", RateLimit: &rlLimit{Unit: "minute", RequestsPerUnit: 1}}}},
		{Key: "unit", Value: "llm_tokens", RateLimit: &rlLimit{Unit: "minute", RequestsPerUnit: 1}},
	}
	tests := []struct {
		es   []entry
		v    string
		want bool
	}{
		{[]entry{{"tenant", ""}, {"model", ""}}, "a", true},
		{[]entry{{"tenant", ""}, {"model", ""}}, "vip", false}, // the exact value wins and has no "model"
		{[]entry{{"unit", "llm_tokens"}}, "x", true},
		{[]entry{{"unit", "requests"}}, "x", false},
		{[]entry{{"tenant", ""}}, "a", false}, // stops at a node without a limit
	}
	for _, tt := range tests {
		if got := limited(tree, tt.es, tt.v); got != tt.want {
			t.Errorf("limited(%v, %q) = %v, want %v", tt.es, tt.v, got, tt.want)
		}
	}
}
