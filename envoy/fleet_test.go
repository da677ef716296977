package envoy_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/plugin/config"
	"github.com/stepgate/stepgate/plugin/fleet"
)

// TestFleetRulesMatchTheService: every fleet rule of stepgate.json leases from a descriptor that
// envoy/ratelimit/config.yaml limits with the rule's own window and count, through an envoy.yaml
// cluster that reaches the compose ratelimit service's HTTP port with the configured authority.
func TestFleetRulesMatchTheService(t *testing.T) {
	cfg, err := config.Parse(readFile(t, pluginJSONPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Fleet.Rules) == 0 {
		t.Fatal("stepgate.json has no fleet rule: this test would check nothing")
	}
	rl := loadRateLimitConfig(t)
	if rl.Domain != cfg.Fleet.Domain {
		t.Errorf("fleet.domain %q, ratelimit config domain %q", cfg.Fleet.Domain, rl.Domain)
	}
	units := map[time.Duration]string{time.Second: "second", time.Minute: "minute", time.Hour: "hour", 24 * time.Hour: "day"}
	for _, r := range cfg.Fleet.Rules {
		ds := rl.Descriptors
		var leaf *rlDescriptor
		path := []entry{{"rule", r.Name}}
		for _, s := range r.Key {
			path = append(path, entry{s.String(), ""})
		}
		for i, e := range path {
			leaf = nil
			for j := range ds {
				if ds[j].Key == e.key && ds[j].Value == e.value {
					leaf = &ds[j]
				}
			}
			if leaf == nil {
				t.Fatalf("rule %s: no descriptor %s=%q at depth %d in %s", r.Name, e.key, e.value, i, ratelimitPath)
			}
			ds = leaf.Descriptors
		}
		l := leaf.RateLimit
		if l == nil || !strings.EqualFold(l.Unit, units[r.Window]) || int64(l.RequestsPerUnit) != r.Limit {
			t.Errorf("rule %s: rate %d per %s, but %s limits the descriptor to %+v", r.Name, r.Limit, units[r.Window], ratelimitPath, l)
		}
	}
	cl, ok := clusters(loadBootstrap(t))[cfg.Fleet.Cluster]
	if !ok {
		t.Fatalf("fleet.cluster %q is not an envoy.yaml cluster", cfg.Fleet.Cluster)
	}
	host, port := endpoint(t, cl)
	if want := net.JoinHostPort(host, strconv.Itoa(int(port))); cfg.Fleet.Authority != want {
		t.Errorf("fleet.authority %q, cluster %s connects to %s", cfg.Fleet.Authority, cfg.Fleet.Cluster, want)
	}
	httpPort := "8080" // ratelimit's default PORT
	if p, ok := loadCompose(t).Services[host].Environment["PORT"]; ok {
		httpPort = p
	}
	if strconv.Itoa(int(port)) != httpPort {
		t.Errorf("cluster %s sends to port %d, the %s service serves HTTP (%s) on %s", cfg.Fleet.Cluster, port, host, fleet.Path, httpPort)
	}
}
