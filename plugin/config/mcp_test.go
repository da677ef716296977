package config

import (
	"strings"
	"testing"
)

func TestMCPSection(t *testing.T) {
	cfg, err := Parse([]byte(`{"mcp":{"servers":{"demo":{"path_prefix":"/mcp/demo","cluster":"mcp_demo","allowed_tools":["cheap*"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.MCP.Match("/mcp/demo"); s == nil || s.Cluster != "mcp_demo" {
		t.Errorf("MCP.Match = %+v", s)
	}
	_, err = Parse([]byte(`{"mcp":{"servers":{"demo":{"path_prefix":"/mcp/demo"}}}}`))
	if err == nil || !strings.HasPrefix(err.Error(), "mcp.servers.demo.cluster: required") {
		t.Errorf("missing cluster: %v", err)
	}
}
