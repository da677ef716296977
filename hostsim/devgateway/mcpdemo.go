package devgateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim/devgateway/mcpdemo"
)

// mcpClusterName is envoy.yaml's MCP route: the clusters of the plugin's mcp.servers.
var mcpClusterName = regexp.MustCompile(`^mcp_[a-z0-9_]+$`)

// demoServer serves mcpdemo's server on loopback, for every MCP cluster Clusters does not map
// when Mock is on.
type demoServer struct {
	url string
	srv *http.Server
	mcp *mcpdemo.Server
}

func startMCPDemo() (*demoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devgateway: demo MCP server: %w", err)
	}
	d := &demoServer{url: "http://" + ln.Addr().String(), mcp: mcpdemo.New(mcpdemo.Options{})}
	d.srv = &http.Server{Handler: d.mcp}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err) // Serve fails only on a broken listener
		}
	}()
	return d, nil
}

func (d *demoServer) close() {
	if d != nil {
		d.srv.Close()
	}
}

// MCPDemoURL is the demo MCP server's base URL ("" without Config.Mock).
func (g *Gateway) MCPDemoURL() string {
	if g.mcpDemo == nil {
		return ""
	}
	return g.mcpDemo.url
}

// mapMCPClusters maps every mcp.servers.<name>.cluster of config that clusters lacks to the
// demo server, when there is one.
func (g *Gateway) mapMCPClusters(config []byte, clusters map[string]string) {
	gjson.GetBytes(config, "mcp.servers").ForEach(func(name, s gjson.Result) bool {
		c := s.Get("cluster").String()
		switch {
		case !mcpClusterName.MatchString(c):
			g.logf("devgateway: mcp.servers.%s.cluster %q does not match %s: envoy.yaml's route never selects it", name.Str, c, mcpClusterName)
		case clusters[c] != "":
		case g.mcpDemo != nil:
			clusters[c] = g.mcpDemo.url
		default:
			g.logf("devgateway: mcp.servers.%s.cluster %q has no URL: its requests get 503 (map it with Clusters or turn Mock on)", name.Str, c)
		}
		return true
	})
}
