package throttle

import (
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/stepgate/stepgate/plugin/internal/vmsync"
)

// ResponseHeaders appends the headers for the response to the client:
//
//   - RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-11) with one item per
//     rule that has headers on (every rejecting rule, on a rejection): "name";q=<burst>;w=<seconds
//     to refill a full bucket> and "name";r=<tokens left>;t=<seconds until full, or until the
//     request would pass for a rejecting rule>;
//   - X-RateLimit-Limit/Remaining/Reset for the rule that decided (the most severe; the emptiest
//     on a tie), Reset in seconds from now;
//   - Retry-After on a rejection, x-stepgate-step for shape, degrade and reject, and
//     x-stepgate-shadow listing what shadow rules would have done when it was not allow.
//
// Names are lower case, as proxy-wasm header maps hold them.
func (d *Decision) ResponseHeaders(dst []Header) []Header {
	outs := d.Reservation.Outcomes()
	if len(outs) == 0 && d.Action == Allow {
		return dst
	}
	// Inside the VM an allocation costs more than building every value, so the values go into the
	// Throttler's text arena (see headerText); a Decision that no rule made gets its own.
	var sc *headerText
	if len(outs) > 0 {
		sc = outs[0].rule.text
	} else {
		sc = new(headerText)
	}
	sc.mu.Lock()
	dst = sc.responseHeaders(d, outs, dst)
	sc.mu.Unlock()
	return dst
}

// maxResponseHeaders is the most headers ResponseHeaders appends.
const maxResponseHeaders = 8

func (sc *headerText) responseHeaders(d *Decision, outs []Outcome, dst []Header) []Header {
	// One pass builds the RateLimit value, picks the rule for the X-RateLimit headers and checks
	// whether the kept RateLimit-Policy value still fits.
	from := sc.start()
	primary, n, polSame := -1, 0, true
	for i := range outs {
		o := &outs[i]
		if !o.advertised(d) {
			continue
		}
		polSame = polSame && n < len(sc.polKey) && sc.polKey[n] == policyItem{o.rule, max(o.window, 1)}
		sc.buf = o.appendLimit(appendListSep(sc.buf, n))
		n++
		if !o.Shadow && (primary < 0 || o.moreSevere(&outs[primary])) {
			primary = i
		}
	}
	if n > 0 || d.Action != Allow {
		// One growth at most: the glue passes nil, and growing by appending would allocate up to
		// four times.
		dst = slices.Grow(dst, maxResponseHeaders)
	}
	if n > 0 {
		limit := sc.take(from)
		if !polSame || n != len(sc.polKey) {
			sc.newPolicy(d, outs)
		}
		dst = append(dst, Header{"ratelimit-policy", sc.pol}, Header{"ratelimit", limit})
		if primary >= 0 {
			o := &outs[primary]
			dst = append(dst, Header{"x-ratelimit-limit", o.rule.burstText},
				Header{"x-ratelimit-remaining", sc.int(o.Remaining)},
				Header{"x-ratelimit-reset", sc.int(o.effectiveWindow())})
		}
	}
	if d.Action == Reject {
		dst = append(dst, Header{"retry-after", sc.int(d.RetryAfter)})
	}
	if sh := sc.shadow(outs); sh != "" {
		dst = append(dst, Header{"x-stepgate-shadow", sh})
	}
	if d.Action != Allow {
		dst = append(dst, Header{"x-stepgate-step", d.Action.String()})
	}
	return dst
}

// shadow is the x-stepgate-shadow value: what shadow rules would have done, when not allow.
func (sc *headerText) shadow(outs []Outcome) string {
	from, n := len(sc.buf), 0
	for i := range outs {
		if o := &outs[i]; o.Shadow && o.Action != Allow {
			if n == 0 {
				from = sc.start()
			}
			sc.buf = append(append(append(appendListSep(sc.buf, n), o.rule.cfg.Name...), '='), o.Action.String()...)
			n++
		}
	}
	return sc.take(from)
}

// advertised reports whether o's RateLimit items go in the response: its rule has headers on, or
// it rejected the request. A rule that could not use its bucket has nothing true to say.
func (o *Outcome) advertised(d *Decision) bool {
	return o.Failure == NoFailure && (o.rule.cfg.Headers || d.Action == Reject && o.Action == Reject)
}

// headerText is where the decisions of one Throttler build their response header values.
//
// Values are appended to an arena and handed out as strings that share its memory: each byte is
// written once, before the string that covers it exists, and never again (the arena only grows,
// and a chunk with little room left is abandoned to the strings that point into it, never
// reused), so the strings are as immutable as any other. One chunk serves many requests, which
// inside the VM is much cheaper than an allocation per response.
//
// The RateLimit-Policy value only changes when another set of rules is advertised or a rule's rate
// in force changes, so the last one built is kept and handed out again.
type headerText struct {
	mu  vmsync.Mutex // a Decision may be used on another goroutine than its Throttler (natively)
	buf []byte

	polKey []policyItem // what the kept policy value was built from
	pol    string
}

type policyItem struct {
	r      *rule
	window int64
}

// textChunk is the arena's chunk size; a chunk with less than textRoom bytes left is abandoned so
// that values rarely straddle a regrowth (which would be correct, only slower).
const (
	textChunk = 4096
	textRoom  = 256
)

// start returns where the next value begins.
func (sc *headerText) start() int {
	if cap(sc.buf)-len(sc.buf) < textRoom {
		sc.buf = make([]byte, 0, textChunk)
	}
	return len(sc.buf)
}

// take returns what was appended since from.
func (sc *headerText) take(from int) string {
	if from == len(sc.buf) {
		return ""
	}
	return unsafe.String(&sc.buf[from], len(sc.buf)-from)
}

func (sc *headerText) int(v int64) string {
	from := sc.start()
	sc.buf = appendInt(sc.buf, v)
	return sc.take(from)
}

// newPolicy builds the RateLimit-Policy value for the advertised outcomes and keeps it, with what
// it was built from.
func (sc *headerText) newPolicy(d *Decision, outs []Outcome) {
	sc.polKey = sc.polKey[:0]
	from := sc.start()
	for i := range outs {
		if o := &outs[i]; o.advertised(d) {
			it := policyItem{o.rule, max(o.window, 1)}
			sc.buf = it.r.appendPolicy(appendListSep(sc.buf, len(sc.polKey)), it.window)
			sc.polKey = append(sc.polKey, it)
		}
	}
	sc.pol = sc.take(from)
}

// appendPolicy appends r's RateLimit-Policy item.
func (r *rule) appendPolicy(b []byte, window int64) []byte {
	b = appendName(b, r.cfg.Name)
	b = append(b, ";q="...)
	b = append(b, r.burstText...)
	b = append(b, ";w="...)
	b = appendInt(b, window)
	if r.cfg.Unit == LLMTokens {
		// "requests" is the default unit and the registry has no token unit yet, so the unit goes
		// in a vendor parameter, as the draft asks of implementation-specific parameters.
		b = append(b, `;stepgate-qu="llm-tokens"`...)
	}
	if r.cfg.Unit == Cost {
		b = append(b, `;stepgate-qu="cost-micros"`...)
	}
	return b
}

// appendLimit appends o's RateLimit item.
func (o *Outcome) appendLimit(b []byte) []byte {
	b = appendName(b, o.rule.cfg.Name)
	b = append(b, ";r="...)
	b = appendInt(b, o.Remaining)
	b = append(b, ";t="...)
	return appendInt(b, o.effectiveWindow())
}

// effectiveWindow is the t of RateLimit: until the request would pass for a rejecting rule (never
// earlier than Retry-After, as the draft asks), else until the bucket is full.
func (o *Outcome) effectiveWindow() int64 {
	if o.Action == Reject {
		return seconds(o.RetryAfter)
	}
	return seconds(o.Reset)
}

// seconds rounds a duration up to whole seconds.
func seconds(d time.Duration) int64 {
	return ceilDiv(max(int64(d), 0), int64(time.Second))
}

// moreSevere orders outcomes for the legacy headers: the more severe action, then the emptier
// bucket relative to its size.
func (o *Outcome) moreSevere(p *Outcome) bool {
	if o.Action != p.Action {
		return o.Action > p.Action
	}
	// o.Remaining/o.Burst < p.Remaining/p.Burst, exactly
	return lessProduct(uint64(o.Remaining), uint64(p.rule.cfg.Burst), uint64(p.Remaining), uint64(o.rule.cfg.Burst))
}

func appendName(b []byte, name string) []byte {
	return append(append(append(b, '"'), name...), '"')
}

// appendListSep separates the n-th item of a structured-field list from the previous one.
func appendListSep(b []byte, n int) []byte {
	if n > 0 {
		return append(b, ", "...)
	}
	return b
}

// appendInt is strconv.AppendInt in base 10, with the common small non-negative values done
// without its calls (each call costs more in the VM than the digits).
func appendInt(b []byte, v int64) []byte {
	if v < 0 || v >= 1e9 {
		return strconv.AppendInt(b, v, 10)
	}
	u := uint32(v)
	if u < 10 {
		return append(b, byte('0'+u))
	}
	var tmp [10]byte
	i := len(tmp)
	for u >= 10 {
		q := u / 10
		i--
		tmp[i] = byte('0' + u - q*10)
		u = q
	}
	i--
	tmp[i] = byte('0' + u)
	return append(b, tmp[i:]...)
}
