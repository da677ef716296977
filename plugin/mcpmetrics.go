package main

// maxToolLabels bounds the distinct tool names one VM writes as labels: tool names come from
// clients, so past this many, further names count as "other" and the series stay bounded.
const maxToolLabels = 64

// mcpMethods are the methods of the MCP revisions that get their own label; any other method
// is "other", for the same reason.
var mcpMethods = []string{
	"initialize", "ping", "tools/call", "tools/list", "resources/list", "resources/read",
	"resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list",
	"prompts/get", "completion/complete", "logging/setLevel", "notifications/initialized",
	"notifications/cancelled", "notifications/progress", "notifications/roots/list_changed",
}

// mcp counts one JSON-RPC message of an MCP route by what the gateway did with it: a throttle
// step (allow, shape, degrade, reject), or denied, blocked, invalid.
func (m *metrics) mcp(tenant, route, method, tool, step string) {
	m.add(mcpRequests, 1, orNone(tenant, "anonymous"), route, mcpMethodLabel(method), m.mcpToolLabel(tool), step)
}

func mcpMethodLabel(method string) string {
	for _, k := range mcpMethods {
		if k == method {
			return k
		}
	}
	if method == "" {
		return "none"
	}
	return "other"
}

func (m *metrics) mcpToolLabel(tool string) string {
	if tool == "" || m.mcpTools[tool] {
		return tool
	}
	if len(m.mcpTools) >= maxToolLabels {
		return "other"
	}
	if m.mcpTools == nil {
		m.mcpTools = make(map[string]bool)
	}
	m.mcpTools[tool] = true
	return tool
}
