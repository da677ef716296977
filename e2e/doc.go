// Package e2e holds stepgate's end-to-end tests: the official OpenAI and Anthropic Go clients talk
// to a gateway running the real filter (build/e2e/stepgate.wasm), which talks to the strict mock
// providers of e2e/mockprovider.
//
// By default every test starts the dev gateway in-process (hostsim/devgateway, with its built-in
// mock providers). With STEPGATE_E2E_ADDR (and STEPGATE_E2E_ADMIN) set, the same tests run against
// docker compose's Envoy (make up; make e2e-envoy): the mocks are then reached through their
// published control ports, and tests that need their own plugin configuration or the host's
// internals (logs, clock) skip with the reason.
//
// The package has no code outside its tests.
package e2e
