// Package mcp is stepgate's view of Model Context Protocol traffic on the Streamable HTTP
// transport: JSON-RPC 2.0 messages POSTed one at a time or in batches (the 2025-03-26 revision),
// answered as JSON or as Server-Sent Events.
//
// It parses a request body into messages (Parse), says which tools and servers a glob
// allow-list admits (Allowed), builds the JSON-RPC error objects the gateway answers with
// (AppendError), filters tools/list results down to the allowed tools (FilterTools and, for SSE
// streams, EventRewriter), and reads the "mcp" section of the configuration (ParseConfig).
//
// It is plain Go: no SDK calls, no goroutines, and no panic on any input. The parser is
// strict where a lenient reading could let a message past the gateway that the server reads
// differently: a duplicated member, or a member whose name differs from "method", "id",
// "params", "name" … only by case (Go's encoding/json matches names case-insensitively), makes the
// message an invalid request.
package mcp
