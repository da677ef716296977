package throttle

import (
	"fmt"
	"math/bits"
)

// validate checks a Config built in Go rather than by ParseConfig: the bounds the arithmetic relies
// on (nothing may divide by zero or overflow) and the shape of the ladder. ParseConfig's output
// always passes.
func (c Config) validate() error {
	if c.CASRetries < 0 || c.CASRetries > maxCASRetries {
		return fmt.Errorf("throttle.cas_retries: %d is out of range", c.CASRetries)
	}
	if c.ReleaseSlack < 0 || c.ReleaseSlack > maxDuration {
		return fmt.Errorf("throttle: release slack %v is out of range", c.ReleaseSlack)
	}
	names := map[string]bool{}
	for i := range c.Rules {
		p := fmt.Sprintf("throttle.rules[%d]", i)
		r := &c.Rules[i]
		if r.Name == "" || names[r.Name] {
			return fmt.Errorf("%s.name: empty or used twice", p)
		}
		names[r.Name] = true
		if err := r.validate(p); err != nil {
			return err
		}
	}
	return nil
}

func (r *Rule) validate(p string) error {
	switch {
	case r.Rate.Tokens < 1 || r.Rate.Tokens > maxFixed/pctScale || r.Rate.Period < 1:
		return fmt.Errorf("%s.rate: %d per %v is out of range", p, r.Rate.Tokens, r.Rate.Period)
	case r.Burst < 1 || r.Burst > maxBurst:
		return fmt.Errorf("%s.burst: %d is out of range", p, r.Burst)
	case r.MaxKeys < 0 || r.MaxKeys > MaxKeysLimit:
		return fmt.Errorf("%s.max_keys: %d is out of range", p, r.MaxKeys)
	case r.DefaultMaxTokens < 0 || r.DefaultMaxTokens > maxTokensLimit:
		return fmt.Errorf("%s.default_max_tokens: %d is out of range", p, r.DefaultMaxTokens)
	}
	if !limitFits(r.Rate, r.Burst) {
		return fmt.Errorf("%s.burst: too large for the rate", p)
	}
	if o := r.Overflow; o != nil && (len(r.Key) == 0 || !limitFits(o.Rate, o.Burst)) {
		return fmt.Errorf("%s.overflow: out of range (or a rule without a key)", p)
	}
	if err := r.validateSteps(p); err != nil {
		return err
	}
	if w := r.Window; w.Kind > Month || w.Offset < -maxOffset || w.Offset > maxOffset {
		return fmt.Errorf("%s.window: out of range", p)
	}
	if err := checkWindowRule(r, p); err != nil {
		return err
	}
	if a := r.Adaptive; a != nil {
		if a.Factor < 1 || a.Factor > 99 || a.Min < 1 || a.Min > 100 || a.Cooldown <= 0 || a.Cooldown > maxDuration ||
			a.RecoveryInterval <= 0 || a.RecoveryInterval > maxDuration || a.RecoverySteps < 1 || a.RecoverySteps > maxRecoverySteps {
			return fmt.Errorf("%s.adaptive: out of range", p)
		}
	}
	return nil
}

// limitFits reports whether a bucket of burst tokens at rate counts exactly in fixed units.
func limitFits(rate Rate, burst int64) bool {
	if rate.Tokens < 1 || rate.Tokens > maxFixed/pctScale || rate.Period < 1 || burst < 1 || burst > maxBurst {
		return false
	}
	hi, c := bits.Mul64(uint64(burst), uint64(rate.Period))
	return hi == 0 && c <= maxFixed/pctScale
}

func (r *Rule) validateSteps(p string) error {
	prev := int64(-1)
	shapes := 0
	for i := range r.Steps {
		s := &r.Steps[i]
		sp := fmt.Sprintf("%s.steps[%d]", p, i)
		t := s.Below
		if t.Percent && (t.PPM < 0 || t.PPM > 1e6) || !t.Percent && (t.Tokens < 0 || t.Tokens > r.Burst) {
			return fmt.Errorf("%s.below: out of range", sp)
		}
		level := thresholdFixed(t, *r)
		if s.Action > Reject || i > 0 && (level >= prev || s.Action < r.Steps[i-1].Action || r.Steps[i-1].Action == Reject) {
			return fmt.Errorf("%s: steps must have strictly decreasing thresholds and never milder actions", sp)
		}
		prev = level
		if s.Action == Shape {
			shapes++
			if shapes > 1 || s.MaxDelay <= 0 || !delayFits(s.MaxDelay, *r) || s.MaxQueue < 1 || s.MaxQueue > MaxQueueLimit {
				return fmt.Errorf("%s: max_delay or max_queue out of range (or a second shape step)", sp)
			}
		}
		if s.MaxTokens < 0 || s.MaxTokens > maxTokensLimit {
			return fmt.Errorf("%s.max_tokens: out of range", sp)
		}
	}
	return nil
}
