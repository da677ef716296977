package mcp

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/calllog"
)

// JSON-RPC error codes the gateway answers with. The first three are JSON-RPC 2.0's own; the
// others are in the range JSON-RPC leaves to servers (-32000 to -32099), chosen clear of the codes
// MCP and its SDKs use (-32001 … -32005, -32020 … -32022, -32042).
const (
	ParseError     = -32700 // the body is not JSON
	InvalidRequest = -32600 // the body is JSON but not a valid JSON-RPC request
	MethodNotFound = -32601 // the gateway blocks this method on this server
	// Throttled: a throttle rule rejected the request; data carries retry_after (seconds).
	Throttled = -32029
	// Forbidden: the caller may not use this tool or this server; data names which.
	Forbidden = -32030
)

// Error is one JSON-RPC error answer.
type Error struct {
	ID      []byte // raw JSON id; nil is written as null
	Code    int
	Message string
	// Data members, written in order when not empty.
	Tool, Server, Method, Rule string
	RetryAfter                 int64 // seconds; written when > 0
}

// AppendError appends e as a JSON-RPC response object.
func AppendError(dst []byte, e *Error) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	if len(e.ID) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.ID...)
	}
	dst = append(dst, `,"error":{"code":`...)
	dst = strconv.AppendInt(dst, int64(e.Code), 10)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, e.Message)
	if e.Tool != "" || e.Server != "" || e.Method != "" || e.Rule != "" || e.RetryAfter > 0 {
		dst = append(dst, `,"data":{`...)
		n := len(dst)
		dst = member(dst, n, "tool", e.Tool)
		dst = member(dst, n, "server", e.Server)
		dst = member(dst, n, "method", e.Method)
		dst = member(dst, n, "rule", e.Rule)
		if e.RetryAfter > 0 {
			if len(dst) > n {
				dst = append(dst, ',')
			}
			dst = append(dst, `"retry_after":`...)
			dst = strconv.AppendInt(dst, e.RetryAfter, 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

func member(dst []byte, start int, name, v string) []byte {
	if v == "" {
		return dst
	}
	if len(dst) > start {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, `":`...)
	return appendString(dst, v)
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD (the call record's
// escaping, so that both stay valid JSON whatever a client sent).
func appendString(dst []byte, s string) []byte { return calllog.AppendString(dst, s) }
