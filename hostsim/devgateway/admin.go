package devgateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"

	"github.com/stepgate/stepgate/hostsim"
)

// adminEndpoints are the admin paths served, with Envoy's help text where Envoy has them.
var adminEndpoints = [][2]string{
	{"/ready", "print server state, return 200 if LIVE, otherwise return 503"},
	{"/stats", "print server stats (the plugin's metrics, memory of the process and of each VM); ?filter=REGEX, ?usedonly, ?format=json"},
	{"/stats/prometheus", "print server stats in prometheus format; ?filter=REGEX, ?usedonly"},
	{"/config", "the plugin configuration in force, secrets redacted (dev gateway only)"},
	{"/clusters", "cluster name = URL, one per line (dev gateway only)"},
}

// AdminHandler serves the admin endpoints (what AdminListen serves).
func (g *Gateway) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", g.serveReady)
	mux.HandleFunc("GET /stats", g.serveStats)
	mux.HandleFunc("GET /stats/prometheus", g.servePrometheus)
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(redactConfig(g.PluginConfig())) // provider keys never leave the process
	})
	mux.HandleFunc("GET /clusters", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		clusters := g.Clusters()
		for _, name := range slices.Sorted(maps.Keys(clusters)) {
			fmt.Fprintf(w, "%s = %s\n", name, clusters[name])
		}
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		fmt.Fprintln(w, "stepgate dev gateway admin commands are:")
		for _, e := range adminEndpoints {
			fmt.Fprintf(w, "  %s: %s\n", e[0], e[1])
		}
	})
	return mux
}

// serveReady answers like Envoy's /ready: 200 LIVE while serving, 503 DRAINING once shutting
// down.
func (g *Gateway) serveReady(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	closing := g.closing
	g.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	if closing {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "DRAINING")
		return
	}
	fmt.Fprintln(w, "LIVE")
}

func (g *Gateway) serveStats(w http.ResponseWriter, r *http.Request) {
	metrics, ok := g.selectMetrics(w, r)
	if !ok {
		return
	}
	switch r.URL.Query().Get("format") {
	case "":
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		WriteStats(w, metrics)
		writeServerStats(w, g.serverStats(r.URL.Query().Get("filter")))
	case "prometheus":
		g.writePrometheus(w, metrics)
	case "json":
		w.Header().Set("Content-Type", "application/json")
		w.Write(withServerStats(statsJSON(metrics), g.serverStats(r.URL.Query().Get("filter"))))
	default:
		http.Error(w, "usage: /stats?format=(json|prometheus)", http.StatusBadRequest)
	}
}

func (g *Gateway) servePrometheus(w http.ResponseWriter, r *http.Request) {
	if metrics, ok := g.selectMetrics(w, r); ok {
		g.writePrometheus(w, metrics)
	}
}

// noStatsTags extracts no tag.
var noStatsTags, _ = hostsim.NewStatsTags(nil)

func (g *Gateway) writePrometheus(w http.ResponseWriter, metrics []hostsim.Metric) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b bytes.Buffer
	switch tags := g.cfg.StatsTags; {
	case tags != nil:
		WritePrometheusTags(&b, metrics, tags)
	case g.cfg.stepgate():
		WritePrometheus(&b, metrics)
	default: // no stats_tags
		WritePrometheusTags(&b, metrics, noStatsTags)
	}
	w.Write(b.Bytes())
}

// selectMetrics applies Envoy's ?filter=REGEX (matched against the full stat name,
// "wasmcustom.<name>") and ?usedonly (stats that were ever written: counters and gauges not 0,
// histograms with samples).
func (g *Gateway) selectMetrics(w http.ResponseWriter, r *http.Request) ([]hostsim.Metric, bool) {
	q := r.URL.Query()
	var re *regexp.Regexp
	if f := q.Get("filter"); f != "" {
		var err error
		if re, err = regexp.Compile(f); err != nil {
			http.Error(w, "Invalid re2 regex", http.StatusBadRequest)
			return nil, false
		}
	}
	_, usedOnly := q["usedonly"]
	var out []hostsim.Metric
	for _, m := range g.Metrics() {
		if re != nil && !re.MatchString(customPrefix+m.Name) {
			continue
		}
		if usedOnly && m.Value == 0 && m.Count == 0 {
			continue
		}
		out = append(out, m)
	}
	return out, true
}

// statsJSON is /stats?format=json for counters and gauges ({"stats":[{"name","value"}]});
// histograms are listed by name with their sample count and sum.
func statsJSON(metrics []hostsim.Metric) []byte {
	type stat struct {
		Name  string  `json:"name"`
		Value *uint64 `json:"value,omitempty"`
		Count *uint64 `json:"count,omitempty"`
		Sum   *uint64 `json:"sum,omitempty"`
	}
	out := struct {
		Stats []stat `json:"stats"`
	}{Stats: []stat{}}
	for _, m := range metrics {
		s := stat{Name: customPrefix + m.Name}
		if m.Type == "histogram" {
			n, sum := m.Count, m.Sum
			s.Count, s.Sum = &n, &sum
		} else {
			v := m.Value
			s.Value = &v
		}
		out.Stats = append(out.Stats, s)
	}
	b, _ := json.Marshal(out)
	return b
}
