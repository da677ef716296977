package mcp_test

import (
	"fmt"

	"github.com/stepgate/stepgate/plugin/mcp"
)

func ExampleParse() {
	body := []byte(`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"report","arguments":{}}},
	                 {"jsonrpc":"2.0","method":"notifications/initialized"}]`)
	b, err := mcp.Parse(body, nil)
	if err != nil {
		fmt.Println(mcp.ParseError, err)
		return
	}
	for _, m := range b.Messages {
		fmt.Println(m.Kind, string(m.ID), m.Method, m.Tool)
	}
	// Output:
	// request 1 tools/call report
	// notification  notifications/initialized
}

func ExampleAllowed() {
	tools := []string{"echo", "report_*"}
	fmt.Println(mcp.Allowed(tools, "report_weekly"), mcp.Allowed(tools, "delete_all"), mcp.Allowed(nil, "anything"))
	// Output: true false true
}

func ExampleAppendError() {
	fmt.Println(string(mcp.AppendError(nil, &mcp.Error{ID: []byte(`"call-7"`), Code: mcp.Forbidden,
		Message: "tool not allowed", Tool: "delete_all"})))
	// Output: {"jsonrpc":"2.0","id":"call-7","error":{"code":-32030,"message":"tool not allowed","data":{"tool":"delete_all"}}}
}
