package devgateway

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// Config describes a dev gateway.
type Config struct {
	// Module is the filter's .wasm bytes (required).
	Module []byte
	// PluginConfig is the plugin's JSON configuration.
	PluginConfig []byte
	// ConfigPath, if set, is where the plugin configuration is read from instead of
	// PluginConfig. The gateway then watches the file (its modification time and size, every
	// ReloadInterval) and reloads when it changes: a configuration the plugin refuses is logged
	// with the plugin's own error and the running one keeps serving.
	ConfigPath string
	// ReloadInterval is how often ConfigPath is checked (default 500ms).
	ReloadInterval time.Duration
	// OnReload, if set, is called after each reload attempt triggered by a change of
	// ConfigPath, with nil or the reason the new configuration was refused.
	OnReload func(error)

	// Listen is the gateway's address (default "127.0.0.1:10000"; port 0 picks a free one).
	Listen string
	// AdminListen is the admin address (default "127.0.0.1:9901"; "-" disables the admin
	// listener, AdminHandler still serves the same endpoints).
	AdminListen string
	// Workers is the number of worker VMs (default 2).
	Workers int
	// Clusters maps Envoy cluster names to base URLs ("http://127.0.0.1:8080"). A provider
	// cluster it does not map goes to https://<host> if the provider is real (a host and keys,
	// none of them a placeholder containing REPLACE-ME, and no "mock" in its name or cluster),
	// with or without Mock; Mock never captures those.
	Clusters map[string]string
	// DefaultCluster, if set, receives the requests the filter did not route to a provider
	// cluster, instead of envoy.yaml's catch-all 404.
	DefaultCluster string
	// Mock starts the mock providers of mockprovider (all of them, on one loopback port)
	// and maps every cluster named by the plugin configuration's providers.<name>.cluster that
	// Clusters does not map to them. The mocks accept the api_key and api_keys of the plugin
	// configuration's providers. It also serves the demo MCP server (mcpdemo) for every
	// mcp.servers.<name>.cluster that Clusters does not map.
	Mock bool
	// Clock drives the plugin's clocks and ticks (default: real time).
	Clock hostsim.Clock
	// Logf prints the gateway's and the plugin's log lines (default log.Printf).
	Logf func(format string, args ...any)
	// AccessLog prints one line per request, with envoy.yaml's access log fields.
	AccessLog bool
	// CallLog, if set, is a file the filter's call records (docs/CALL-RECORD.md) are appended
	// to as JSON lines, besides the log. It is rotated when it would grow over CallLogMaxBytes
	// (default 100 MiB): FILE becomes FILE.1, FILE.1 FILE.2, up to FILE.3.
	CallLog         string
	CallLogMaxBytes int64
	// Preset picks the defaults of the settings below that are left at their zero value
	// (PresetStepgate when empty); see PresetStepgate and PresetEnvoy.
	Preset Preset
	// PluginName, RootID and VMID are the filter's config.name, config.root_id and
	// vm_config.vm_id (all "stepgate" with PresetStepgate when none is set).
	PluginName, RootID, VMID string
	// VMConfig is vm_config.configuration, what the plugin reads in proxy_on_vm_start.
	VMConfig []byte
	// FailOpen is failure_policy FAIL_OPEN: after a VM failure requests pass untouched
	// instead of getting 503.
	FailOpen bool
	// BufferLimit is per_connection_buffer_limit_bytes (PresetStepgate: 5 MiB; otherwise
	// Envoy's 1 MiB).
	BufferLimit int
	// LogLevel is Envoy's wasm log level: lower plugin lines are dropped (the zero value,
	// trace, keeps every line).
	LogLevel hostsim.LogLevel
	// StatsTags are the stats_config.stats_tags /stats/prometheus applies (nil: envoy.yaml's
	// with PresetStepgate, none otherwise).
	StatsTags *hostsim.StatsTags

	// AllowOnHeadersStopIteration is Envoy's allow_on_headers_stop_iteration, which
	// envoy/envoy.yaml turns on: a filter that pauses the request headers still receives the
	// request body. stepgate's filter needs it (it reads the model from the body before it
	// rewrites the headers); without it such requests wait for the body forever.
	AllowOnHeadersStopIteration bool

	// StreamIdleTimeout is envoy.yaml's stream_idle_timeout (default 300 s; negative disables
	// it): a request whose client stops sending, or that the filter holds with nothing sent
	// back, ends with 408 (or 504 once the request was complete) "stream timeout".
	StreamIdleTimeout time.Duration
	// RouteTimeout is envoy.yaml's provider route timeout (default 300 s; negative disables
	// it): from the end of the request to the end of the upstream's response, else 504
	// "upstream request timeout". RouteTimeouts overrides it per cluster.
	RouteTimeout  time.Duration
	RouteTimeouts map[string]time.Duration
	// RequestTimeout is the connection manager's request_timeout: the whole request must
	// arrive within it, else 408 "request timeout" (default none, as envoy.yaml).
	RequestTimeout time.Duration
}

const (
	defaultListen      = "127.0.0.1:10000"
	defaultAdminListen = "127.0.0.1:9901"
	defaultWorkers     = 2
	defaultReload      = 500 * time.Millisecond
	// defaultRouteTimeout is envoy.yaml's provider route timeout (Envoy's own default is 15 s).
	defaultRouteTimeout = 300 * time.Second
)

// Gateway is a running dev gateway.
type Gateway struct {
	cfg       Config
	logf      func(string, ...any)
	transport *http.Transport
	mock      *mockServer
	mcpDemo   *demoServer
	calls     *callLog // nil without Config.CallLog

	ln, adminLn net.Listener
	srv, admin  *http.Server

	reloadMu sync.Mutex // one reload at a time
	mu       sync.Mutex // guards the fields below
	cur      *generation
	live     []*generation             // cur and the generations still draining
	retired  map[string]hostsim.Metric // counters and histograms of closed generations
	closing  bool

	stop     chan struct{} // closed by Shutdown
	bg       sync.WaitGroup
	shutOnce sync.Once
	shutErr  error
}

// Start loads the filter, starts the mock providers if asked, and serves. ctx bounds the start
// only (loading and configuring the plugin); Close stops the gateway. A configuration the plugin
// refuses fails Start with the plugin's error.
func Start(ctx context.Context, cfg Config) (*Gateway, error) {
	if len(cfg.Module) == 0 {
		return nil, errors.New("devgateway: Config.Module is empty")
	}
	cfg = withPreset(withDefaults(cfg))
	g := &Gateway{cfg: cfg, logf: cfg.Logf, retired: map[string]hostsim.Metric{}, stop: make(chan struct{})}
	// The file's stamp is taken before it is read, and here rather than in the watcher: a change
	// made once Start has read the file must be seen as a change, however late the watcher runs.
	var stamp fileStamp
	if cfg.ConfigPath != "" {
		stamp, _ = statStamp(cfg.ConfigPath)
		data, err := os.ReadFile(cfg.ConfigPath)
		if err != nil {
			return nil, fmt.Errorf("devgateway: %w", err)
		}
		g.cfg.PluginConfig = data
	}
	g.transport = newTransport()
	ok := false
	defer func() {
		if !ok {
			g.abort()
		}
	}()
	if cfg.CallLog != "" {
		c, err := openCallLog(cfg.CallLog, cfg.CallLogMaxBytes)
		if err != nil {
			return nil, err
		}
		g.calls = c
	}
	if cfg.Mock {
		m, err := startMock(providerKeys(g.cfg.PluginConfig), awsSecrets(g.cfg.PluginConfig))
		if err != nil {
			return nil, err
		}
		g.mock = m
		if g.mcpDemo, err = startMCPDemo(); err != nil {
			return nil, err
		}
	}
	if !cfg.AllowOnHeadersStopIteration && cfg.stepgate() {
		g.logf("devgateway: AllowOnHeadersStopIteration is off: a filter that pauses request headers never sees the body (envoy/envoy.yaml turns it on)")
	}
	var err error
	if g.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("devgateway: listen: %w", err)
	}
	if cfg.AdminListen != "-" {
		if g.adminLn, err = net.Listen("tcp", cfg.AdminListen); err != nil {
			return nil, fmt.Errorf("devgateway: admin listen: %w", err)
		}
	}
	gen, err := g.newGeneration(ctx, g.cfg.PluginConfig)
	if err != nil {
		return nil, err
	}
	g.cur, g.live = gen, []*generation{gen}
	g.serve()
	if cfg.ConfigPath != "" {
		g.bg.Add(1)
		go g.watch(stamp)
	}
	ok = true
	return g, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Listen == "" {
		cfg.Listen = defaultListen
	}
	if cfg.AdminListen == "" {
		cfg.AdminListen = defaultAdminListen
	}
	if cfg.Workers <= 0 {
		cfg.Workers = defaultWorkers
	}
	if cfg.ReloadInterval <= 0 {
		cfg.ReloadInterval = defaultReload
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.RouteTimeout == 0 {
		cfg.RouteTimeout = defaultRouteTimeout
	}
	return cfg
}

// newTransport is the router's connection pool to the upstreams.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.ResponseHeaderTimeout = 0
	return t
}

func (g *Gateway) serve() {
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second, ErrorLog: g.errorLog()}
	// codec_type AUTO: HTTP/1.1 and HTTP/2 with prior knowledge, both in clear text.
	g.srv.Protocols = new(http.Protocols)
	g.srv.Protocols.SetHTTP1(true)
	g.srv.Protocols.SetUnencryptedHTTP2(true)
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		if err := g.srv.Serve(g.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.logf("devgateway: serve: %v", err)
		}
	}()
	if g.adminLn == nil {
		return
	}
	g.admin = &http.Server{Handler: g.AdminHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: g.errorLog()}
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		if err := g.admin.Serve(g.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.logf("devgateway: admin serve: %v", err)
		}
	}()
}

// URL is the gateway's base URL, "http://127.0.0.1:PORT".
func (g *Gateway) URL() string { return "http://" + g.ln.Addr().String() }

// AdminURL is the admin listener's base URL ("" when it is disabled).
func (g *Gateway) AdminURL() string {
	if g.adminLn == nil {
		return ""
	}
	return "http://" + g.adminLn.Addr().String()
}

// Host is the hostsim host serving new requests (after a reload, the new one).
func (g *Gateway) Host() *hostsim.Host {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur.host
}

// PluginConfig is the plugin configuration in force.
func (g *Gateway) PluginConfig() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur.config
}

// Clusters is the cluster map in force: Config.Clusters plus the clusters mapped to the mocks.
func (g *Gateway) Clusters() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]string, len(g.cur.clusters))
	for k, v := range g.cur.clusters {
		if k != unroutedCluster {
			out[k] = v
		}
	}
	return out
}

// Mock is the mock providers' mux (nil without Config.Mock), for tests that inspect the
// requests the providers received or program faults. A reload that brings new provider keys
// replaces it (the new one accepts the old keys too).
func (g *Gateway) Mock() *mockprovider.Mux {
	if g.mock == nil {
		return nil
	}
	return g.mock.current()
}

// MockURL is the mock providers' base URL ("" without Config.Mock); its /__mock/ endpoints
// control them over HTTP.
func (g *Gateway) MockURL() string {
	if g.mock == nil {
		return ""
	}
	return g.mock.url
}

// Close shuts the gateway down, giving in-flight requests up to 10 seconds.
func (g *Gateway) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return g.Shutdown(ctx)
}

// Shutdown stops accepting requests (/ready turns to 503 DRAINING), waits for in-flight requests
// until ctx ends (then drops them), and closes the plugin, the mocks and the listeners.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.shutOnce.Do(func() { g.shutErr = g.shutdown(ctx) })
	return g.shutErr
}

func (g *Gateway) shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	close(g.stop)
	var errs []error
	if err := g.srv.Shutdown(ctx); err != nil {
		g.srv.Close()
		errs = append(errs, fmt.Errorf("devgateway: in-flight requests: %w", err))
	}
	g.mu.Lock()
	live := append([]*generation(nil), g.live...)
	g.mu.Unlock()
	for _, gen := range live {
		g.retire(ctx, gen)
	}
	if g.admin != nil {
		g.admin.Close()
	}
	if g.mock != nil {
		g.mock.close()
	}
	g.mcpDemo.close()
	g.transport.CloseIdleConnections()
	g.bg.Wait()
	if g.calls != nil {
		if err := g.calls.close(); err != nil {
			errs = append(errs, fmt.Errorf("devgateway: call log: %w", err))
		}
	}
	return errors.Join(errs...)
}

// abort undoes a failed Start.
func (g *Gateway) abort() {
	for _, ln := range []net.Listener{g.ln, g.adminLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if g.mock != nil {
		g.mock.close()
	}
	g.mcpDemo.close()
	if g.calls != nil {
		g.calls.close()
	}
}

// ServeHTTP runs one request through the filter: the connection manager's part (path
// normalization, x-forwarded-for) here, the filter and the router in hostsim.Proxy.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	gen := g.acquire()
	defer g.release(gen)
	normalizeRequestPath(r)
	appendForwardedFor(r)
	if g.cfg.AccessLog {
		al := &accessLogger{ResponseWriter: w, start: time.Now(), status: http.StatusOK}
		r = al.withContext(r)
		defer al.log(g.logf, r)
		w = al
	}
	gen.proxy.ServeHTTP(w, r)
}

func (g *Gateway) errorLog() *log.Logger {
	return log.New(logfWriter(g.logf), "", 0)
}

// logfWriter turns a log.Logger's output into Logf calls.
type logfWriter func(string, ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
