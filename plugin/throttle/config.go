package throttle

import (
	"time"
)

// Action is what a step does to a request. The order is the order of severity: when several rules
// apply to one request, the most severe action wins.
type Action uint8

const (
	Allow   Action = iota // send the request on unchanged
	Shape                 // hold the request until its tokens are due, then send it on
	Degrade               // rewrite the request to something cheaper, then send it on
	Reject                // answer 429 (503 when a fail-closed rule's state is unavailable)
)

var actionNames = [...]string{"allow", "shape", "degrade", "reject"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + itoa(int64(a)) + ")"
}

// Unit is what a rule's bucket counts.
type Unit uint8

const (
	Requests  Unit = iota // every request costs one token
	LLMTokens             // a request costs its estimated prompt plus completion tokens, settled later
	// Cost counts micro-units of a currency: a request costs its token estimate at its model's
	// prices (Request.InputPrice, OutputPrice), settled from the reported usage with SettleCost.
	Cost
)

func (u Unit) String() string {
	switch u {
	case LLMTokens:
		return "llm_tokens"
	case Cost:
		return "cost"
	}
	return "requests"
}

// counted reports whether u counts from an estimate settled later (tokens or spend), not one per
// request.
func (u Unit) counted() bool { return u == LLMTokens || u == Cost }

// FailMode says what a rule does when its state cannot be read or written.
type FailMode uint8

const (
	FailOpen   FailMode = iota // the rule lets the request through, untracked
	FailClosed                 // the rule rejects the request with 503
)

// A full key table is not a failure of the store: a key that finds no place is charged to the
// rule's overflow bucket, so that rotating key values never escapes the limit.

// Config is the parsed "throttle" section.
type Config struct {
	Rules []Rule
	// CASRetries bounds the read-compute-swap attempts on one bucket before the rule's FailMode
	// applies.
	CASRetries int
	// ReleaseSlack is set by the glue, not the configuration: how late after its release time
	// the glue may continue a held request when its timer runs on time (its tick period). Shape
	// steps plan holds within max_delay − ReleaseSlack, so that max_delay bounds the real hold.
	ReleaseSlack time.Duration
	// StreamCharge is how many completion tokens a stream may carry between two charges of its
	// llm_tokens rules while it flows (see Throttler.Charge); 0 charges only at its end.
	StreamCharge int64
	// LearnCompletion reserves, for requests that name no completion limit, the completion their
	// model's answers were seen to use instead of default_max_tokens (the glue fills
	// Request.ExpectedTokens from plugin/estimate).
	LearnCompletion bool
}

// DefaultStreamCharge is the StreamCharge of a section that sets none: a few hundred tokens, a
// second or so of a fast model's output, so that a handful of host calls per stream keep every
// worker's view of the budget current.
const DefaultStreamCharge = 256

// DefaultCASRetries is the CASRetries used when the section does not set one. Conflicts happen only
// while several workers update the same key in the same few microseconds; 64 attempts is far more
// than that needs and still bounded.
const DefaultCASRetries = 64

// Rule is one token bucket per distinct key, over the requests it matches.
type Rule struct {
	Name  string
	Match Match
	// Key lists the request facts whose values, together, name a bucket. An empty key gives the
	// rule a single bucket.
	Key  []Selector
	Unit Unit
	Rate Rate
	// Burst is the bucket's capacity in tokens.
	Burst int64
	// DefaultMaxTokens is the completion size assumed for an LLMTokens request that names none.
	DefaultMaxTokens int64
	// Steps are ordered by strictly decreasing threshold and never decreasing severity.
	Steps  []Step
	Shadow bool
	Fail   FailMode
	// Headers adds the RateLimit headers to responses the rule lets through (rejections always
	// carry them).
	Headers bool
	// MaxKeys is the number of keys in use at once the rule's table is sized to hold.
	MaxKeys int
	// Overflow limits, all together, the requests whose key finds no place in the table; nil
	// gives it the rule's own rate and burst.
	Overflow *Limit
	Adaptive *Adaptive
	// Scope says where the rule's tokens come from: this Envoy's shared data (ScopeLocal) or the
	// fleet's rate limit service (ScopeFleet, see plugin/fleet).
	Scope Scope
	// RateText is a fleet rule's rate as written ("100/min"): its window is the unit named there.
	RateText string
	// FleetOptions is the raw JSON of a fleet rule's "fleet" object, parsed by plugin/fleet.
	FleetOptions string
	// Window makes the bucket a quota over calendar windows: Burst tokens for each window, whole
	// again at its start, none coming back before. Rate is then calendarRate; shape steps and
	// Adaptive do not apply.
	Window Calendar
}

// Limit is a rate and a burst, for a bucket other than the rule's own.
type Limit struct {
	Rate  Rate
	Burst int64
}

// Scope is where a rule's tokens come from.
type Scope uint8

const (
	ScopeLocal Scope = iota // a token bucket in shared data, per Envoy
	ScopeFleet              // leased blocks from envoyproxy/ratelimit, for the whole fleet
)

// Rate is Tokens per Period, reduced to lowest terms so that the fixed-point units stay small.
type Rate struct {
	Tokens uint64
	Period time.Duration
}

// Threshold is a fill level of the bucket: a fraction of Burst or an absolute number of tokens.
type Threshold struct {
	Percent bool
	PPM     int64 // millionths of Burst, when Percent
	Tokens  int64 // when !Percent
}

// Step is one rung of a rule's ladder: it applies to a request that would leave fewer than Below
// tokens in the bucket.
type Step struct {
	Below  Threshold
	Action Action
	// Shape: the longest a request may be held, and how many may be held at once per key.
	MaxDelay time.Duration
	MaxQueue int
	// Degrade: the cheaper model, the cap on max_tokens (0 keeps the request's), and request
	// headers to set.
	Model      string
	MaxTokens  int64
	SetHeaders []Header
}

// Header is one HTTP header field.
type Header struct {
	Name, Value string
}

// Match selects requests; every non-empty list must match (and), any entry in a list may match
// (or). A value ending in '*' matches by prefix.
type Match struct {
	PathPrefixes []string
	Methods      []string
	Models       []string
	Providers    []string
	Tenants      []string
	APIKeys      []string
	MCPTools     []string
	MCPMethods   []string
	Headers      []HeaderMatch
	// Tiers select the tenants of a tier (a tenant's "tier"): the rules of a tier are the rules
	// that name it here.
	Tiers []string
}

// HeaderMatch matches a request header by name (lower case); the value "*" matches any value of a
// present header.
type HeaderMatch struct {
	Name   string
	Values []string
}

// SelectorKind is a request fact that can be part of a key.
type SelectorKind uint8

const (
	SelRoute     SelectorKind = iota // the path prefix of the rule that matched (the path when none)
	SelPath                          // the request path without the query
	SelMethod                        // :method
	SelModel                         // the model the request asks for
	SelProvider                      // the provider the request is routed to
	SelTenant                        // the tenant of the caller's API key
	SelAPIKey                        // the id (never the secret) of the caller's API key
	SelMCPTool                       // the MCP tool a tools/call request calls
	SelMCPMethod                     // the JSON-RPC method of an MCP request
	SelHeader                        // a request header, by name
)

var selectorNames = [...]string{"route", "path", "method", "model", "provider", "tenant", "api_key", "mcp_tool", "mcp_method", "header"}

// Selector is one component of a key.
type Selector struct {
	Kind   SelectorKind
	Header string // SelHeader: the lower-cased header name
}

func (s Selector) String() string {
	if s.Kind == SelHeader {
		return "header:" + s.Header
	}
	if int(s.Kind) < len(selectorNames) {
		return selectorNames[s.Kind]
	}
	return "selector(" + itoa(int64(s.Kind)) + ")"
}

// Adaptive steps a bucket's rate down when the upstream signals overload, and back up in steps.
type Adaptive struct {
	// OnStatus lists the upstream statuses that step the rate down; an upstream retry-after does
	// too, whatever the status.
	OnStatus []int
	// Factor is the percentage of the current rate kept at each step-down; Min is the floor.
	Factor, Min int
	// Cooldown is how long the lowered rate holds after the last step-down (longer when the
	// upstream asks for a longer retry-after).
	Cooldown time.Duration
	// The rate then climbs back to 100% in RecoverySteps equal steps, one every RecoveryInterval,
	// the first at the end of the cool-down.
	RecoverySteps    int
	RecoveryInterval time.Duration
}

// Limits the parser enforces; they keep every fixed-point quantity inside an int64.
const (
	MaxKeyBytes      = 256       // a longer key is replaced by its SHA-256
	MaxQueueLimit    = 256       // the largest max_queue
	MaxKeysLimit     = 1 << 18   // the largest max_keys
	DefaultMaxKeys   = 1024      // max_keys when a keyed rule names none
	DefaultMaxQueue  = 64        // max_queue when a shape step names none
	maxBurst         = 1e12      // the largest burst
	maxRecoverySteps = 100       // the largest recovery_steps
	maxFixed         = 1 << 60   // the largest bucket capacity or shaping debt, in fixed units
	maxRuleNameLen   = 64        // rule names appear in shared-data keys and headers
	defaultMaxTokens = 256       // default_max_tokens when an llm_tokens rule names none
	maxTokensLimit   = 1 << 40   // the largest max_tokens / default_max_tokens
	maxCostMicros    = 1 << 50   // the largest cost SettleCost charges at once
	maxCASRetries    = 1000      // the largest cas_retries
	maxDuration      = time.Hour // the longest max_delay, cooldown or recovery_interval
)
