package main

import (
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/plugin/governance"
)

// mcpTenantConfig puts the MCP server behind a keyed route: tenant "ops" may call every tool the
// server allows, tenant "viewers" only "cheap", and tenant "outsiders" may not reach the server.
var mcpTenantConfig = `{
  "mcp": {"servers": {"demo": {"path_prefix": "/mcp/demo", "cluster": "mcp_demo", "allowed_tools": ["cheap", "costly"]}}},
  "routes": {"mcp": {"path_prefix": "/mcp/", "auth": {}}},
  "tenants": {"ops": {}, "viewers": {"allowed_tools": ["cheap"]}, "outsiders": {"allowed_mcp_servers": []}},
  "consumers": {
    "olga":  {"tenant": "ops", "keys": [{"id": "olga-1", "sha256": "` + governance.Hash("sk-olga") + `"}]},
    "vic":   {"tenant": "viewers", "keys": [{"id": "vic-1", "sha256": "` + governance.Hash("sk-vic") + `"}]},
    "oscar": {"tenant": "outsiders", "keys": [{"id": "oscar-1", "sha256": "` + governance.Hash("sk-oscar") + `"}]}
  }
}`

// A tenant's allowed_tools narrows the server's own list, for calls and for tools/list alike, and
// allowed_mcp_servers keeps a tenant off a server; the key never goes upstream.
func TestMCPToolsAndServersAreAllowedPerTenant(t *testing.T) {
	h, _ := startFilter(t, mcpTenantConfig, 1)
	auth := func(key string) [2]string { return [2]string{"authorization", "Bearer " + key} }

	s, lr := mcpSend(t, h, call("1", "costly"), auth("sk-olga"))
	if lr != nil || string(s.Upstream().Body) != call("1", "costly") {
		t.Fatalf("ops calling costly: %+v", lr)
	}
	if got := s.Upstream().Headers.Get("authorization"); got != "" {
		t.Errorf("the client's key went upstream: %q", got)
	}

	_, lr = mcpSend(t, h, call("2", "costly"), auth("sk-vic"))
	wantReply(t, lr, 200, `{"jsonrpc":"2.0","id":2,"error":{"code":-32030,"message":"tool not allowed","data":{"tool":"costly"}}}`)
	if s, lr := mcpSend(t, h, call("3", "cheap"), auth("sk-vic")); lr != nil || s.Upstream().Headers == nil {
		t.Fatalf("viewers calling cheap: %+v", lr)
	}

	// tools/list shows a viewer only what its tenant may call.
	s, _ = mcpSend(t, h, `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`, auth("sk-vic"))
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/json"}}, false)
	s.SendResponseBody([]byte(toolsList), true)
	if got, want := string(s.Downstream().Body), `{"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"cheap","inputSchema":{"type":"object"}}]}}`; got != want {
		t.Errorf("viewers' tools/list\n%s\nwant\n%s", got, want)
	}

	_, lr = mcpSend(t, h, call("4", "cheap"), auth("sk-oscar"))
	if lr == nil || lr.Status != 403 {
		t.Fatalf("outsiders reaching the server: %+v, want 403", lr)
	}

	_, lr = mcpSend(t, h, call("5", "cheap"))
	if lr == nil || lr.Status != 401 {
		t.Fatalf("no key: %+v, want 401", lr)
	}
}
