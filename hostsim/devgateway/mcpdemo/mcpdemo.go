// Package mcpdemo is the demo MCP server the dev gateway serves behind its MCP route (and the
// end-to-end tests call through it): a server built with the official Go SDK
// (github.com/modelcontextprotocol/go-sdk) on its Streamable HTTP transport, with three harmless
// tools that show what the gateway does per tool:
//
//   - echo, cheap: answers with its text;
//   - report, costly: counts the words of its text, the tool envoy/stepgate.json paces;
//   - delete_all, forbidden: does nothing but say it ran, so that a gateway letting it through
//     is seen at once.
//
// It is plain Go and imports nothing of hostsim or e2e, so both can use it.
package mcpdemo

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tool names.
const (
	ToolEcho      = "echo"
	ToolReport    = "report"
	ToolDeleteAll = "delete_all"
)

// Options shape the server's transport.
type Options struct {
	// JSONResponse answers POSTs with application/json instead of an SSE stream.
	JSONResponse bool
}

// Server is the demo server and what its tools did.
type Server struct {
	http.Handler
	calls atomic.Int64 // tool calls that ran
}

// Calls reports how many tool calls have run on the server.
func (s *Server) Calls() int64 { return s.calls.Load() }

// TextArgs is the input of every demo tool.
type TextArgs struct {
	Text string `json:"text,omitempty" jsonschema:"the text to work on"`
}

// New returns the demo server's Streamable HTTP handler.
func New(o Options) *Server {
	s := &Server{}
	srv := mcp.NewServer(&mcp.Implementation{Name: "stepgate-demo", Version: "1.0.0"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: ToolEcho, Description: "Cheap: answers with its text."},
		func(_ context.Context, _ *mcp.CallToolRequest, in TextArgs) (*mcp.CallToolResult, any, error) {
			s.calls.Add(1)
			return text(in.Text), nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: ToolReport, Description: "Costly: counts the words of its text (the gateway paces it)."},
		func(_ context.Context, _ *mcp.CallToolRequest, in TextArgs) (*mcp.CallToolResult, any, error) {
			s.calls.Add(1)
			return text("words: " + strconv.Itoa(len(strings.Fields(in.Text)))), nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: ToolDeleteAll, Description: "Forbidden: the gateway never lets it through."},
		func(_ context.Context, _ *mcp.CallToolRequest, _ TextArgs) (*mcp.CallToolResult, any, error) {
			s.calls.Add(1)
			return text("delete_all ran: the gateway let a forbidden tool through"), nil, nil
		})
	s.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{JSONResponse: o.JSONResponse})
	return s
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}
