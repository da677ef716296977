package throttle

// Hooks for rules whose tokens come from elsewhere (plugin/fleet): the same matching and key
// facts as a local rule, without a bucket.

// Matches reports whether the rule selects q, as Decide would.
func (r *Rule) Matches(q *Request) bool {
	x := rule{cfg: r}
	return x.matches(q)
}

// SelectorValue is the value of one of the rule's key selectors for q (a route selector gives the
// path prefix that matched, as in Decide).
func (r *Rule) SelectorValue(s Selector, q *Request) string {
	x := rule{cfg: r}
	return x.selectorValue(s, q)
}

// AppendKey appends q's key under the rule, encoded as Decide encodes it (length-prefixed
// components, hashed beyond MaxKeyBytes).
func (r *Rule) AppendKey(dst []byte, q *Request) []byte {
	x := rule{cfg: r}
	return x.appendKey(dst, q)
}

// Cost is what q costs under the rule, capped at its burst, and the cost once a degrade step
// with a max_tokens cap (0: none) has rewritten it.
func (r *Rule) Cost(q *Request, maxTokens int64) (cost, degraded int64) {
	x := rule{cfg: r}
	d := x.demandOf(q)
	return d.cost, x.costAt(d, &step{maxTokens: maxTokens})
}

// DisplayKey renders an encoded key for logs, its components joined with ':'.
func DisplayKey(key []byte) string { return displayKey(key) }
