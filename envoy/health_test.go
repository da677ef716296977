package envoy_test

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path"
	"strings"
	"testing"
	"time"
)

// imageTools is what each pulled image can run for a health check: the distroless images built
// here have only the binaries their Dockerfile copies in (see builtBinaries).
var imageTools = map[string][]string{
	"envoyproxy/envoy": {"bash"},      // Ubuntu base, no curl
	"redis":            {"redis-cli"}, // the official image
	"prom/prometheus":  {"wget"},      // busybox base
	"ollama/ollama":    {"ollama"},    // the CLI talks to the server
	"grafana/grafana":  {"wget"},      // Alpine base, busybox
}

// TestComposeHealthchecks: every service of a plain `docker compose up` has a health check that its
// image can run, so that `docker compose up --wait` (make up) returns only once each one works.
func TestComposeHealthchecks(t *testing.T) {
	for name, s := range loadCompose(t).Services {
		if len(s.Profiles) != 0 {
			continue // optional services
		}
		hc := s.Healthcheck
		if hc == nil || len(hc.Test) < 2 {
			t.Errorf("service %s: no health check", name)
			continue
		}
		if hc.Test[0] != "CMD" {
			t.Errorf("service %s: health check %q: want the exec form [\"CMD\", ...], the images have no /bin/sh", name, hc.Test)
			continue
		}
		if hc.Interval == "" || hc.Timeout == "" || hc.Retries == 0 {
			t.Errorf("service %s: health check without interval, timeout and retries", name)
		}
		var tools []string
		if s.Build != nil {
			tools = builtBinaries(t, s.Build.Dockerfile)
		} else {
			repo, _, _ := strings.Cut(s.Image, ":")
			tools = imageTools[repo]
		}
		if !containsString(tools, hc.Test[1]) {
			t.Errorf("service %s: health check runs %s, which its image does not have (it has %v)", name, hc.Test[1], tools)
		}
		checkHealthURL(t, name, s, hc.Test[len(hc.Test)-1])
	}
}

// checkHealthURL: a health check that GETs a URL asks the service's own loopback address, on the
// port the service listens on.
func checkHealthURL(t testing.TB, name string, s composeService, arg string) {
	t.Helper()
	rest, ok := strings.CutPrefix(arg, "http://127.0.0.1:")
	if !ok {
		return // not a URL check
	}
	port, _, _ := strings.Cut(rest, "/")
	var want string
	switch {
	case argValue(s.Command, "listen") != "": // the mock providers
		_, want, _ = strings.Cut(argValue(s.Command, "listen"), ":")
	case name == "ratelimit":
		want = "8080" // envoyproxy/ratelimit's HTTP port (PORT), which serves /healthcheck
		if p, ok := s.Environment["PORT"]; ok {
			want = p
		}
	case name == "prometheus":
		want = "9090" // --web.listen-address's default
	case name == "grafana":
		want = "3000" // GF_SERVER_HTTP_PORT's default
		if p, ok := s.Environment["GF_SERVER_HTTP_PORT"]; ok {
			want = p
		}
	}
	if port != want {
		t.Errorf("service %s: health check asks port %s, the service listens on %q", name, port, want)
	}
}

// builtBinaries returns the paths the last stage of a Dockerfile copies in from a build stage.
func builtBinaries(t testing.TB, dockerfile string) []string {
	t.Helper()
	var bins []string
	sc := bufio.NewScanner(strings.NewReader(string(readFile(t, path.Join("..", dockerfile)))))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 0 && strings.EqualFold(f[0], "FROM"):
			bins = nil
		case len(f) == 4 && strings.EqualFold(f[0], "COPY") && strings.HasPrefix(f[1], "--from="):
			bins = append(bins, f[3])
		}
	}
	return bins
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestComposeStartOrder: Envoy starts once every compose service its clusters send to is healthy
// (the mocks and ratelimit), ratelimit once Redis is, so that `make up` then `make e2e-envoy`
// does not race start-up.
func TestComposeStartOrder(t *testing.T) {
	c := loadCompose(t)
	envoy := c.Services["envoy"]
	for _, cl := range loadBootstrap(t).GetStaticResources().GetClusters() {
		host, _ := endpoint(t, cl)
		s, ok := c.Services[host]
		if !ok || len(s.Profiles) != 0 {
			continue // outside the compose network, or optional (ollama)
		}
		if d := envoy.DependsOn[host]; d.Condition != "service_healthy" {
			t.Errorf("envoy: cluster %s sends to %s, but envoy does not wait for it to be healthy (depends_on %v)", cl.GetName(), host, envoy.DependsOn)
		}
	}
	for name, s := range c.Services {
		for dep, d := range s.DependsOn {
			switch d.Condition {
			case "service_healthy":
				if c.Services[dep].Healthcheck == nil {
					t.Errorf("service %s waits for %s to be healthy, which has no health check", name, dep)
				}
			case "service_started", "service_completed_successfully":
			default:
				t.Errorf("service %s: depends_on %s: condition %q", name, dep, d.Condition)
			}
		}
	}
	if d := c.Services["ratelimit"].DependsOn["redis"]; d.Condition != "service_healthy" {
		t.Errorf("ratelimit must wait for a healthy redis, got %+v", d)
	}
}

// TestComposeEnvoyHealthcheck runs Envoy's health check script with bash against a stand-in for
// Envoy's admin listener that answers like Envoy does: 426 to HTTP/1.0, "LIVE" on /ready once live.
func TestComposeEnvoyHealthcheck(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	hc := loadCompose(t).Services["envoy"].Healthcheck
	if hc == nil || len(hc.Test) != 4 || hc.Test[1] != "bash" || hc.Test[2] != "-c" {
		t.Fatalf("envoy health check %v: want [CMD bash -c SCRIPT]", hc)
	}
	admin := fmt.Sprint(loadBootstrap(t).GetAdmin().GetAddress().GetSocketAddress().GetPortValue())
	if !strings.Contains(hc.Test[3], "/127.0.0.1/"+admin) {
		t.Fatalf("envoy health check %q does not ask the admin port %s", hc.Test[3], admin)
	}
	for _, state := range []string{"LIVE", "PRE_INITIALIZING"} {
		addr := fakeEnvoyAdmin(t, state)
		_, port, _ := net.SplitHostPort(addr)
		script := strings.Replace(hc.Test[3], "/127.0.0.1/"+admin, "/127.0.0.1/"+port, 1)
		cmd := exec.Command(bash, "-c", script)
		done := make(chan error, 1)
		go func() { done <- cmd.Run() }()
		select {
		case err := <-done:
			if healthy := err == nil; healthy != (state == "LIVE") {
				t.Errorf("admin state %s: health check passed = %v", state, healthy)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("admin state %s: health check did not finish", state)
		}
	}
}

// fakeEnvoyAdmin serves /ready on a loopback port the way Envoy's admin does: HTTP/1.0 gets 426
// Upgrade Required, /ready answers 200 "LIVE" when live and 503 with the state otherwise.
func fakeEnvoyAdmin(t *testing.T, state string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveAdmin(conn, state)
		}
	}()
	return ln.Addr().String()
}

func serveAdmin(conn net.Conn, state string) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return
	}
	for { // the headers
		h, err := r.ReadString('\n')
		if err != nil || strings.TrimSpace(h) == "" {
			break
		}
	}
	status, body := "503 Service Unavailable", state+"\n"
	switch f := strings.Fields(line); {
	case len(f) != 3 || f[2] != "HTTP/1.1":
		status, body = "426 Upgrade Required", ""
	case f[1] != "/ready":
		status, body = "404 Not Found", ""
	case state == "LIVE":
		status = "200 OK"
	}
	fmt.Fprintf(conn, "HTTP/1.1 %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s", status, len(body), body)
}
