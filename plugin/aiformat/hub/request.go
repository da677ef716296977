package hub

import "github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"

// The helpers below read a hub request on behalf of the codecs that translate it into another
// API. Every such API keeps instructions apart from the turns, wants stop sequences as an
// array and has its own name for the completion budget; the hub-side reading of those is the
// same for all of them, so it lives here once.

// IsSystem reports whether a hub message role carries instructions: "system", or "developer"
// (OpenAI's newer name for it).
func IsSystem(role string) bool { return role == "system" || role == "developer" }

// MessageFields are the members of a hub message the codecs read, indexed by the Msg
// constants: v.Fields(hub.MessageFields, f[:]) with f a [hub.MsgFieldCount]jsonx.Value.
var MessageFields = jsonx.NewNames("role", "content", "tool_calls", "tool_call_id")

// Indexes of MessageFields.
const (
	MsgRole = iota
	MsgContent
	MsgToolCalls
	MsgToolCallID
	MsgFieldCount
)

// EachSystem calls fn with the index and content of every instruction message of a hub
// "messages" array, in order, and stops at the first error. APIs with a separate system field
// gather these there and skip them among the turns.
func EachSystem(msgs jsonx.Value, fn func(i int, content jsonx.Value) *Error) *Error {
	i := 0
	for it := msgs.Iter(); it.Next(); i++ {
		m := it.Value()
		if !IsSystem(m.Get("role").Str()) {
			continue
		}
		if err := fn(i, m.Get("content")); err != nil {
			return err
		}
	}
	return nil
}

// RequestedMaxTokens is the completion budget a hub request sets: max_completion_tokens, else
// the older max_tokens; 0 when it sets neither.
func RequestedMaxTokens(maxCompletion, max jsonx.Value) int64 {
	if n := maxCompletion.Int(); n != 0 {
		return n
	}
	return max.Int()
}

// ClampMaxTokens applies the target's cap to a budget n (0: none set). A capped request
// without a budget gets the cap, so that the degrade step holds for providers whose default
// is larger.
func (t Target) ClampMaxTokens(n int64) int64 {
	if t.MaxTokens > 0 && (n == 0 || n > t.MaxTokens) {
		return t.MaxTokens
	}
	return n
}

// HasStop reports whether the hub's stop is set in a shape WriteStop can translate: a string
// or an array of strings.
func HasStop(stop jsonx.Value) bool { return stop.IsString() || stop.IsArray() }

// WriteStop writes the hub's stop as an array, the shape the other APIs take even for one
// sequence.
func WriteStop(w *jsonx.Writer, stop jsonx.Value) {
	if stop.IsArray() {
		w.Raw(stop.Raw())
		return
	}
	w.Arr()
	w.Raw(stop.Raw())
	w.EndArr()
}
