package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// Fleet rules against the real components: Redis and envoyproxy/ratelimit on loopback, and two
// dev gateways (two Envoys, three worker VMs each) leasing from them.

// envRateLimitBin names the service binary (default build/bin/service_cmd, which .ci/run builds).
const envRateLimitBin = "STEPGATE_RATELIMIT_BIN"

const (
	fleetLimit    = 40 // per hour: no window boundary falls inside one run (see waitForWindow)
	fleetMaxBlock = 4
	fleetGateways = 2
)

var fleetPluginConfig = fmt.Sprintf(`{"log":{"access_log":false},"throttle":{"rules":[
  {"name":"fleet-closed","match":{"path_prefix":"/closed/"},"key":"header:x-tenant","rate":"%[1]d/hour","scope":"fleet",
   "fail":"closed","fleet":{"max_block":%[2]d,"timeout":"200ms","retry":"300ms"}},
  {"name":"fleet-open","match":{"path_prefix":"/open/"},"key":"header:x-tenant","rate":"%[1]d/hour","scope":"fleet",
   "fail":"open","fleet":{"max_block":%[2]d,"timeout":"200ms","retry":"300ms","fallback":"25%%"}}]}}`, fleetLimit, fleetMaxBlock)

// The service's configuration: the descriptors the filter sends, (rule, name) then (header:x-tenant, value).
var fleetServiceConfig = fmt.Sprintf(`domain: stepgate
descriptors:
  - key: rule
    value: fleet-closed
    descriptors:
      - key: header:x-tenant
        rate_limit: {unit: hour, requests_per_unit: %[1]d}
  - key: rule
    value: fleet-open
    descriptors:
      - key: header:x-tenant
        rate_limit: {unit: hour, requests_per_unit: %[1]d}
`, fleetLimit)

type fleetRig struct {
	t          *testing.T
	redisBin   string
	serviceBin string
	dir        string
	redisPort  int
	httpPort   int
	redis      *exec.Cmd
	service    *exec.Cmd
	gateways   []*devgateway.Gateway
}

func TestFleetQuotaWithRatelimitAndRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, the rate limit service and two gateways")
	}
	rig := newFleetRig(t)
	waitForWindow(t)
	rig.startRedis()
	rig.startService()
	rig.startGateways()

	t.Run("the fleet admits at most the limit plus one block per instance", func(t *testing.T) {
		ok, rejected := rig.burst("/closed/x", "bound", 3*fleetLimit)
		t.Logf("admitted %d of %d (limit %d, bound ±%d); others %v", ok, 3*fleetLimit, fleetLimit, fleetGateways*fleetMaxBlock, rejected)
		if ok > fleetLimit+fleetGateways*fleetMaxBlock || ok < fleetLimit-fleetGateways*fleetMaxBlock {
			t.Errorf("admitted %d of %d, want %d ± %d×%d", ok, 3*fleetLimit, fleetLimit, fleetGateways, fleetMaxBlock)
		}
		if rejected[429] != 3*fleetLimit-ok {
			t.Errorf("rejections %v, want only 429s", rejected)
		}
	})

	t.Run("service stopped: fail closed answers 503, fail open serves the fallback", func(t *testing.T) {
		rig.stop(rig.service)
		_, closed := rig.burst("/closed/x", "down", 10)
		if closed[503] != 10 {
			t.Errorf("fail closed while the service is down: %v, want 10 × 503", closed)
		}
		ok, _ := rig.burst("/open/x", "down", 3*fleetLimit)
		// Each gateway's fallback bucket holds 25% of the fleet limit.
		if want := fleetGateways * fleetLimit / 4; ok != want {
			t.Errorf("fail open while the service is down admitted %d, want %d", ok, want)
		}
	})

	t.Run("service restarted: enforcement resumes", func(t *testing.T) {
		rig.startService()
		rig.eventually(func() bool { return rig.everyGatewayAdmits("/closed/x", "back") })
		ok, rejected := rig.burst("/closed/x", "back", 2*fleetLimit)
		if ok > fleetLimit+fleetGateways*fleetMaxBlock || rejected[429] == 0 {
			t.Errorf("after the restart admitted %d (rejections %v)", ok, rejected)
		}
	})

	t.Run("Redis restarted: fail mode, then enforcement resumes", func(t *testing.T) {
		rig.stop(rig.redis)
		rig.eventually(func() bool { _, r := rig.burst("/closed/x", "redis", 1); return r[503] == 1 })
		rig.startRedis()
		// The service's pooled Redis connections fail once each after the restart, and each
		// failure puts a gateway in its fail mode until its next probe: wait until a burst on
		// a fresh key passes whole (a new key each try, so that no try spends the one measured).
		try := 0
		rig.eventually(func() bool {
			try++
			ok, _ := rig.burst("/closed/x", "redis-warm-"+strconv.Itoa(try), 12)
			return ok == 12
		})
		ok, rejected := rig.burst("/closed/x", "redis-back", 2*fleetLimit)
		if ok > fleetLimit+fleetGateways*fleetMaxBlock || rejected[429] == 0 {
			t.Errorf("after Redis restarted admitted %d (rejections %v)", ok, rejected)
		}
	})
}

// newFleetRig finds Redis and the service binary, or skips saying which is missing.
func newFleetRig(t *testing.T) *fleetRig {
	r := &fleetRig{t: t, dir: t.TempDir()}
	var err error
	if r.redisBin, err = exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
	}
	r.serviceBin = os.Getenv(envRateLimitBin)
	if r.serviceBin == "" {
		r.serviceBin, _ = filepath.Abs(filepath.Join("..", "build", "bin", "service_cmd"))
	}
	if _, err := os.Stat(r.serviceBin); err != nil {
		t.Skipf("the rate limit service binary %s is missing (.ci/run builds it; or set %s)", r.serviceBin, envRateLimitBin)
	}
	r.redisPort, r.httpPort = freePort(t), freePort(t)
	cfgDir := filepath.Join(r.dir, "ratelimit", "config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "stepgate.yaml"), []byte(fleetServiceConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, g := range r.gateways {
			_ = g.Close()
		}
		r.stop(r.service)
		r.stop(r.redis)
	})
	return r
}

// waitForWindow waits out the last seconds of an hour, so that one run stays in one window.
func waitForWindow(t *testing.T) {
	if left := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); left < 45*time.Second {
		t.Logf("waiting %v for the next hour's window", left)
		time.Sleep(left + time.Second)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *fleetRig) startRedis() {
	r.redis = r.start(exec.Command(r.redisBin, "--port", strconv.Itoa(r.redisPort), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no"))
	r.waitTCP(r.redisPort)
}

func (r *fleetRig) startService() {
	cmd := exec.Command(r.serviceBin)
	cmd.Env = append(os.Environ(),
		"HOST=127.0.0.1", "PORT="+strconv.Itoa(r.httpPort),
		"GRPC_HOST=127.0.0.1", "GRPC_PORT="+strconv.Itoa(freePort(r.t)),
		"DEBUG_HOST=127.0.0.1", "DEBUG_PORT="+strconv.Itoa(freePort(r.t)),
		"USE_STATSD=false", "LOG_LEVEL=warn",
		"REDIS_SOCKET_TYPE=tcp", "REDIS_URL=127.0.0.1:"+strconv.Itoa(r.redisPort),
		"RUNTIME_ROOT="+r.dir, "RUNTIME_SUBDIRECTORY=ratelimit", "RUNTIME_WATCH_ROOT=false")
	r.service = r.start(cmd)
	r.eventually(func() bool {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(r.httpPort) + "/healthcheck")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func (r *fleetRig) start(cmd *exec.Cmd) *exec.Cmd {
	if os.Getenv(envVerbose) != "" {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	return cmd
}

// stop ends a process this rig started, by its own handle.
func (r *fleetRig) stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

func (r *fleetRig) waitTCP(port int) {
	r.eventually(func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (r *fleetRig) eventually(cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatal("condition not reached within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// everyGatewayAdmits sends one request through each gateway and reports whether all were
// admitted: each gateway leaves its fail mode on its own, at its next probe of the service.
func (r *fleetRig) everyGatewayAdmits(path, tenant string) bool {
	ok, _ := r.burst(path, tenant, len(r.gateways))
	return ok == len(r.gateways)
}

func (r *fleetRig) startGateways() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	r.t.Cleanup(upstream.Close)
	for i := 0; i < fleetGateways; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		g, err := devgateway.Start(ctx, devgateway.Config{
			Module: filterWasm(r.t), PluginConfig: []byte(fleetPluginConfig),
			Listen: "127.0.0.1:0", AdminListen: "-", Workers: 3,
			Clusters:       map[string]string{"ratelimit": "http://127.0.0.1:" + strconv.Itoa(r.httpPort), "backend": upstream.URL},
			DefaultCluster: "backend", AllowOnHeadersStopIteration: true,
			Logf: func(string, ...any) {},
		})
		cancel()
		if err != nil {
			r.t.Fatal(err)
		}
		r.gateways = append(r.gateways, g)
	}
}

// burst sends n requests for tenant, spread over the gateways from several clients at once, and
// returns how many went upstream and the statuses of the others.
func (r *fleetRig) burst(path, tenant string, n int) (ok int, rejected map[int]int) {
	rejected = map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for c := 0; c < 6; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, _ := http.NewRequest("GET", r.gateways[i%len(r.gateways)].URL()+path, nil)
				req.Header.Set("x-tenant", tenant)
				resp, err := client.Do(req)
				mu.Lock()
				switch {
				case err != nil:
					rejected[-1]++
				case resp.StatusCode == 200:
					ok++
				default:
					rejected[resp.StatusCode]++
				}
				mu.Unlock()
				if err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	return ok, rejected
}
