package throttle

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/plugin/internal/cfgjson"
)

// ParseConfig reads the "throttle" section v; path is its JSON path ("throttle"), used to name the
// place of every error, as in `throttle.rules[2].steps[1].action: unknown action "slow"`. An absent
// section is an empty Config.
func ParseConfig(v gjson.Result, path string) (Config, error) {
	cfg := Config{CASRetries: DefaultCASRetries, StreamCharge: DefaultStreamCharge}
	if !v.Exists() {
		return cfg, nil
	}
	if err := cfgjson.Object(v, path, "rules", "cas_retries", "stream_charge_tokens", "learn_completion"); err != nil {
		return Config{}, err
	}
	if err := cfgjson.Bool(v, path, "learn_completion", &cfg.LearnCompletion); err != nil {
		return Config{}, err
	}
	if f := v.Get("stream_charge_tokens"); f.Exists() {
		n, err := wholeNumber(f, cfgjson.Join(path, "stream_charge_tokens"), 0, maxTokensLimit)
		if err != nil {
			return Config{}, err
		}
		cfg.StreamCharge = n
	}
	if f := v.Get("cas_retries"); f.Exists() {
		n, err := wholeNumber(f, cfgjson.Join(path, "cas_retries"), 1, maxCASRetries)
		if err != nil {
			return Config{}, err
		}
		cfg.CASRetries = int(n)
	}
	rules := v.Get("rules")
	if !rules.Exists() {
		return cfg, nil
	}
	rp := cfgjson.Join(path, "rules")
	if !rules.IsArray() {
		return Config{}, cfgjson.Errorf(rp, "must be an array of rules, got %s", cfgjson.Short(rules.Raw))
	}
	names := map[string]int{}
	for i, rv := range rules.Array() {
		p := fmt.Sprintf("%s[%d]", rp, i)
		r, err := parseRule(rv, p)
		if err != nil {
			return Config{}, err
		}
		if j, dup := names[r.Name]; dup {
			return Config{}, cfgjson.Errorf(cfgjson.Join(p, "name"), "%q is already the name of %s[%d]", r.Name, rp, j)
		}
		names[r.Name] = i
		cfg.Rules = append(cfg.Rules, r)
	}
	return cfg, nil
}

var ruleFields = []string{"name", "match", "key", "unit", "rate", "burst", "default_max_tokens",
	"steps", "shadow", "fail", "headers", "max_keys", "overflow", "adaptive", "scope", "fleet", "window", "utc_offset"}

func parseRule(v gjson.Result, p string) (Rule, error) {
	r := Rule{Headers: true}
	if err := cfgjson.Object(v, p, ruleFields...); err != nil {
		return r, err
	}
	var err error
	if r.Name, err = parseName(v.Get("name"), cfgjson.Join(p, "name")); err != nil {
		return r, err
	}
	if r.Match, err = parseMatch(v.Get("match"), cfgjson.Join(p, "match")); err != nil {
		return r, err
	}
	if r.Key, err = parseKey(v.Get("key"), cfgjson.Join(p, "key")); err != nil {
		return r, err
	}
	if r.Unit, err = parseUnit(v.Get("unit"), cfgjson.Join(p, "unit")); err != nil {
		return r, err
	}
	if r.Window, err = parseWindow(v, p); err != nil {
		return r, err
	}
	if r.Window.Kind != NoWindow {
		r.Rate = calendarRate
	} else if r.Rate, err = parseRate(v.Get("rate"), cfgjson.Join(p, "rate")); err != nil {
		return r, err
	}
	if err := parseScope(v, p, &r); err != nil {
		return r, err
	}
	if n, ok := fleetBurst(&r); ok && r.Scope == ScopeFleet && !v.Get("burst").Exists() {
		r.Burst = n
	} else if r.Burst, err = requiredWhole(v, p, "burst", 1, maxBurst); err != nil {
		return r, err
	}
	if err := checkCapacity(r, p); err != nil {
		return r, err
	}
	if err := parseRuleOptions(v, p, &r); err != nil {
		return r, err
	}
	if r.Steps, err = parseSteps(v.Get("steps"), cfgjson.Join(p, "steps"), r); err != nil {
		return r, err
	}
	if a := v.Get("adaptive"); a.Exists() {
		ad, err := parseAdaptive(a, cfgjson.Join(p, "adaptive"))
		if err != nil {
			return r, err
		}
		r.Adaptive = &ad
	}
	return r, checkWindowRule(&r, p)
}

// parseScope reads "scope" and keeps a fleet rule's "fleet" object for plugin/fleet. A fleet
// rule's burst defaults to its rate's count: the service's fixed window admits that many at once.
func parseScope(v gjson.Result, p string, r *Rule) error {
	switch f := v.Get("scope"); {
	case !f.Exists() || f.Type == gjson.String && f.Str == "local":
	case f.Type == gjson.String && f.Str == "fleet":
		r.Scope, r.RateText = ScopeFleet, v.Get("rate").Str
	default:
		return cfgjson.Errorf(cfgjson.Join(p, "scope"), "unknown scope %s (want \"local\" or \"fleet\")", cfgjson.Short(f.Raw))
	}
	if f := v.Get("fleet"); f.Exists() {
		if r.Scope != ScopeFleet {
			return cfgjson.Errorf(cfgjson.Join(p, "fleet"), "only applies to scope \"fleet\"")
		}
		r.FleetOptions = f.Raw
	}
	return nil
}

// fleetBurst is a fleet rule's default burst: the whole count its rate names ("100/min": 100).
func fleetBurst(r *Rule) (int64, bool) {
	count, _, ok := strings.Cut(r.RateText, "/")
	n, err := strconv.ParseInt(strings.TrimSpace(count), 10, 64)
	return n, ok && err == nil && n >= 1 && n <= maxBurst
}

// parseRuleOptions reads the rule's optional scalar fields.
func parseRuleOptions(v gjson.Result, p string, r *Rule) error {
	if f := v.Get("default_max_tokens"); f.Exists() {
		if !r.Unit.counted() {
			return cfgjson.Errorf(cfgjson.Join(p, "default_max_tokens"), "only applies to units \"llm_tokens\" and \"cost\"")
		}
		n, err := wholeNumber(f, cfgjson.Join(p, "default_max_tokens"), 0, maxTokensLimit)
		if err != nil {
			return err
		}
		r.DefaultMaxTokens = n
	} else if r.Unit.counted() {
		r.DefaultMaxTokens = defaultMaxTokens
	}
	if err := cfgjson.Bool(v, p, "shadow", &r.Shadow); err != nil {
		return err
	}
	if err := cfgjson.Bool(v, p, "headers", &r.Headers); err != nil {
		return err
	}
	if f := v.Get("fail"); f.Exists() {
		switch {
		case f.Type == gjson.String && f.Str == "open":
			r.Fail = FailOpen
		case f.Type == gjson.String && f.Str == "closed":
			r.Fail = FailClosed
		default:
			return cfgjson.Errorf(cfgjson.Join(p, "fail"), "unknown fail mode %s (want \"open\" or \"closed\")", cfgjson.Short(f.Raw))
		}
	}
	r.MaxKeys = 1
	if len(r.Key) > 0 {
		r.MaxKeys = DefaultMaxKeys
	}
	if f := v.Get("max_keys"); f.Exists() {
		n, err := wholeNumber(f, cfgjson.Join(p, "max_keys"), 1, MaxKeysLimit)
		if err != nil {
			return err
		}
		if len(r.Key) == 0 && n != 1 {
			return cfgjson.Errorf(cfgjson.Join(p, "max_keys"), "a rule without a key has exactly one bucket")
		}
		r.MaxKeys = int(n)
	}
	return parseOverflow(v.Get("overflow"), cfgjson.Join(p, "overflow"), r)
}

// parseOverflow reads the overflow bucket's own rate and burst; each defaults to the rule's.
func parseOverflow(v gjson.Result, p string, r *Rule) error {
	if !v.Exists() {
		return nil
	}
	if len(r.Key) == 0 {
		return cfgjson.Errorf(p, "a rule without a key has one bucket and never overflows")
	}
	if err := cfgjson.Object(v, p, "rate", "burst"); err != nil {
		return err
	}
	o := Limit{Rate: r.Rate, Burst: r.Burst}
	var err error
	if f := v.Get("rate"); f.Exists() {
		if o.Rate, err = parseRate(f, cfgjson.Join(p, "rate")); err != nil {
			return err
		}
	}
	if f := v.Get("burst"); f.Exists() {
		if o.Burst, err = wholeNumber(f, cfgjson.Join(p, "burst"), 1, maxBurst); err != nil {
			return err
		}
	}
	if err := checkCapacity(Rule{Rate: o.Rate, Burst: o.Burst}, p); err != nil {
		return err
	}
	r.Overflow = &o
	return nil
}

func parseName(v gjson.Result, p string) (string, error) {
	if !v.Exists() {
		return "", cfgjson.Errorf(p, "required")
	}
	if v.Type != gjson.String || v.Str == "" || len(v.Str) > maxRuleNameLen {
		return "", cfgjson.Errorf(p, "must be a string of 1 to %d characters, got %s", maxRuleNameLen, cfgjson.Short(v.Raw))
	}
	for _, c := range []byte(v.Str) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			// The name is quoted in RateLimit headers and part of shared-data keys.
			return "", cfgjson.Errorf(p, "%q: only letters, digits, '-', '_' and '.' are allowed", v.Str)
		}
	}
	return v.Str, nil
}

func parseUnit(v gjson.Result, p string) (Unit, error) {
	if !v.Exists() {
		return Requests, nil
	}
	if v.Type == gjson.String {
		switch v.Str {
		case "requests":
			return Requests, nil
		case "llm_tokens":
			return LLMTokens, nil
		case "cost":
			return Cost, nil
		}
	}
	return 0, cfgjson.Errorf(p, "unknown unit %s (want \"requests\", \"llm_tokens\" or \"cost\")", cfgjson.Short(v.Raw))
}

var matchFields = []string{"path_prefix", "methods", "models", "providers", "tenants", "api_keys", "mcp_tools", "mcp_methods", "headers", "tiers"}

func parseMatch(v gjson.Result, p string) (Match, error) {
	var m Match
	if !v.Exists() {
		return m, nil
	}
	if err := cfgjson.Object(v, p, matchFields...); err != nil {
		return m, err
	}
	lists := []*[]string{&m.PathPrefixes, &m.Methods, &m.Models, &m.Providers, &m.Tenants, &m.APIKeys, &m.MCPTools, &m.MCPMethods}
	for i, dst := range lists {
		l, err := stringList(v.Get(matchFields[i]), cfgjson.Join(p, matchFields[i]))
		if err != nil {
			return m, err
		}
		*dst = l
	}
	tiers, terr := stringList(v.Get("tiers"), cfgjson.Join(p, "tiers"))
	if terr != nil {
		return m, terr
	}
	m.Tiers = tiers
	for i, pre := range m.PathPrefixes {
		if !strings.HasPrefix(pre, "/") {
			return m, cfgjson.Errorf(fmt.Sprintf("%s[%d]", cfgjson.Join(p, "path_prefix"), i), "%q must start with '/'", pre)
		}
	}
	h := v.Get("headers")
	if !h.Exists() {
		return m, nil
	}
	hp := cfgjson.Join(p, "headers")
	if !h.IsObject() {
		return m, cfgjson.Errorf(hp, "must be an object of header name to value(s), got %s", cfgjson.Short(h.Raw))
	}
	var err error
	h.ForEach(func(name, val gjson.Result) bool {
		np := cfgjson.Join(hp, name.Str)
		if err = checkHeaderName(name.Str, np); err != nil {
			return false
		}
		var vals []string
		if vals, err = stringList(val, np); err != nil {
			return false
		}
		if len(vals) == 0 {
			err = cfgjson.Errorf(np, "needs at least one value (\"*\" matches any)")
			return false
		}
		m.Headers = append(m.Headers, HeaderMatch{Name: strings.ToLower(name.Str), Values: vals})
		return true
	})
	return m, err
}

// parseKey reads "tenant:model" or ["tenant", "model"]; a header selector is "header:<name>" in
// either form.
func parseKey(v gjson.Result, p string) ([]Selector, error) {
	if !v.Exists() {
		return nil, nil
	}
	var parts []string
	switch {
	case v.Type == gjson.String:
		if v.Str == "" {
			return nil, nil
		}
		raw := strings.Split(v.Str, ":")
		for i := 0; i < len(raw); i++ {
			if raw[i] == "header" && i+1 < len(raw) {
				parts = append(parts, "header:"+raw[i+1])
				i++
				continue
			}
			parts = append(parts, raw[i])
		}
	case v.IsArray():
		l, err := stringList(v, p)
		if err != nil {
			return nil, err
		}
		parts = l
	default:
		return nil, cfgjson.Errorf(p, "must be a string like \"tenant:model\" or an array of selectors, got %s", cfgjson.Short(v.Raw))
	}
	var sels []Selector
	for _, part := range parts {
		s, err := parseSelector(part, p)
		if err != nil {
			return nil, err
		}
		if slices.Contains(sels, s) {
			return nil, cfgjson.Errorf(p, "selector %q appears twice", part)
		}
		sels = append(sels, s)
	}
	return sels, nil
}

func parseSelector(s, p string) (Selector, error) {
	if name, ok := strings.CutPrefix(s, "header:"); ok {
		if err := checkHeaderName(name, p); err != nil {
			return Selector{}, err
		}
		return Selector{Kind: SelHeader, Header: strings.ToLower(name)}, nil
	}
	for i, n := range selectorNames[:SelHeader] {
		if s == n {
			return Selector{Kind: SelectorKind(i)}, nil
		}
	}
	return Selector{}, cfgjson.Errorf(p, "unknown selector %q (want route, path, method, model, provider, tenant, api_key, mcp_tool, mcp_method or header:<name>)", s)
}

func checkHeaderName(name, p string) error {
	if name == "" {
		return cfgjson.Errorf(p, "empty header name")
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '=' || (c == ':' && name[0] != ':') {
			return cfgjson.Errorf(p, "invalid header name %q", name)
		}
	}
	return nil
}

// parseRate reads "<number>/<period>": the number may have a fraction ("0.5"), the period is a
// unit (s, sec, second, m, min, minute, h, hour, d, day) or a Go duration ("10s", "500ms").
func parseRate(v gjson.Result, p string) (Rate, error) {
	if !v.Exists() {
		return Rate{}, cfgjson.Errorf(p, "required, like \"100/min\" or \"0.5/s\"")
	}
	if v.Type != gjson.String {
		return Rate{}, cfgjson.Errorf(p, "must be a string like \"100/min\" or \"0.5/s\", got %s", cfgjson.Short(v.Raw))
	}
	numText, perText, ok := strings.Cut(v.Str, "/")
	if !ok {
		return Rate{}, cfgjson.Errorf(p, "%q: want <number>/<period>, like \"100/min\"", v.Str)
	}
	num, scale, ok := parseDecimal(strings.TrimSpace(numText))
	if !ok {
		return Rate{}, cfgjson.Errorf(p, "%q: %q is not a plain decimal number", v.Str, numText)
	}
	if num == 0 {
		return Rate{}, cfgjson.Errorf(p, "%q: the rate must be greater than 0", v.Str)
	}
	per, err := parsePeriod(strings.TrimSpace(perText))
	if err != nil {
		return Rate{}, cfgjson.Errorf(p, "%q: %v", v.Str, err)
	}
	hi, period := bits.Mul64(scale, uint64(per))
	if hi != 0 || period > 1<<62 {
		return Rate{}, cfgjson.Errorf(p, "%q: the period is too long for the number's precision", v.Str)
	}
	g := gcd(num, period)
	return Rate{Tokens: num / g, Period: time.Duration(period / g)}, nil
}

var periodUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hour": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour,
}

func parsePeriod(s string) (time.Duration, error) {
	if d, ok := periodUnits[s]; ok {
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("period %q is neither a unit (s, min, h, day) nor a duration like \"10s\"", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("period %q must be positive", s)
	}
	if d > 366*24*time.Hour {
		return 0, fmt.Errorf("period %q is longer than a year", s)
	}
	return d, nil
}

// parseDecimal reads digits with an optional fraction: the value is num/scale.
func parseDecimal(s string) (num, scale uint64, ok bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || len(intPart)+len(frac) > 18 {
		return 0, 0, false
	}
	scale = 1
	for _, c := range []byte(intPart + frac) {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		num = num*10 + uint64(c-'0')
	}
	for range frac {
		scale *= 10
	}
	return num, scale, true
}

// checkCapacity keeps the bucket's capacity, burst × fixed units per token, inside the fixed-point
// range; p is the rule's path.
func checkCapacity(r Rule, p string) error {
	if r.Rate.Tokens > maxFixed/pctScale {
		return cfgjson.Errorf(cfgjson.Join(p, "rate"), "%d tokens per %v is too high a rate", r.Rate.Tokens, r.Rate.Period)
	}
	hi, c := bits.Mul64(uint64(r.Burst), uint64(r.Rate.Period))
	if hi != 0 || c > maxFixed/pctScale {
		return cfgjson.Errorf(cfgjson.Join(p, "burst"), "burst %d at %d tokens per %v is too large to count exactly; lower the burst or raise the rate", r.Burst, r.Rate.Tokens, r.Rate.Period)
	}
	return nil
}

var stepFields = []string{"below", "action", "max_delay", "max_queue", "model", "max_tokens", "set_headers"}

func parseSteps(v gjson.Result, p string, r Rule) ([]Step, error) {
	if !v.Exists() {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, cfgjson.Errorf(p, "must be an array of steps, got %s", cfgjson.Short(v.Raw))
	}
	var steps []Step
	prevLevel := int64(-1)
	shapes := 0
	for i, sv := range v.Array() {
		sp := fmt.Sprintf("%s[%d]", p, i)
		s, err := parseStep(sv, sp, r)
		if err != nil {
			return nil, err
		}
		level := thresholdFixed(s.Below, r)
		if i > 0 {
			prev := steps[i-1]
			if level >= prevLevel {
				return nil, cfgjson.Errorf(cfgjson.Join(sp, "below"), "thresholds must strictly decrease: %s is not below the previous step's %s", thresholdText(s.Below), thresholdText(prev.Below))
			}
			if s.Action < prev.Action {
				return nil, cfgjson.Errorf(cfgjson.Join(sp, "action"), "%q after %q: steps must not get milder as the bucket drains", s.Action, prev.Action)
			}
			if prev.Action == Reject {
				return nil, cfgjson.Errorf(sp, "unreachable: the previous step rejects")
			}
		}
		if s.Action == Shape {
			if shapes++; shapes > 1 {
				return nil, cfgjson.Errorf(cfgjson.Join(sp, "action"), "a rule has at most one shape step")
			}
		}
		prevLevel = level
		steps = append(steps, s)
	}
	return steps, nil
}

func parseStep(v gjson.Result, p string, r Rule) (Step, error) {
	var s Step
	if err := cfgjson.Object(v, p, stepFields...); err != nil {
		return s, err
	}
	a := v.Get("action")
	ap := cfgjson.Join(p, "action")
	if !a.Exists() {
		return s, cfgjson.Errorf(ap, "required (allow, shape, degrade or reject)")
	}
	found := false
	for i, n := range actionNames {
		if a.Type == gjson.String && a.Str == n {
			s.Action, found = Action(i), true
		}
	}
	if !found {
		return s, cfgjson.Errorf(ap, "unknown action %s (want allow, shape, degrade or reject)", cfgjson.Short(a.Raw))
	}
	var err error
	if s.Below, err = parseThreshold(v.Get("below"), cfgjson.Join(p, "below"), r); err != nil {
		return s, err
	}
	if err := onlyFor(v, p, s.Action, Shape, "max_delay", "max_queue"); err != nil {
		return s, err
	}
	if err := onlyFor(v, p, s.Action, Degrade, "model", "max_tokens", "set_headers"); err != nil {
		return s, err
	}
	switch s.Action {
	case Shape:
		return s, parseShape(v, p, r, &s)
	case Degrade:
		return s, parseDegrade(v, p, &s)
	}
	return s, nil
}

// onlyFor refuses fields that belong to another action: they would be silently ignored.
func onlyFor(v gjson.Result, p string, got, want Action, fields ...string) error {
	if got == want {
		return nil
	}
	for _, f := range fields {
		if v.Get(f).Exists() {
			return cfgjson.Errorf(cfgjson.Join(p, f), "only applies to action %q", want)
		}
	}
	return nil
}

func parseShape(v gjson.Result, p string, r Rule, s *Step) error {
	d, err := duration(v.Get("max_delay"), cfgjson.Join(p, "max_delay"))
	if err != nil {
		return err
	}
	if d == 0 {
		return cfgjson.Errorf(cfgjson.Join(p, "max_delay"), "required for a shape step, a positive duration like \"2s\"")
	}
	if !delayFits(d, r) {
		return cfgjson.Errorf(cfgjson.Join(p, "max_delay"), "%v at this rate is too large to count exactly", d)
	}
	s.MaxDelay = d
	s.MaxQueue = DefaultMaxQueue
	if f := v.Get("max_queue"); f.Exists() {
		n, err := wholeNumber(f, cfgjson.Join(p, "max_queue"), 1, MaxQueueLimit)
		if err != nil {
			return err
		}
		s.MaxQueue = int(n)
	}
	return nil
}

// delayFits reports whether the shaping debt of a hold of d stays inside the fixed-point range at
// the rule's rate and at its overflow bucket's.
func delayFits(d time.Duration, r Rule) bool {
	rates := []Rate{r.Rate}
	if r.Overflow != nil {
		rates = append(rates, r.Overflow.Rate)
	}
	for _, rt := range rates {
		if hi, lo := bits.Mul64(uint64(d), rt.Tokens*pctScale); hi != 0 || lo > maxFixed {
			return false
		}
	}
	return true
}

func parseDegrade(v gjson.Result, p string, s *Step) error {
	if m := v.Get("model"); m.Exists() {
		if m.Type != gjson.String || m.Str == "" {
			return cfgjson.Errorf(cfgjson.Join(p, "model"), "must be a non-empty string, got %s", cfgjson.Short(m.Raw))
		}
		s.Model = m.Str
	}
	if f := v.Get("max_tokens"); f.Exists() {
		n, err := wholeNumber(f, cfgjson.Join(p, "max_tokens"), 1, maxTokensLimit)
		if err != nil {
			return err
		}
		s.MaxTokens = n
	}
	if h := v.Get("set_headers"); h.Exists() {
		hp := cfgjson.Join(p, "set_headers")
		if !h.IsObject() {
			return cfgjson.Errorf(hp, "must be an object of header name to value, got %s", cfgjson.Short(h.Raw))
		}
		var err error
		h.ForEach(func(name, val gjson.Result) bool {
			np := cfgjson.Join(hp, name.Str)
			if err = checkHeaderName(name.Str, np); err != nil {
				return false
			}
			if val.Type != gjson.String {
				err = cfgjson.Errorf(np, "must be a string, got %s", cfgjson.Short(val.Raw))
				return false
			}
			s.SetHeaders = append(s.SetHeaders, Header{Name: strings.ToLower(name.Str), Value: val.Str})
			return true
		})
		if err != nil {
			return err
		}
	}
	if s.Model == "" && s.MaxTokens == 0 && len(s.SetHeaders) == 0 {
		return cfgjson.Errorf(p, "a degrade step needs model, max_tokens or set_headers")
	}
	return nil
}

// parseThreshold reads "50%" (of burst) or a whole number of tokens; absent means 0.
func parseThreshold(v gjson.Result, p string, r Rule) (Threshold, error) {
	if !v.Exists() {
		return Threshold{}, nil
	}
	if v.Type == gjson.String {
		ppm, ok := parsePercent(v.Str)
		if !ok {
			return Threshold{}, cfgjson.Errorf(p, "%q: want a percentage of burst like \"50%%\" (0%% to 100%%) or a number of tokens", v.Str)
		}
		return Threshold{Percent: true, PPM: ppm}, nil
	}
	n, err := wholeNumber(v, p, 0, r.Burst)
	if err != nil {
		return Threshold{}, err
	}
	return Threshold{Tokens: n}, nil
}

// parsePercent reads "12.5%" as 125000 millionths; at most four decimals, at most 100%.
func parsePercent(s string) (int64, bool) {
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return 0, false
	}
	n, scale, ok := parseDecimal(num)
	if !ok || scale > 10000 {
		return 0, false
	}
	ppm := n * (1e6 / 100) / scale
	if ppm > 1e6 {
		return 0, false
	}
	return int64(ppm), true
}

var adaptiveFields = []string{"on_status", "factor", "min", "cooldown", "recovery_steps", "recovery_interval"}

func parseAdaptive(v gjson.Result, p string) (Adaptive, error) {
	a := Adaptive{OnStatus: []int{429, 503}, Factor: 50, Min: 10, Cooldown: 30 * time.Second,
		RecoverySteps: 3, RecoveryInterval: 10 * time.Second}
	if err := cfgjson.Object(v, p, adaptiveFields...); err != nil {
		return a, err
	}
	if f := v.Get("on_status"); f.Exists() {
		sp := cfgjson.Join(p, "on_status")
		if !f.IsArray() {
			return a, cfgjson.Errorf(sp, "must be an array of HTTP statuses, got %s", cfgjson.Short(f.Raw))
		}
		a.OnStatus = nil
		for i, s := range f.Array() {
			n, err := wholeNumber(s, fmt.Sprintf("%s[%d]", sp, i), 100, 599)
			if err != nil {
				return a, err
			}
			a.OnStatus = append(a.OnStatus, int(n))
		}
	}
	var err error
	if a.Factor, err = wholePercent(v.Get("factor"), cfgjson.Join(p, "factor"), a.Factor, 1, 99); err != nil {
		return a, err
	}
	if a.Min, err = wholePercent(v.Get("min"), cfgjson.Join(p, "min"), a.Min, 1, 100); err != nil {
		return a, err
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"cooldown", &a.Cooldown}, {"recovery_interval", &a.RecoveryInterval}} {
		if f := v.Get(d.name); f.Exists() {
			x, err := duration(f, cfgjson.Join(p, d.name))
			if err != nil {
				return a, err
			}
			if x == 0 {
				return a, cfgjson.Errorf(cfgjson.Join(p, d.name), "must be positive")
			}
			*d.dst = x
		}
	}
	if f := v.Get("recovery_steps"); f.Exists() {
		n, err := wholeNumber(f, cfgjson.Join(p, "recovery_steps"), 1, maxRecoverySteps)
		if err != nil {
			return a, err
		}
		a.RecoverySteps = int(n)
	}
	return a, nil
}

// wholePercent reads "50%" with no fraction.
func wholePercent(v gjson.Result, p string, def, lo, hi int) (int, error) {
	if !v.Exists() {
		return def, nil
	}
	if v.Type == gjson.String {
		if ppm, ok := parsePercent(v.Str); ok && ppm%1e4 == 0 && ppm/1e4 >= int64(lo) && ppm/1e4 <= int64(hi) {
			return int(ppm / 1e4), nil
		}
	}
	return 0, cfgjson.Errorf(p, "want a whole percentage from %d%% to %d%%, like \"50%%\", got %s", lo, hi, cfgjson.Short(v.Raw))
}

// --- small readers -------------------------------------------------------------------------------

func requiredWhole(v gjson.Result, p, name string, lo, hi int64) (int64, error) {
	f := v.Get(name)
	if !f.Exists() {
		return 0, cfgjson.Errorf(cfgjson.Join(p, name), "required")
	}
	return wholeNumber(f, cfgjson.Join(p, name), lo, hi)
}

// wholeNumber reads a JSON integer in [lo, hi].
func wholeNumber(v gjson.Result, p string, lo, hi int64) (int64, error) {
	if v.Type == gjson.Number {
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			if n >= lo && n <= hi {
				return n, nil
			}
		}
	}
	return 0, cfgjson.Errorf(p, "must be a whole number from %d to %d, got %s", lo, hi, cfgjson.Short(v.Raw))
}

// duration reads a Go duration string such as "2s"; absent is 0.
func duration(v gjson.Result, p string) (time.Duration, error) {
	if !v.Exists() {
		return 0, nil
	}
	if v.Type == gjson.String {
		if d, err := time.ParseDuration(v.Str); err == nil && d >= 0 && d <= maxDuration {
			return d, nil
		}
	}
	return 0, cfgjson.Errorf(p, "want a duration from 0s to %v like \"2s\" or \"500ms\", got %s", maxDuration, cfgjson.Short(v.Raw))
}

// stringList reads a string or an array of strings; absent is nil.
func stringList(v gjson.Result, p string) ([]string, error) {
	if !v.Exists() {
		return nil, nil
	}
	if v.Type == gjson.String {
		return []string{v.Str}, nil
	}
	if !v.IsArray() {
		return nil, cfgjson.Errorf(p, "must be a string or an array of strings, got %s", cfgjson.Short(v.Raw))
	}
	var out []string
	for i, e := range v.Array() {
		if e.Type != gjson.String {
			return nil, cfgjson.Errorf(fmt.Sprintf("%s[%d]", p, i), "must be a string, got %s", cfgjson.Short(e.Raw))
		}
		out = append(out, e.Str)
	}
	return out, nil
}

func thresholdText(t Threshold) string {
	if t.Percent {
		return strconv.FormatFloat(float64(t.PPM)/1e4, 'f', -1, 64) + "%"
	}
	return itoa(t.Tokens) + " tokens"
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
