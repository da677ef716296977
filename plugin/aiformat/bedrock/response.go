package bedrock

import (
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
)

// DecodeResponse reads a Converse response into r (one choice). Converse gives neither an id
// nor a model name; reasoning blocks are dropped.
func DecodeResponse(body string, r *hub.Response) *hub.Error {
	return hub.DecodeAnswer(body, r, answerFrom)
}

// answerFrom reads the parsed answer root into r (see DecodeResponse).
func answerFrom(root jsonx.Value, r *hub.Response) *hub.Error {
	ch := r.Choice(0)
	for it := root.Path("output", "message", "content").Iter(); it.Next(); {
		b := it.Value()
		if t := b.Get("text"); t.IsString() {
			ch.Text = append(ch.Text, t.Raw())
		}
		if tu := b.Get("toolUse"); tu.IsObject() {
			input := tu.Get("input").Raw()
			if input == "" {
				input = "{}"
			}
			ch.Tools = append(ch.Tools, hub.ToolCall{ID: tu.Get("toolUseId").Str(), Name: tu.Get("name").Str(), Args: input})
		}
	}
	ch.Finish = FinishFrom(root.Get("stopReason").Str())
	r.Usage = usageFrom(root.Get("usage"))
	return nil
}

// FinishFrom maps a Converse stopReason to the hub.
func FinishFrom(s string) hub.Finish {
	switch s {
	case "":
		return hub.FinishNone
	case "max_tokens", "model_context_window_exceeded":
		return hub.FinishLength
	case "tool_use":
		return hub.FinishToolCalls
	case "guardrail_intervened", "content_filtered":
		return hub.FinishContentFilter
	}
	return hub.FinishStop // end_turn, stop_sequence
}

var usageFields = jsonx.NewNames("inputTokens", "outputTokens", "totalTokens", "cacheReadInputTokens", "cacheWriteInputTokens")

// usageFrom reads Converse usage. Like Anthropic's, inputTokens leaves out cache reads and
// writes; the hub's prompt includes them.
func usageFrom(u jsonx.Value) hub.Usage {
	if !u.IsObject() {
		return hub.Usage{}
	}
	var f [5]jsonx.Value
	u.Fields(usageFields, f[:])
	cr, cw := f[3].Int(), f[4].Int()
	us := hub.Usage{Known: true, Prompt: f[0].Int() + cr + cw, Completion: f[1].Int(), Total: f[2].Int(), CacheRead: cr, CacheWrite: cw}
	if us.Total < us.Prompt+us.Completion {
		us.Total = us.Prompt + us.Completion
	}
	return us
}

// DecodeError reads a Bedrock error body ({"message": "..."}; some services spell it
// "Message"). The status gives the kind: Bedrock's exception names map onto statuses
// (ThrottlingException 429, AccessDeniedException 403, ValidationException 400, …).
func DecodeError(status int, body string) hub.Error {
	e := hub.Error{Status: status, Kind: hub.KindForStatus(status)}
	if gjson.Valid(body) {
		root := gjson.Parse(body)
		for _, k := range [...]string{"message", "Message"} {
			if m := root.Get(k); m.Type == gjson.String && m.Str != "" {
				e.Message = strings.Clone(m.Str)
				break
			}
		}
	}
	if e.Message == "" {
		e.Message = "upstream returned HTTP " + strconv.Itoa(status)
	}
	return e
}

// exceptionStatus is the HTTP status Bedrock gives each exception a stream may carry.
func exceptionStatus(name string) int {
	switch strings.ToLower(name) {
	case "throttlingexception", "modelnotreadyexception":
		return 429
	case "validationexception":
		return 400
	case "accessdeniedexception", "unrecognizedclientexception", "invalidsignatureexception":
		return 403
	case "resourcenotfoundexception":
		return 404
	case "serviceunavailableexception":
		return 503
	case "modeltimeoutexception":
		return 504
	}
	return 500 // internalServerException, modelStreamErrorException, unknown
}
