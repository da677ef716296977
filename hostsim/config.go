package hostsim

import (
	"os"
	"path/filepath"
	"time"
)

// Config describes one plugin and the Envoy that runs it (one http filter entry: a vm_config
// and a plugin configuration).
type Config struct {
	// Module is the .wasm file's bytes (required).
	Module []byte
	// PluginConfig is the plugin configuration (config.configuration), readable by the plugin
	// only inside proxy_on_configure.
	PluginConfig []byte
	// VMConfig is the VM configuration (config.vm_config.configuration).
	VMConfig []byte
	// Env is the VM's environment (vm_config.environment_variables.key_values).
	Env map[string]string

	// PluginName, RootID and VMID are config.name, config.root_id and vm_config.vm_id; they
	// show in the plugin_name/plugin_root_id/plugin_vm_id properties and log prefixes, and
	// VMID partitions shared data and shared queues.
	PluginName string
	RootID     string
	VMID       string
	// Plugins are further http filters running the same module on the same VMs, each with its
	// own root context (root ids from 2 on, in this order); a stream picks one with
	// WithPlugin.
	Plugins []Plugin

	// Workers is the number of worker threads, each with its own VM (default 1).
	Workers int
	// Clock supplies time and drives ticks (default RealClock()).
	Clock Clock

	// Clusters maps Envoy cluster names to base URLs ("http://127.0.0.1:8080"): the targets of
	// proxy_http_call and of Proxy. proxy_http_call to a cluster not listed is BAD_ARGUMENT.
	Clusters map[string]string

	// FailOpen lets traffic through when the VM has failed, instead of answering 503
	// (failure_policy FAIL_OPEN, formerly fail_open: true).
	FailOpen bool
	// LegacyWASI reproduces Envoy releases whose proxy-wasm-cpp-host predates PR #533 (before
	// April 2026, from PR #427 on): a smaller WASI function set and a poll_oneoff that fails
	// with ENOSYS (52), which a Go module survives only if its runtime never polls.
	LegacyWASI bool
	// SharedWith, if set, puts this host in the same Envoy process as that one: it uses that
	// host's shared data and shared queues instead of empty ones. Both live per vm_id, not per
	// plugin instance, so state such as rate-limit buckets survives a reload, and a plugin
	// resolves and enqueues to queues another plugin (another vm_id) registered, its
	// on_queue_ready running on the registering host's VM.
	SharedWith *Host
	// Singleton makes the host a bootstrap wasm service with singleton: true
	// (bootstrap_extensions envoy.bootstrap.wasm): one VM, Envoy's main thread, whatever
	// Workers says. Such a service has no HTTP streams; it lives on its root context (ticks,
	// queues, callouts), typically receiving what worker plugins enqueue to its queues (pass
	// it as their SharedWith).
	Singleton bool
	// AllowOnHeadersStopIteration is the wasm filter's allow_on_headers_stop_iteration (Envoy
	// 1.35+): a headers callback's Stop (1) holds only the headers, and body and trailers still
	// reach the plugin, which may then rewrite the held headers. Without it Envoy turns that Stop
	// into StopAllIterationAndWatermark and the plugin sees no body until it continues. Plugins
	// that decide on the body (stepgate) need it.
	AllowOnHeadersStopIteration bool
	// BufferLimit is the per-stream buffer limit for bodies a plugin makes Envoy buffer
	// (per_connection_buffer_limit_bytes, default 1 MiB). Going over it answers 413 on the
	// request path and 500 on the response path.
	BufferLimit int
	// StreamIdleTimeout is the connection manager's stream_idle_timeout (default 300 s, Envoy's;
	// negative disables it, as Envoy's 0s does). A stream with nothing from the client and
	// nothing sent to it for that long ends with a local reply "stream timeout" (details
	// stream_idle_timeout): 408 while the request is incomplete, 504 once all of it arrived
	// (Envoy's maybeRequestTimeoutCode), or a reset once response headers reached the client.
	StreamIdleTimeout time.Duration
	// RequestTimeout is the connection manager's request_timeout (default 0: none, as in
	// Envoy): the whole request must arrive within it from the stream's start, or the client gets
	// 408 "request timeout" (details request_overall_timeout).
	RequestTimeout time.Duration
	// RouteTimeout is the route's timeout (default 15 s, Envoy's; negative disables it). It runs
	// from the end of the request leaving the filter to the end of the upstream response; on
	// expiry the router answers 504 "upstream request timeout" (details
	// upstream_response_timeout), or resets the stream once upstream response headers came.
	// Proxy.RouteTimeouts sets it per cluster.
	RouteTimeout time.Duration

	// CompilationCacheDir keeps compiled modules across processes (default
	// os.UserCacheDir()/stepgate-hostsim; "-" disables the on-disk cache).
	CompilationCacheDir string
	// LogLevel is the level of Envoy's wasm logger (--component-log-level wasm:LEVEL): lines
	// below it are dropped, as Envoy never writes them, and proxy_get_log_level answers it.
	// The zero value, LevelTrace, keeps every line while proxy_get_log_level answers info;
	// LevelInfo is what a default Envoy shows (no debug lines).
	LogLevel LogLevel
	// OnLog, if set, receives every log line as it is written (the dev gateway prints them).
	OnLog func(LogEntry)
	// LogCapacity bounds the log lines kept for Logs (default 10000, oldest dropped first).
	LogCapacity int
	// HTTPClient performs proxy_http_call requests (default: a client with no overall timeout;
	// the plugin's timeout applies per call).
	HTTPClient HTTPDoer
}

const (
	defaultBufferLimit       = 1 << 20
	defaultLogCapacity       = 10000
	defaultStreamIdleTimeout = 300 * time.Second
	defaultRouteTimeout      = 15 * time.Second
)

func (c *Config) withDefaults() {
	if c.Workers <= 0 || c.Singleton {
		c.Workers = 1
	}
	if c.Clock == nil {
		c.Clock = RealClock()
	}
	if c.BufferLimit <= 0 {
		c.BufferLimit = defaultBufferLimit
	}
	if c.StreamIdleTimeout == 0 {
		c.StreamIdleTimeout = defaultStreamIdleTimeout
	}
	if c.RouteTimeout == 0 {
		c.RouteTimeout = defaultRouteTimeout
	}
	if c.LogCapacity <= 0 {
		c.LogCapacity = defaultLogCapacity
	}
	if c.CompilationCacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			c.CompilationCacheDir = filepath.Join(dir, "stepgate-hostsim")
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient
	}
}
