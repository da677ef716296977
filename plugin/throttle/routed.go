package throttle

import "cmp"

// Rules that depend on where a request is routed. When a request that failed at its backend is
// sent on to a fallback (another model, often another provider), those rules decide it again
// for the fallback; the others (a tenant's request rate, a key's token budget) already counted
// it once, and settle with the usage of whichever answer is served.

// routed reports whether the rule depends on where the request is routed (its overflow bucket
// as well).
func (r *rule) routed() bool { return r.viaRoute }

// dependsOnRoute reports whether rule c matches or keys on the model or the provider, or counts
// cost (priced at the routed model's prices).
func dependsOnRoute(c *Rule) bool {
	if len(c.Match.Models) > 0 || len(c.Match.Providers) > 0 || c.Unit == Cost {
		return true
	}
	for _, s := range c.Key {
		if s.Kind == SelModel || s.Kind == SelProvider {
			return true
		}
	}
	return false
}

// DecideRouted is Decide over the rules that depend on where req is routed: req names the
// fallback's model and provider, and its prices.
func (t *Throttler) DecideRouted(now int64, req *Request) (d Decision) {
	for i := range t.rules {
		r := &t.rules[i]
		if r.routed() && (r.matchAll || r.matches(req)) {
			t.decideRule(d.Reservation.next(), r, now, req)
		}
	}
	t.conclude(&d, now)
	return d
}

// Reroute gives up the part of res that depends on where the request was routed, for a
// request sent on to another route: the token and cost reservations of those rules are settled
// at zero (that backend served nothing), their request counts stay (the request did go there),
// and nothing settles, charges or releases them again. The rules that do not depend on the
// route keep their reservation.
func (t *Throttler) Reroute(now int64, res *Reservation) error {
	var first error
	outs := res.Outcomes()
	for i := range outs {
		o := &outs[i]
		if !o.reserved || !o.rule.routed() {
			continue
		}
		if o.rule.cfg.Unit.counted() && o.Cost != 0 {
			first = cmp.Or(first, t.settleOne(now, o, 0))
		}
		o.reserved = false
	}
	return first
}
