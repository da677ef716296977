package envoy_test

import (
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// composeFile is the part of the Compose specification docker-compose.yml uses. It is parsed
// strictly: a misspelt key fails the test instead of being ignored by this test (Compose itself
// would refuse it too).
type composeFile struct {
	Name          string                    `json:"name"`
	XMockprovider map[string]any            `json:"x-mockprovider"`
	Services      map[string]composeService `json:"services"`
	Volumes       map[string]any            `json:"volumes"`
}

type composeService struct {
	Image       string                       `json:"image"`
	Build       *composeBuild                `json:"build"`
	Command     []string                     `json:"command"`
	Ports       []string                     `json:"ports"`
	Volumes     []string                     `json:"volumes"`
	Environment map[string]string            `json:"environment"`
	Healthcheck *composeHealthcheck          `json:"healthcheck"`
	DependsOn   map[string]composeDependency `json:"depends_on"`
	Profiles    []string                     `json:"profiles"`
	Restart     string                       `json:"restart"`
}

type composeHealthcheck struct {
	Test        []string `json:"test"`
	Interval    string   `json:"interval"`
	Timeout     string   `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod string   `json:"start_period"`
}

// composeDependency is the long form of depends_on, the one that can wait for a health check.
type composeDependency struct {
	Condition string `json:"condition"`
}

type composeBuild struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
}

func loadCompose(t testing.TB) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.UnmarshalStrict(readFile(t, composePath), &c); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	return c
}

// mount is one "source:target[:mode]" volume of a service.
type mount struct{ source, target, mode string }

func mounts(s composeService) []mount {
	var ms []mount
	for _, v := range s.Volumes {
		p := strings.Split(v, ":")
		m := mount{source: p[0], target: p[1]}
		if len(p) > 2 {
			m.mode = p[2]
		}
		ms = append(ms, m)
	}
	return ms
}

func mountAt(s composeService, target string) (mount, bool) {
	for _, m := range mounts(s) {
		if m.target == target {
			return m, true
		}
	}
	return mount{}, false
}

// argValue returns the value of -name in a command line.
func argValue(cmd []string, name string) string {
	for i, a := range cmd {
		if a == "-"+name && i+1 < len(cmd) {
			return cmd[i+1]
		}
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

var pinnedTag = regexp.MustCompile(`^[a-z0-9./_-]+:v?[0-9]+\.[0-9]+(\.[0-9]+)?(-[a-z0-9.]+)?$`)

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"envoy", "mock-openai", "mock-azure", "mock-anthropic", "mock-gemini", "mock-ollama", "mock-bedrock", "redis", "ratelimit", "prometheus"} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if len(s.Profiles) != 0 {
			t.Errorf("service %s must start with a plain `docker compose up`, not only under profiles %v", name, s.Profiles)
		}
	}
	for name, s := range c.Services {
		for d := range s.DependsOn {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("service %s depends on unknown service %s", name, d)
			}
		}
	}
}

// TestComposeImagesPinned: every image is pinned to a release tag, and every image built here comes
// from a Dockerfile in the repository whose base images are pinned too.
func TestComposeImagesPinned(t *testing.T) {
	for name, s := range loadCompose(t).Services {
		if s.Build != nil {
			if s.Build.Context != "." {
				t.Errorf("service %s: build context %q, want the repository root", name, s.Build.Context)
			}
			df := path.Join("..", s.Build.Dockerfile)
			data, err := os.ReadFile(df)
			if err != nil {
				t.Errorf("service %s: %v", name, err)
				continue
			}
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && strings.EqualFold(f[0], "FROM") {
					if img := f[1]; !pinnedTag.MatchString(img) && !strings.HasPrefix(img, "gcr.io/distroless/") {
						t.Errorf("%s: base image %s is not pinned to a release", s.Build.Dockerfile, img)
					}
				}
			}
			if !strings.HasSuffix(s.Image, ":local") {
				t.Errorf("service %s: a locally built image should be tagged :local, got %q", name, s.Image)
			}
			continue
		}
		if !pinnedTag.MatchString(s.Image) {
			t.Errorf("service %s: image %q is not pinned to a release tag", name, s.Image)
		}
	}
}

// TestComposeEnvoy: Envoy runs envoy.yaml with the built module at the path envoy.yaml loads it from,
// on the ports the docs and `make e2e-envoy` use, in a version that runs Go wasip1 modules.
func TestComposeEnvoy(t *testing.T) {
	s := loadCompose(t).Services["envoy"]
	repo, tag, _ := strings.Cut(s.Image, ":")
	if repo != "envoyproxy/envoy" {
		t.Fatalf("envoy image %q: want envoyproxy/envoy", s.Image)
	}
	if !versionAtLeast(strings.TrimPrefix(tag, "v"), minEnvoyVersion) {
		t.Errorf("envoy image %s: need >= v%s (poll_oneoff must succeed for Go wasip1 modules)", s.Image, minEnvoyVersion)
	}
	wasm := wasmFilter(t, loadBootstrap(t)).GetConfig().GetVmConfig().GetCode().GetLocal().GetFilename()
	m, ok := mountAt(s, wasm)
	if !ok {
		t.Fatalf("envoy: nothing mounted at %s, where envoy.yaml loads the module", wasm)
	}
	if want := makefileOut(t); m.source != "./"+want {
		t.Errorf("envoy: %s mounted from %s, want ./%s (the Makefile's OUT)", wasm, m.source, want)
	}
	cfg := argValue(s.Command, "c")
	if m, ok := mountAt(s, cfg); !ok || m.source != "./envoy/envoy.yaml" {
		t.Errorf("envoy: -c %s is not ./envoy/envoy.yaml (mounts %v)", cfg, s.Volumes)
	}
	for _, m := range mounts(s) {
		if m.mode != "ro" {
			t.Errorf("envoy: mount %s should be read-only", m.target)
		}
	}
	for _, want := range []string{"10000:10000", "127.0.0.1:9901:9901"} {
		if !slices.Contains(s.Ports, want) {
			t.Errorf("envoy ports %v: missing %s", s.Ports, want)
		}
	}
}

// makefileOut returns the Makefile's default OUT, where `make wasm` writes the module.
func makefileOut(t testing.TB) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^OUT\s*\?=\s*(\S+)`).FindSubmatch(readFile(t, makefilePath))
	if m == nil {
		t.Fatal("Makefile: no OUT ?= line")
	}
	return string(m[1])
}

// TestComposeServesEveryCluster: each cluster that points into the compose network points at a
// service of that name listening on that port, and each mock provider emulates the API and accepts
// the keys that stepgate.json gives the provider using it.
func TestComposeServesEveryCluster(t *testing.T) {
	c := loadCompose(t)
	b := loadBootstrap(t)
	byCluster := map[string]provider{}
	for _, p := range pluginProviders(t, readFile(t, pluginJSONPath)) {
		byCluster[p.cluster] = p
	}
	for _, cl := range b.GetStaticResources().GetClusters() {
		host, port := endpoint(t, cl)
		if strings.Contains(host, ".") {
			continue // outside the compose network
		}
		s, ok := c.Services[host]
		if !ok {
			t.Errorf("cluster %s points at %s, which is not a compose service", cl.GetName(), host)
			continue
		}
		if !strings.HasPrefix(host, "mock-") {
			continue
		}
		listen := argValue(s.Command, "listen")
		if _, p, _ := strings.Cut(listen, ":"); p != strconv.Itoa(int(port)) {
			t.Errorf("cluster %s sends to port %d, service %s listens on %q", cl.GetName(), port, host, listen)
		}
		p, ok := byCluster[cl.GetName()]
		if !ok {
			t.Errorf("mock cluster %s is used by no provider in stepgate.json", cl.GetName())
			continue
		}
		if kind := argValue(s.Command, "kind"); kind != p.typ {
			t.Errorf("service %s emulates %q, provider %s is of type %q", host, kind, p.name, p.typ)
		}
		var keys []string
		if k := argValue(s.Command, "keys"); k != "" {
			keys = strings.Split(k, ",")
		}
		if !slices.Equal(sorted(keys), sorted(p.keys)) {
			t.Errorf("service %s accepts keys %v, provider %s sends %v", host, keys, p.name, p.keys)
		}
	}
	rl := c.Services["ratelimit"]
	grpcPort := "8081" // ratelimit's default GRPC_PORT
	if p, ok := rl.Environment["GRPC_PORT"]; ok {
		grpcPort = p
	}
	if cl, ok := clusters(b)["ratelimit"]; ok {
		if _, port := endpoint(t, cl); strconv.Itoa(int(port)) != grpcPort {
			t.Errorf("ratelimit cluster port %d, service gRPC port %s", port, grpcPort)
		}
	}
}

// TestComposeRateLimit: the ratelimit service reads envoy/ratelimit/config.yaml from where its
// runtime settings look and reaches Redis.
func TestComposeRateLimit(t *testing.T) {
	c := loadCompose(t)
	s := c.Services["ratelimit"]
	env := s.Environment
	dir := path.Join(env["RUNTIME_ROOT"], env["RUNTIME_SUBDIRECTORY"], "config")
	var found bool
	for _, m := range mounts(s) {
		if m.source == "./envoy/"+ratelimitPath && path.Dir(m.target) == dir && strings.HasSuffix(m.target, ".yaml") {
			found = true
		}
	}
	if !found {
		t.Errorf("ratelimit: ./envoy/%s is not mounted into %s (mounts %v)", ratelimitPath, dir, s.Volumes)
	}
	if env["REDIS_SOCKET_TYPE"] != "tcp" {
		t.Errorf("ratelimit: REDIS_SOCKET_TYPE %q, want tcp", env["REDIS_SOCKET_TYPE"])
	}
	host, _, _ := strings.Cut(env["REDIS_URL"], ":")
	if _, ok := c.Services[host]; !ok {
		t.Errorf("ratelimit: REDIS_URL %q names no service", env["REDIS_URL"])
	}
	df := string(readFile(t, "ratelimit.Dockerfile"))
	if !regexp.MustCompile(`(?m)^ARG RATELIMIT_VERSION=v[0-9]+\.[0-9]+\.[0-9]+-0\.[0-9]{14}-[0-9a-f]{12}$`).MatchString(df) {
		t.Error("ratelimit.Dockerfile: RATELIMIT_VERSION must be a pinned module version")
	}
}

// TestComposePrometheus: Prometheus loads envoy/prometheus/prometheus.yml, which scrapes Envoy's
// Prometheus endpoint on the admin port.
func TestComposePrometheus(t *testing.T) {
	s := loadCompose(t).Services["prometheus"]
	cfg := argValue(s.Command, "config.file")
	if m, ok := mountAt(s, cfg); !ok || m.source != "./envoy/"+prometheusPath {
		t.Errorf("prometheus: --config.file %q is not ./envoy/%s (mounts %v)", cfg, prometheusPath, s.Volumes)
	}
	var p struct {
		Global        map[string]string `json:"global"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			MetricsPath   string `json:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.UnmarshalStrict(readFile(t, prometheusPath), &p); err != nil {
		t.Fatalf("%s: %v", prometheusPath, err)
	}
	admin := strconv.Itoa(int(loadBootstrap(t).GetAdmin().GetAddress().GetSocketAddress().GetPortValue()))
	var envoy bool
	for _, sc := range p.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			envoy = envoy || (slices.Contains(st.Targets, "envoy:"+admin) && sc.MetricsPath == "/stats/prometheus")
		}
	}
	if !envoy {
		t.Errorf("%s: no job scrapes envoy:%s/stats/prometheus", prometheusPath, admin)
	}
}

// TestComposeMockProviderImage: the mock provider image builds the mock provider binary.
func TestComposeMockProviderImage(t *testing.T) {
	df := string(readFile(t, "mockprovider.Dockerfile"))
	if !strings.Contains(df, "go build") || !strings.Contains(df, "./e2e/cmd/mockprovider") {
		t.Error("mockprovider.Dockerfile does not build ./e2e/cmd/mockprovider")
	}
}

// TestComposeMountSourcesExist: every file mounted from the repository is there (the module is a
// build output, checked against the Makefile instead).
func TestComposeMountSourcesExist(t *testing.T) {
	for name, s := range loadCompose(t).Services {
		for _, m := range mounts(s) {
			if !strings.HasPrefix(m.source, "./") || m.source == "./"+makefileOut(t) {
				continue
			}
			if _, err := os.Stat(path.Join("..", m.source)); err != nil {
				t.Errorf("service %s mounts %s: %v", name, m.source, err)
			}
		}
	}
}

// versionAtLeast compares dotted numeric versions.
func versionAtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := range b {
		if i >= len(a) {
			return false
		}
		x, err1 := strconv.Atoi(a[i])
		y, err2 := strconv.Atoi(b[i])
		if err1 != nil || err2 != nil {
			return false
		}
		if x != y {
			return x > y
		}
	}
	return true
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		v, min string
		want   bool
	}{
		{"1.40.0", "1.39.0", true}, {"1.39.0", "1.39.0", true}, {"1.38.9", "1.39.0", false},
		{"2.0.0", "1.39.0", true}, {"1.39", "1.39.0", false}, {"latest", "1.39.0", false},
	}
	for _, tt := range tests {
		if got := versionAtLeast(tt.v, tt.min); got != tt.want {
			t.Errorf("versionAtLeast(%q, %q) = %v, want %v", tt.v, tt.min, got, tt.want)
		}
	}
}
