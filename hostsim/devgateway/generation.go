package devgateway

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/stepgate/stepgate/hostsim"
)

// generation is one plugin configuration running: a hostsim host and the proxy in front of
// it. A reload starts a new generation; the old one finishes its in-flight requests and closes.
type generation struct {
	host     *hostsim.Host
	proxy    *hostsim.Proxy
	config   []byte
	clusters map[string]string

	active   int  // requests in flight (under Gateway.mu)
	retiring bool // replaced: closes once active drops to 0
	drained  chan struct{}
	folded   bool // its metrics moved to Gateway.retired
}

// newGeneration starts the plugin with config. An error is the plugin's refusal.
func (g *Gateway) newGeneration(ctx context.Context, config []byte) (*generation, error) {
	clusters := g.clusterMap(config)
	var prev *hostsim.Host // shared data (rate-limit buckets) outlives a reload, as in Envoy
	g.mu.Lock()
	if g.cur != nil {
		prev = g.cur.host
	}
	g.mu.Unlock()
	logs := &startLog{print: g.pluginLog}
	h, err := hostsim.New(ctx, hostsim.Config{
		SharedWith:   prev,
		Module:       g.cfg.Module,
		PluginConfig: config,
		VMConfig:     g.cfg.VMConfig,
		PluginName:   g.cfg.PluginName, RootID: g.cfg.RootID, VMID: g.cfg.VMID,
		Workers:     g.cfg.Workers,
		Clock:       g.cfg.Clock,
		Clusters:    clusters,
		BufferLimit: g.cfg.BufferLimit,
		FailOpen:    g.cfg.FailOpen,
		LogLevel:    g.cfg.LogLevel,
		OnLog:       logs.onLog,

		StreamIdleTimeout: g.cfg.StreamIdleTimeout,
		RouteTimeout:      g.cfg.RouteTimeout,
		RequestTimeout:    g.cfg.RequestTimeout,

		AllowOnHeadersStopIteration: g.cfg.AllowOnHeadersStopIteration,
	})
	logs.started(err != nil)
	if err != nil {
		return nil, err
	}
	gen := &generation{host: h, config: config, clusters: clusters, drained: make(chan struct{})}
	gen.proxy = &hostsim.Proxy{
		Host:  h,
		Route: g.route,
		// The catch-all's direct_response has no timeout.
		RouteTimeouts: g.routeTimeouts(),
		Transport:     &upstreamTransport{g: g, base: g.transport},
		ErrorLog:      g.errorLog(),
	}
	return gen, nil
}

// routeTimeouts is Config.RouteTimeouts for hostsim.Proxy.
func (g *Gateway) routeTimeouts() map[string]time.Duration {
	out := maps.Clone(g.cfg.RouteTimeouts)
	if out == nil {
		out = map[string]time.Duration{}
	}
	out[unroutedCluster] = -1
	return out
}

// Generations is the number of plugin configurations running: the current one and those still
// finishing their requests.
func (g *Gateway) Generations() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.live)
}

// clusterMap is Config.Clusters, plus https://<host> for the real providers (with keys that are
// not placeholders) and the mocks for the other provider clusters it lacks when Mock is on, plus
// the internal cluster of the catch-all route. It warns about provider clusters
// that no request can reach.
func (g *Gateway) clusterMap(config []byte) map[string]string {
	clusters := maps.Clone(g.cfg.Clusters)
	if clusters == nil {
		clusters = map[string]string{}
	}
	for _, p := range providerClusters(config) {
		if !providerClusterName.MatchString(p.cluster) {
			g.logf("devgateway: providers.%s.cluster %q does not match %s: envoy.yaml's route never selects it, so its requests get the catch-all 404",
				p.provider, p.cluster, providerClusterName)
			continue
		}
		if _, ok := clusters[p.cluster]; ok {
			continue
		}
		if p.real() {
			clusters[p.cluster] = p.url()
			continue
		}
		if g.mock != nil {
			clusters[p.cluster] = g.mock.url
			continue
		}
		g.logf("devgateway: providers.%s.cluster %q has no URL: its requests get 503 (map it with Clusters, give the provider its real keys, or turn Mock on)", p.provider, p.cluster)
	}
	g.mapMCPClusters(config, clusters)
	clusters[unroutedCluster] = unroutedURL
	return clusters
}

// pluginLog prints a plugin (or hostsim) log line: in Envoy's shape, or with PresetStepgate
// in the gateway's short one.
func (g *Gateway) pluginLog(e hostsim.LogEntry) {
	who := "wasm"
	if e.Host {
		who = "hostsim"
	}
	if g.cfg.stepgate() {
		g.logf("[%s][%s] %s", who, e.Level, e.Message)
	} else {
		g.logf("%s", hostsim.FormatLogLine(e, g.cfg.PluginName, e.RootID, g.cfg.VMID))
	}
	if g.calls != nil && !e.Host && isCallRecord(e.Message) {
		if err := g.calls.write(e.Message); err != nil {
			g.logf("%v", err)
		}
	}
}

// acquire counts a request against the current generation.
func (g *Gateway) acquire() *generation {
	g.mu.Lock()
	defer g.mu.Unlock()
	gen := g.cur
	gen.active++
	return gen
}

func (g *Gateway) release(gen *generation) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gen.active--
	if gen.retiring && gen.active == 0 {
		close(gen.drained)
	}
}

// replace makes next the current generation and retires the previous one once its requests
// have finished.
func (g *Gateway) replace(next *generation) {
	g.mu.Lock()
	old := g.cur
	g.cur = next
	g.live = append(g.live, next)
	old.retiring = true
	if old.active == 0 {
		close(old.drained)
	}
	g.mu.Unlock()
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		select {
		case <-old.drained:
		case <-g.stop: // Shutdown retires every generation itself
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		g.retire(ctx, old)
	}()
}

// retire closes gen's host and keeps its counters and histograms, as Envoy's stats store keeps
// them across configuration changes.
func (g *Gateway) retire(ctx context.Context, gen *generation) {
	if err := gen.host.Close(ctx); err != nil {
		g.logf("devgateway: closing a plugin generation: %v", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if gen.folded {
		return
	}
	gen.folded = true
	g.live = slices.DeleteFunc(g.live, func(x *generation) bool { return x == gen })
	for _, m := range gen.host.Metrics() {
		if m.Type == "gauge" {
			continue // what a closed plugin measured right now is gone with it
		}
		g.retired[m.Name] = mergeMetric(g.retired[m.Name], m)
	}
}

// Metrics lists the plugin's metrics as the admin endpoints show them: counters and
// histograms summed over every configuration the gateway has run, gauges over the running ones.
func (g *Gateway) Metrics() []hostsim.Metric {
	g.mu.Lock()
	defer g.mu.Unlock()
	merged := maps.Clone(g.retired)
	for _, gen := range g.live {
		for _, m := range gen.host.Metrics() {
			merged[m.Name] = mergeMetric(merged[m.Name], m)
		}
	}
	out := slices.Collect(maps.Values(merged))
	slices.SortFunc(out, func(a, b hostsim.Metric) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// mergeMetric adds m to acc (the zero Metric when absent).
func mergeMetric(acc, m hostsim.Metric) hostsim.Metric {
	if acc.Name == "" {
		m.Buckets = slices.Clone(m.Buckets)
		m.Samples = slices.Clone(m.Samples)
		return m
	}
	if acc.Type != m.Type {
		// A metric redefined with another type: Envoy keeps the first definition.
		return acc
	}
	acc.Value += m.Value
	acc.Count += m.Count
	acc.Sum += m.Sum
	buckets := make([]uint64, max(len(acc.Buckets), len(m.Buckets))) // never into a slice acc shares
	for i := range buckets {
		if i < len(acc.Buckets) {
			buckets[i] += acc.Buckets[i]
		}
		if i < len(m.Buckets) {
			buckets[i] += m.Buckets[i]
		}
	}
	acc.Buckets = buckets
	samples := slices.Concat(acc.Samples, m.Samples)
	acc.Samples = samples[max(0, len(samples)-hostsim.MaxHistogramSamples):]
	return acc
}
