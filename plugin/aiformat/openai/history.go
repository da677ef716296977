package openai

import "github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"

// Clients build a conversation by pushing each answer's message back into messages, as every
// OpenAI SDK example does. That message carries response-only members (annotations, a null
// refusal, the audio's data and transcript) that the request schema does not have: OpenAI and
// strict compatible servers answer 400 "Unknown parameter: 'messages[1].annotations'". The
// rewrite keeps what a request may say and drops the rest.

// historyFields are the assistant-message members that only a response has, or that a
// response sends as null where a request must leave them out.
var historyFields = jsonx.NewNames("annotations", "refusal", "audio", "function_call", "tool_calls")

const (
	hAnnotations = iota
	hRefusal
	hAudio
	hFunctionCall
	hToolCalls
)

// responseOnly reports whether the member at it is one a request must not carry.
func responseOnly(it *jsonx.Iter) bool {
	v := it.Value()
	switch it.KeyIndex(historyFields) {
	case hAnnotations:
		return true
	case hRefusal, hFunctionCall, hToolCalls:
		return v.IsNull()
	case hAudio:
		return v.IsNull() || !v.IsObject() || !v.Get("id").IsString()
	}
	return false
}

// audioNeedsTrim reports whether an assistant message's audio carries more than its id.
func audioNeedsTrim(v jsonx.Value) bool {
	return v.IsObject() && v.Len() > 1
}

// needsCleanHistory reports whether any assistant message carries a response-only member.
func needsCleanHistory(messages jsonx.Value) bool {
	for it := messages.Iter(); it.Next(); {
		m := it.Value()
		if !m.IsObject() || !m.Get("role").StrIs("assistant") {
			continue
		}
		for f := m.Iter(); f.Next(); {
			if responseOnly(&f) || (f.KeyIndex(historyFields) == hAudio && audioNeedsTrim(f.Value())) {
				return true
			}
		}
	}
	return false
}

// writeCleanHistory writes messages with the response-only members of assistant messages
// removed and an assistant audio object reduced to its id (the only member a request takes).
func writeCleanHistory(w *jsonx.Writer, messages jsonx.Value) {
	w.Arr()
	for it := messages.Iter(); it.Next(); {
		m := it.Value()
		if !m.IsObject() || !m.Get("role").StrIs("assistant") {
			w.Raw(m.Raw())
			continue
		}
		w.Obj()
		for f := m.Iter(); f.Next(); {
			if responseOnly(&f) {
				continue
			}
			w.KeyEsc(f.Key())
			if v := f.Value(); f.KeyIndex(historyFields) == hAudio && audioNeedsTrim(v) {
				w.Obj()
				w.Key("id")
				w.Raw(v.Get("id").Raw())
				w.End()
				continue
			}
			w.Raw(f.Value().Raw())
		}
		w.End()
	}
	w.EndArr()
}
