// Package envoy holds no code: its directory is stepgate's Envoy packaging (envoy.yaml, the plugin
// configuration stepgate.json, the fleet-mode ratelimit and Prometheus configuration, the
// Dockerfiles that docker-compose.yml builds, the health-check probe under probe/, and Kubernetes
// examples under k8s/, Envoy Gateway's own configuration included).
//
// Envoy and Docker cannot run in CI, so the tests beside this file check that configuration another
// way: envoy.yaml is parsed strictly into Envoy's v3 bootstrap protos (go-control-plane) and
// validated, the plugin configuration it embeds must pass the plugin's own config.Parse, and
// docker-compose.yml (its health checks and start order included), the ratelimit descriptors, the
// stats tag regexes, the timeouts and headers of every provider route and the Kubernetes manifests
// are checked against envoy.yaml and against each other; the built module's imports and the host
// calls it makes while starting are checked against Envoy's Wasm host, and the example
// configuration runs on the dev gateway. See docs/DEPLOY.md.
package envoy
