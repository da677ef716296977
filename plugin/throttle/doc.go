// Package throttle is stepgate's step-function rate limiter: token buckets whose fill level
// switches the action taken on a request in steps — allow, shape (hold the request until its tokens
// are due), degrade (rewrite it to something cheaper) and reject (429 with Retry-After and the IETF
// RateLimit headers).
//
// A Config holds rules. A rule selects requests (path prefix, method, model, provider, tenant, API
// key, MCP tool, request headers), names a key built from the same facts (for example
// tenant:model) so that each distinct key has its own bucket, counts requests or LLM tokens, and
// lists the steps. Every matching rule is evaluated for a request and the most severe outcome
// wins: allow < shape < degrade < reject.
//
// The buckets live in proxy-wasm shared data (shareddata.Store), so that every worker VM of one
// Envoy draws from the same bucket. Each update is read, compute, compare-and-swap, retried a
// bounded number of times: no update is lost and nothing is admitted twice. All arithmetic is on
// integers: time in nanoseconds from a clock the caller passes in, tokens in fixed units that make
// every refill exact, so tests on a virtual clock can expect exact counts.
//
// The package is plain Go: no goroutines, timers or SDK calls, and no panics on any input. The
// filter's SDK glue gathers the request facts, calls Decide, applies the Decision (hold, rewrite,
// local reply, headers) and reports back with Settle, Release and ObserveUpstream.
// docs/THROTTLING.md describes the configuration and the semantics in full.
package throttle
