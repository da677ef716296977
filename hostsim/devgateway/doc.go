// Package devgateway is stepgate's dev gateway: a small standalone HTTP gateway that runs a
// plugin's .wasm on hostsim. With Config.Preset PresetStepgate (the default) it runs stepgate's
// filter the way envoy/envoy.yaml runs it on Envoy, so that the filter can be tried, and tested
// end to end, without Envoy; with PresetEnvoy it runs any plugin as Envoy with a plain
// envoy.yaml does (one route to Config.DefaultCluster, else a plain 404; Envoy's defaults for
// the filter entry; log lines in Envoy's shape).
//
//	g, err := devgateway.Start(ctx, devgateway.Config{
//		Module:     wasm,                    // build/stepgate.wasm
//		ConfigPath: "envoy/stepgate.json",   // reloaded when the file changes
//		Listen:     "127.0.0.1:0",
//		AdminListen: "127.0.0.1:0",
//		Mock:       true,                    // mockprovider behind every provider cluster
//		AllowOnHeadersStopIteration: true,   // as envoy/envoy.yaml
//	})
//	defer g.Close()
//	http.Post(g.URL()+"/v1/chat/completions", "application/json", body)
//	http.Get(g.AdminURL() + "/stats/prometheus")
//
// What PresetStepgate mirrors of envoy/envoy.yaml: every request runs through the filter on Config.Workers
// worker VMs (hostsim.Proxy), streaming both ways; the route is chosen on the request headers as
// the filter forwards them: an x-stepgate-cluster header matching provider_[a-z0-9_]+ or
// mcp_[a-z0-9_]+ picks that cluster (Envoy's cluster_header routes), anything else gets the
// catch-all route's 404 JSON (or goes to Config.DefaultCluster when set); the internal x-stepgate-* request headers are removed
// before the upstream; the listener's buffer limit is 5 MiB; plugin name, root_id and vm_id are
// "stepgate"; the connection manager adds x-request-id (when absent) and x-forwarded-for, and
// normalizes the path (dot segments, merged slashes). The listener speaks HTTP/1.1 and
// cleartext HTTP/2 (codec_type AUTO). The admin listener serves /ready, /stats and
// /stats/prometheus like Envoy's admin.
//
// What differs from Envoy: a configuration reload starts a new hostsim.Host, so shared data
// (throttle buckets) starts empty after a reload, where Envoy keeps the VM and its shared data;
// counters and histograms are carried over across reloads by the gateway itself. Envoy's own
// ratelimit filter is not emulated (the filter's fleet rules reach envoyproxy/ratelimit through
// proxy_http_call when Config.Clusters maps their cluster); there is no route timeout and no TLS.
package devgateway
