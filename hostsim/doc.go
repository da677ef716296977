// Package hostsim is a proxy-wasm host written in Go on wazero that behaves like Envoy: it
// loads a plugin's .wasm (any module for ABI 0.2.x, built with proxy-wasm-go-sdk or written
// straight against the ABI, not only stepgate's) and drives it as Envoy's proxy-wasm-cpp-host
// does, so plugins are tested, and run for development, without Envoy.
//
// # Use
//
//	vc := hostsim.NewVirtualClock(time.Now())
//	h, err := hostsim.New(ctx, hostsim.Config{
//		Module:       wasm,                        // the .wasm bytes
//		PluginConfig: []byte(`{"throttle": {}}`),  // refused configurations fail New with the plugin's log lines
//		Workers:      4,                           // one VM per worker thread
//		Clock:        vc,                          // ticks and time move only with vc.Advance
//		Clusters:     map[string]string{"openai": upstreamURL},
//	})
//	defer h.Close(ctx)
//
//	s := h.NewStream(hostsim.WithInfo(hostsim.StreamInfo{SourceAddress: "10.0.0.7:5123"}))
//	s.SendRequestHeaders(hostsim.Headers{{":method", "POST"}, {":path", "/v1/chat/completions"},
//		{":authority", "api.local"}}, false)   // -> hostsim.Continue, StopAllIterationAndWatermark, ...
//	s.SendRequestBody(body, true)
//	s.Upstream()         // what the filter forwarded: headers, body, trailers, end
//	vc.Advance(time.Second)   // fires due proxy_on_tick; a paused stream resumes right here
//	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false)
//	s.SendResponseBody(answer, true)  // the response end tears the stream down (log, done, delete)
//	s.Downstream()       // what the client got; s.LocalReply(), s.Callbacks(), h.Logs(), h.Metric(...)
//
// Package hostsimtest is the test kit: it builds plugins once per test binary (plain go build
// for modules written against the ABI, stepgate's SDK bridge for proxy-wasm-go-sdk plugins,
// in this module or another), starts hosts on a virtual clock, sends whole exchanges and
// asserts log lines; its examples run.
//
// Proxy runs the same machinery as an http.Handler in front of real upstreams (the dev
// gateway). Like Envoy, it adds x-envoy-upstream-service-time to upstream responses before the
// filter sees them, and server: envoy to every response the client gets. A headers-only
// request runs wholly on the goroutine serving its connection (filter, upstream call, an answer
// of known length), as Envoy runs a connection's streams on one worker thread; the callbacks of
// a request with a body run on their worker VM's own long-lived goroutine, so that the
// goroutines reading the body and calling the upstream never call into the module. Streams
// driven through Stream's methods run their callbacks on the caller's goroutine.
//
// # What Envoy does, and so does hostsim
//
// Start-up: the module is checked (every import must be a host function Envoy provides, with
// its signature; a module importing anything else is refused with the import's name; the
// callbacks must have cpp-host's signatures; malloc or proxy_on_memory_allocate must exist;
// the proxy_abi_version_* marker picks the ABI), compiled once per process (and cached on
// disk), then a base VM runs _initialize (and main or __main_void), a configuration canary VM
// is started and configured and discarded, and one VM per worker is started: root context 1,
// proxy_on_context_create, proxy_on_vm_start, proxy_on_configure. Config.Plugins adds further
// filters of the same module on the same VMs, as Envoy shares a VM between filters whose
// vm_config match: each gets its own root context (2, 3, ...), configuration, tick and
// callouts, and a stream runs through the one WithPlugin names (one plugin per stream: a
// filter chain of several wasm filters is not modelled). While a module starts, and
// inside its allocator, only the host functions cpp-host allows may be called; others trap.
//
// Streams: proxy_on_context_create at the request headers, then headers, body frames and
// trailers each way, then proxy_on_log, proxy_on_done, proxy_on_delete. Return values mean what
// they mean to Envoy (a headers Pause is StopAllIterationAndWatermark and queues the body
// unseen; a body Pause is StopIterationAndBuffer: the next call reports the total buffered and
// the buffer exposes all of it; over Config.BufferLimit the request gets 413, the response 500
// or a reset). proxy_send_local_response, proxy_continue_stream and proxy_close_stream act after
// the callback returns; a local reply forces the callback's result to a stop and goes through
// the plugin's response callbacks (straight to the client once upstream response headers
// reached the filter, a reset once response headers left). Envoy's header maps answer only
// while Envoy holds them: after request headers continue, the request headers are gone for
// the rest of the stream (BAD_ARGUMENT, request.* attributes NOT_FOUND) until proxy_on_log.
// A trap fails the VM for good: its stream and every later stream on that worker get 503
// (details "wasm_fail_stream") without plugin calls, or pass untouched with FailOpen.
//
// Timeouts: the stream idle timeout (Config.StreamIdleTimeout, 300 s) ends a stream with
// nothing from or to the client for that long with "stream timeout" (408 while the request is
// incomplete, 504 after, a reset once the response started), so a paused stream never resumed
// ends as in Envoy; the route timeout (Config.RouteTimeout, 15 s, per cluster with
// Proxy.RouteTimeouts) runs from the request's end to the upstream response's end and answers
// 504 "upstream request timeout" (a reset once upstream headers came); Config.RequestTimeout is
// request_timeout (off by default). All run on Config.Clock.
//
// Host calls are counted as they are dispatched (an increment, no wazero listener):
// Stream.HostCalls is what the plugin called inside one stream's callbacks, Host.HostCalls
// every call on the worker VMs by function ("env.proxy_get_header_map_pairs",
// "wasi_snapshot_preview1.clock_time_get"), so that a test or a benchmark can see what a
// request costs in crossings of the VM boundary, which Envoy's host pays for too.
//
// Shared data (CAS from 1, 0 unconditional) and shared queues (on_queue_ready posted to the
// root context that registered last) are process wide; Config.SharedWith puts hosts in one
// process, so a plugin resolves and enqueues to the queues another vm_id registered, and
// Config.Singleton makes a bootstrap service's single VM for workers to enqueue to. Metrics
// are aggregated by name across the workers of a host (not across hosts); StatsTags applies
// Envoy's stats_config.stats_tags to their names (regex tag extraction, as /stats/prometheus
// shows them), with stepgate's envoy.yaml rules in StepgateStatsTags. Each VM runs one
// callback at a time. Ticks are per root context and re-arm one period
// after they fire. proxy_http_call goes to Config.Clusters by name and answers on the calling
// plugin's root context, with Envoy's 503/504 answers for unreachable or slow upstreams.
// WASI is Envoy's: stdout at info and stderr at error in the plugin log, realtime and monotonic
// clocks from Config.Clock, no args, environment from Config.Env, no preopens, stubs for the
// rest; Config.LegacyWASI reproduces releases whose poll_oneoff returned ENOSYS.
//
// # Not provided
//
//   - gRPC: proxy_grpc_call, proxy_grpc_stream, proxy_grpc_send, proxy_grpc_cancel and
//     proxy_grpc_close answer UNIMPLEMENTED; local replies are never gRPC-encoded.
//   - Network (TCP) filters: hostsim is an HTTP filter host (envoy.filters.http.wasm). A module
//     that exports L4 callbacks (proxy_on_new_connection, proxy_on_downstream_data, ...) and
//     no HTTP callback is refused at load with a message naming them. Modules exporting both
//     sets (every proxy-wasm-go-sdk build) load; if the plugin then makes only TCP contexts,
//     its first HTTP callback traps and the stream gets 503, as in Envoy. The L4 callbacks are
//     never driven and the downstream/upstream data buffers read empty.
//   - ABI 0.1.0 modules are refused.
//   - Foreign functions: compress, uncompress and clear_route_cache work. compress returns
//     valid zlib (RFC 1950) at the default level, with zlib's 78 9c header, but its deflate
//     bytes come from Go's compress/flate and differ from zlib's compress() (Go ends the
//     stream with an empty stored block, and matches strings differently; an Envoy built
//     with --define zlib=ng differs from classic zlib too): uncompress any of them, never
//     compare compressed bytes. Envoy's
//     set_envoy_filter_state, declare_property, sign, verify_signature and expr_create,
//     expr_evaluate, expr_delete answer UNIMPLEMENTED; other names NOT_FOUND.
//     env.envoy_resolve_dns answers UNIMPLEMENTED.
//   - Attributes are those of current Envoy: route and cluster names are xds.route_name and
//     xds.cluster_name (the old top-level route_name and cluster_name are NOT_FOUND there too).
//   - Attributes backed by protobufs (metadata, xds.node, cluster/route/listener metadata,
//     upstream TLS facts) are not modelled: supply them with WithProperty.
//   - Envoy options: failure_policy FAIL_RELOAD, capability restrictions, imported memories or
//     tables. allow_on_headers_stop_iteration is off by default, as in Envoy, and set with
//     Config.AllowOnHeadersStopIteration.
//   - Flow control: StopAllIterationAndWatermark and StopIterationAndWatermark buffer without
//     limit (Envoy would stop reading); proxy_continue_stream called inside the callback that
//     pauses resumes right after it.
//   - Logs: by default hostsim keeps every level while proxy_get_log_level answers info
//     (Envoy's default); Config.LogLevel drops lower lines as Envoy does. Each LogEntry has
//     the host clock's time; Host.LogLine prints it in Envoy's shape ("[time][info][wasm]
//     wasm log <plugin> <root_id> <vm_id>: msg") without Envoy's thread id and source
//     location.
//   - HTTP calls run in real time even on a VirtualClock, and a plugin that sleeps spins on
//     poll_oneoff until the clock passes its deadline (forever on a VirtualClock).
package hostsim
