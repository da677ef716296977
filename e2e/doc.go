// Package e2e holds stepgate's end-to-end tests: the official OpenAI and Anthropic Go clients
// talk to a gateway running the real filter, which talks to the strict mock providers of
// hostsim/devgateway/mockprovider. The package has no code outside its tests.
//
// # Where the gateway comes from
//
// By default the tests start the dev gateway in process (hostsim/devgateway with its built-in
// mocks, 2 worker VMs), after building the filter once per test binary into build/stepgate.wasm
// with hostsimtest.Stepgate (STEPGATE_TEST_WASM=path uses a prebuilt module instead). Tests that
// only need envoy/stepgate.json share one gateway; tests that need their own throttle rules start
// their own.
//
// With STEPGATE_E2E_ADDR (default admin STEPGATE_E2E_ADMIN=http://127.0.0.1:9901) the same tests
// run against docker compose's Envoy, which runs envoy/stepgate.json; the mocks are then reached
// on the ports docker-compose.yml publishes (127.0.0.1:18081–18086) through their /__mock/
// control endpoints. Tests that need their own configuration or the host's log lines skip with
// the reason.
//
//	make e2e                          # go test -count=1 ./e2e/...
//	make up && make e2e-envoy         # against Envoy (needs Docker)
//	STEPGATE_E2E_VERBOSE=1 go test -count=1 -run TestThrottle -v ./e2e/   # print the gateways' logs
//
// # What is covered
//
//   - Translation: the OpenAI client to every provider type of the example configuration
//     (OpenAI, Azure, Anthropic, Gemini, Ollama): answer text and usage equal the mock's
//     deterministic reply and token formula, streams assemble the same text (with the usage
//     chunk only when include_usage asks for it) and are not buffered, tool calls make a round
//     trip; the Anthropic client to an OpenAI-backed and an Anthropic-backed model. Each
//     provider gets its own credential and never the client's. Model listings.
//   - Errors in the client's dialect: unknown model (404), bad bodies (400), oversized bodies
//     (413), provider 429/5xx (status kept, overload mapped 503 ↔ 529), on streams too.
//   - Throttling on the real clock: reject after the burst with Retry-After and the RateLimit
//     headers, shaping paced at the rate and falling through after max_delay, degrade to a
//     cheaper model at another provider, llm_tokens reservations settled from the usage.
//   - Operations: one JSON call record per request without secrets, and /stats/prometheus with
//     the labels of docs/METRICS.md.
package e2e
