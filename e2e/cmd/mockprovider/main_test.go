package main

import (
	"bufio"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-listen", "0.0.0.0:9000", "-kind", "azure", "-keys", "k1, k2", "-models", "a,b",
		"-deployments", "prod=gpt-4o,dev=gpt-4o-mini", "-api-versions", "2024-10-21", "-ollama-auth", "-chunk-delay", "5ms", "-quiet"})
	if err != nil {
		t.Fatal(err)
	}
	want := mockprovider.Options{Keys: []string{"k1", "k2"}, Models: []string{"a", "b"},
		Deployments: map[string]string{"prod": "gpt-4o", "dev": "gpt-4o-mini"}, APIVersions: []string{"2024-10-21"},
		OllamaAuth: true, ChunkDelay: 5 * time.Millisecond}
	if c.listen != "0.0.0.0:9000" || c.kind != "azure" || !c.quiet || !reflect.DeepEqual(c.opts, want) {
		t.Errorf("config %+v", c)
	}
	d, err := parseFlags(nil)
	if err != nil || d.kind != "all" || d.listen != "127.0.0.1:8081" || !reflect.DeepEqual(d.opts.Keys, []string{mockprovider.DefaultKey}) {
		t.Errorf("defaults %+v, %v", d, err)
	}
	for _, bad := range [][]string{{"-kind", "vertex"}, {"-deployments", "prod"}, {"-nope"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}

// TestHandlerStreams serves the handler the flags build (with its access log) and checks a
// stream still arrives chunk by chunk through the logging wrapper.
func TestHandlerStreams(t *testing.T) {
	log.SetOutput(io.Discard)
	defer log.SetOutput(os.Stderr)
	c, err := parseFlags([]string{"-chunk-delay", "30ms"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(c.handler())
	defer ts.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"one two three four"}]}`))
	req.Header.Set("Authorization", "Bearer test-key")
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q", line)
	}
	first := time.Since(start)
	rest, _ := io.ReadAll(br)
	total := time.Since(start)
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") || first > total-60*time.Millisecond {
		t.Errorf("first chunk after %v of %v; tail %q", first, total, rest)
	}
	// A single-kind server only knows its own API.
	c.kind = "anthropic"
	ts2 := httptest.NewServer(c.handler())
	defer ts2.Close()
	r2, _ := http.Get(ts2.URL + "/api/tags")
	if r2.StatusCode != 404 {
		t.Errorf("anthropic server served /api/tags: %d", r2.StatusCode)
	}
	r2.Body.Close()
}

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(mockprovider.NewMux(mockprovider.Options{}))
	defer ok.Close()
	if err := run([]string{"-probe", ok.URL + "/__mock/health"}); err != nil {
		t.Errorf("healthy: %v", err)
	}
	if err := run([]string{"-probe", ok.URL + "/__mock/nothing"}); err == nil {
		t.Error("404 probe passed")
	}
}
