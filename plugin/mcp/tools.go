package mcp

import (
	"bytes"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// ToolFilter rewrites the results of tools/list requests so that they list only allowed tools.
// IDs are the ids of the tools/list requests forwarded in one POST: only answers to those are
// touched, whatever else the stream carries.
type ToolFilter struct {
	IDs [][]byte
	// AnyID rewrites every answer that lists tools, whatever its id: on a stream that carries
	// answers to requests of other POSTs (a GET stream resumed with Last-Event-ID).
	AnyID bool
	Allow func(tool string) bool
}

// Active reports whether the filter has anything to do.
func (f *ToolFilter) Active() bool {
	return f != nil && (len(f.IDs) > 0 || f.AnyID) && f.Allow != nil
}

// Message rewrites one JSON-RPC message; it returns msg itself when it is not an answer to one
// of f's requests or lists no tool to remove.
func (f *ToolFilter) Message(msg []byte) []byte {
	r := gjson.ParseBytes(msg)
	if !r.IsObject() || !f.AnyID && !f.matches(r.Get("id")) {
		return msg
	}
	tools := r.Get("result.tools")
	if !tools.IsArray() {
		return msg
	}
	kept := make([]byte, 0, len(tools.Raw))
	kept = append(kept, '[')
	removed := false
	tools.ForEach(func(_, t gjson.Result) bool {
		if !f.Allow(t.Get("name").String()) {
			removed = true
			return true
		}
		if len(kept) > 1 {
			kept = append(kept, ',')
		}
		kept = append(kept, t.Raw...)
		return true
	})
	if !removed {
		return msg
	}
	kept = append(kept, ']')
	i := tools.Index
	if i <= 0 || i+len(tools.Raw) > len(msg) || string(msg[i:i+len(tools.Raw)]) != tools.Raw {
		if out, err := sjson.SetRawBytes(msg, "result.tools", kept); err == nil {
			return out
		}
		return msg
	}
	// tools.Index is the array's offset in msg: splice the new array in, nothing else moves.
	out := make([]byte, 0, len(msg)-len(tools.Raw)+len(kept))
	out = append(out, msg[:tools.Index]...)
	out = append(out, kept...)
	return append(out, msg[tools.Index+len(tools.Raw):]...)
}

// Body rewrites a JSON response body: one message or a batch of them.
func (f *ToolFilter) Body(body []byte) []byte {
	r := gjson.ParseBytes(body)
	if !r.IsArray() {
		return f.Message(body)
	}
	out := make([]byte, 0, len(body))
	out = append(out, '[')
	r.ForEach(func(_, m gjson.Result) bool {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, f.Message([]byte(m.Raw))...)
		return true
	})
	return append(out, ']')
}

func (f *ToolFilter) matches(id gjson.Result) bool {
	for _, want := range f.IDs {
		if sameID(want, id) {
			return true
		}
	}
	return false
}

// sameID compares a request's raw id with the id of an answer, as values: a server may write
// the same id differently ("\u0061" for "a", 1.0 for 1).
func sameID(raw []byte, id gjson.Result) bool {
	if len(raw) == 0 || !id.Exists() {
		return false
	}
	if raw[0] == '"' {
		return id.Type == gjson.String && id.Str == stringValue(raw, bytes.IndexByte(raw, '\\') >= 0)
	}
	if id.Type != gjson.Number {
		return false
	}
	if string(raw) == id.Raw {
		return true
	}
	a, err1 := strconv.ParseFloat(string(raw), 64)
	b, err2 := strconv.ParseFloat(id.Raw, 64)
	return err1 == nil && err2 == nil && a == b
}
