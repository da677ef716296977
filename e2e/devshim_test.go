package e2e

// TEMPORARY: a stand-in for hostsim/devgateway until it lands; startDev will call devgateway.Start.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/e2e/mockprovider"
	"github.com/stepgate/stepgate/hostsim"
)

func startDev(t testing.TB, config []byte) (*gateway, func(), error) {
	mux := mockprovider.NewMux(mockprovider.Options{Keys: allProviderKeys(config)})
	mockSrv := httptest.NewServer(mux)
	clusters := map[string]string{}
	gjson.GetBytes(config, "providers").ForEach(func(_, p gjson.Result) bool {
		clusters[p.Get("cluster").String()] = mockSrv.URL
		return true
	})
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: filterWasm(t), PluginConfig: config, Workers: 2, Clusters: clusters,
		PluginName: "stepgate", AllowOnHeadersStopIteration: true,
	})
	if err != nil {
		mockSrv.Close()
		return nil, nil, err
	}
	gw := httptest.NewServer(&hostsim.Proxy{Host: h, ClusterHeader: "x-stepgate-cluster"})
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats/prometheus" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, shimProm(h.Metrics()))
	}))
	stop := func() {
		gw.Close()
		admin.Close()
		closeWithin(5*time.Second, func(ctx context.Context) { _ = h.Close(ctx) })
		mockSrv.Close()
	}
	return &gateway{URL: gw.URL, AdminURL: admin.URL, host: h, mocks: muxMocks{mux}}, stop, nil
}

var shimPair = regexp.MustCompile(`\.([a-z_]+)\.([^.]+)`)

func shimProm(ms []hostsim.Metric) string {
	var lines []string
	for _, m := range ms {
		name, tags, _ := strings.Cut(m.Name, ".")
		var labels []string
		for _, p := range shimPair.FindAllStringSubmatch("."+tags, -1) {
			labels = append(labels, fmt.Sprintf("%s=%q", p[1], p[2]))
		}
		if m.Type == "histogram" {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s{%s} %d", name, strings.Join(labels, ","), m.Value))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}
