package devgateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/devgateway"
)

// A provider that never answers costs the client the route's timeout, then a 504, on the
// virtual clock; the per-cluster timeout wins over the default (300 s).
func TestGatewayRouteTimeout(t *testing.T) {
	arrived := make(chan struct{}, 1)
	quit := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	t.Cleanup(slow.Close)
	vc := hostsim.NewVirtualClock(time.Now())
	g, _ := start(t, func(c *devgateway.Config) {
		c.Clock = vc
		c.Clusters = map[string]string{"provider_mock_openai": slow.URL}
		c.RouteTimeouts = map[string]time.Duration{"provider_mock_openai": 5 * time.Second}
	})
	t.Cleanup(func() { close(quit) })
	got := make(chan answer, 1)
	go func() { got <- doAsync(g.URL()+"/v1/chat/completions", chat("gpt-4o-mini", "hello")) }()
	select {
	case <-arrived:
	case a := <-got:
		t.Fatalf("answered %d %q before reaching the provider", a.status, a.body)
	}
	vc.Advance(5*time.Second - time.Nanosecond)
	if g.Host().ActiveStreams() != 1 {
		t.Fatal("the request ended before its route timeout")
	}
	vc.Advance(time.Nanosecond)
	a := <-got
	// The router's 504 passes through the filter, which words it in the client's dialect.
	if a.status != 504 || !strings.Contains(a.body, "504") {
		t.Fatalf("got %d %q, want the router's 504", a.status, a.body)
	}
}

// A client that stops sending its body gets 408 "stream timeout" after the stream idle timeout.
func TestGatewayStreamIdleTimeoutEndsAStalledBody(t *testing.T) {
	vc := hostsim.NewVirtualClock(time.Now())
	g, _ := start(t, func(c *devgateway.Config) { c.Clock = vc })
	conn, err := net.Dial("tcp", g.URL()[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: "+demoAuth+"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":")
	waitFor(t, "the stream to start", func() bool { return g.Host().ActiveStreams() == 1 })
	vc.Advance(300*time.Second - time.Nanosecond)
	if g.Host().ActiveStreams() != 1 {
		t.Fatal("the request ended before the idle timeout")
	}
	vc.Advance(time.Nanosecond)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || string(body) != "stream timeout" {
		t.Fatalf("got %d %q, want 408 stream timeout", resp.StatusCode, body)
	}
}

// doAsync is do for goroutines: errors become status 0.
func doAsync(url, body string) answer {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", demoAuth)
	resp, err := client.Do(req)
	if err != nil {
		return answer{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}
