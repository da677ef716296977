// Package governance decides who is calling and what they may call: API routes (path prefixes
// with an optional auth requirement and a lifecycle), tenants (allowed models, routes, prompts,
// MCP tools and servers, a throttle tier, provider credentials, metadata headers) and consumers
// (API keys stored as SHA-256 hashes, each with an id and an optional expiry).
//
// Looking a key up is one SHA-256 and one map access. The package keeps no plaintext key: the
// configuration holds hashes, and a Denial never repeats the key a client sent. It does not import
// the proxy-wasm SDK; plugin/ wires it into the request path.
package governance
