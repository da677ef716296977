package devgateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// mockServer serves mockprovider's Mux (every provider on one port) on loopback.
type mockServer struct {
	url string
	srv *http.Server

	mu   sync.Mutex
	mux  *mockprovider.Mux
	keys []string
	aws  map[string]string // Bedrock access key id → secret access key
}

func startMock(keys []string, aws map[string]string) (*mockServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devgateway: mock providers: %w", err)
	}
	m := &mockServer{url: "http://" + ln.Addr().String(), keys: keys, aws: aws}
	m.mux = mockprovider.NewMux(mockprovider.Options{Keys: keys, AWSSecrets: aws})
	m.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.current().ServeHTTP(w, r)
	})}
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err) // Serve fails only on a broken listener
		}
	}()
	return m, nil
}

func (m *mockServer) current() *mockprovider.Mux {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mux
}

// acceptKeys makes the mocks accept keys too. The Mux's keys are fixed, so new keys mean a new
// Mux (accepting the old ones as well); its recorded requests and queued faults start empty.
func (m *mockServer) acceptKeys(keys []string, aws map[string]string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	var added bool
	for id, secret := range aws {
		if m.aws[id] != secret {
			if m.aws == nil {
				m.aws = map[string]string{}
			}
			m.aws[id], added = secret, true
		}
	}
	for _, k := range keys {
		if !slices.Contains(m.keys, k) {
			m.keys = append(m.keys, k)
			added = true
		}
	}
	if added {
		m.mux = mockprovider.NewMux(mockprovider.Options{Keys: m.keys, AWSSecrets: m.aws})
	}
	return added
}

func (m *mockServer) close() { m.srv.Close() }

type providerCluster struct {
	provider, cluster, host string
	keys                    []string
}

// providerClusters lists providers.<name>.cluster of a plugin configuration, in document order,
// with the provider's host and keys.
func providerClusters(config []byte) []providerCluster {
	var out []providerCluster
	gjson.GetBytes(config, "providers").ForEach(func(name, p gjson.Result) bool {
		if c := p.Get("cluster"); c.Type == gjson.String {
			pc := providerCluster{provider: name.Str, cluster: c.Str, host: p.Get("host").Str}
			if k := p.Get("api_key"); k.Type == gjson.String {
				pc.keys = append(pc.keys, k.Str)
			}
			p.Get("api_keys").ForEach(func(_, k gjson.Result) bool { pc.keys = append(pc.keys, k.Str); return true })
			out = append(out, pc)
		}
		return true
	})
	return out
}

// placeholderKey marks the keys of envoy/stepgate.json's real providers until a user fills them in.
const placeholderKey = "REPLACE-ME"

// real reports whether p is a real provider a user has credentials for: a host, at least one
// key and no placeholder key, and neither name nor cluster saying mock. Only the others go to the
// mock providers.
func (p providerCluster) real() bool {
	if p.host == "" || len(p.keys) == 0 || strings.Contains(p.provider, "mock") || strings.Contains(p.cluster, "mock") {
		return false
	}
	for _, k := range p.keys {
		if k == "" || strings.Contains(k, placeholderKey) {
			return false
		}
	}
	return true
}

// url is where a real provider's cluster points, as envoy.yaml's clusters do: TLS on the
// provider's host (port 443 unless it names one), plain HTTP only for an explicit port 80.
func (p providerCluster) url() string {
	if strings.HasSuffix(p.host, ":80") {
		return "http://" + p.host
	}
	return "https://" + p.host
}

// awsSecrets collects the AWS credentials (access_key_id → secret_access_key) of providers
// that sign their requests (Bedrock), for the mock to verify their signatures.
func awsSecrets(config []byte) map[string]string {
	out := map[string]string{}
	gjson.GetBytes(config, "providers").ForEach(func(_, p gjson.Result) bool {
		if id, secret := p.Get("access_key_id").Str, p.Get("secret_access_key").Str; id != "" && secret != "" {
			out[id] = secret
		}
		return true
	})
	return out
}

// providerKeys collects providers.*.api_key and api_keys, without repeats. Empty means none
// (the mocks then accept only mockprovider.DefaultKey).
func providerKeys(config []byte) []string {
	var keys []string
	add := func(k gjson.Result) {
		if k.Type == gjson.String && k.Str != "" && !slices.Contains(keys, k.Str) {
			keys = append(keys, k.Str)
		}
	}
	gjson.GetBytes(config, "providers").ForEach(func(_, p gjson.Result) bool {
		add(p.Get("api_key"))
		p.Get("api_keys").ForEach(func(_, k gjson.Result) bool { add(k); return true })
		return true
	})
	return keys
}
