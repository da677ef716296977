// Package fleet enforces throttle rules with `scope: fleet` across many Envoys through
// envoyproxy/ratelimit (backed by Redis), without one service call per request.
//
// A worker leases a block of tokens for a key (hitsAddend on the service's POST /json); every
// worker VM of that Envoy serves requests from the block through shared data (compare-and-swap,
// as plugin/throttle does), and the next block is asked for before the current one runs out: from
// the tick at the low-water mark, on the request path only when the block is empty. The block
// size follows the key's observed rate. The service counts in fixed windows; its limitRemaining
// places a request on the rule's ladder (steps at fractions of the fleet limit) and its
// durationUntilReset is a fleet rejection's Retry-After. When the service is slow or down, no
// request waits past the rule's call timeout: the rule's fail mode serves from a local fallback
// bucket (open) or rejects with 503 (closed), and a probe from the tick resumes enforcement.
//
// The package is plain Go: no SDK calls, goroutines or timers. The glue dispatches the Calls it
// returns with proxy_http_call and hands the answers back (Complete). docs/THROTTLING.md, section
// Fleet, states the bounds.
package fleet
