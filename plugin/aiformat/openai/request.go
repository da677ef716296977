// Package openai is the aiformat codec for OpenAI Chat Completions, which is also the hub
// format: it validates and inspects hub requests, rewrites them for OpenAI and
// OpenAI-compatible servers (field policy per provider), and decodes and encodes responses,
// stream chunks and errors. The sibling packages anthropic, gemini and ollama have the same
// shape.
package openai

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

var roles = jsonx.NewNames("system", "developer", "user", "assistant", "tool", "function")

// fieldNames are the request members InspectDoc checks; msgNames the message members.
var (
	fieldNames = jsonx.NewNames("model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
		"n", "seed", "temperature", "top_p", "presence_penalty", "frequency_penalty", "stop", "user", "tools",
		"tool_choice", "response_format")
	msgNames = jsonx.NewNames("role", "content", "tool_call_id", "tool_calls")
)

// Inspect validates a hub (OpenAI Chat Completions) request body and returns its view. Every
// error is a 400 naming the field.
func Inspect(body string) (hub.View, *hub.Error) {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	if !d.Parse(body) {
		return hub.View{}, hub.Invalid("", "request body is not valid JSON")
	}
	return InspectDoc(d.Root())
}

// InspectValid is Inspect for a body already known to be well-formed JSON (a hub request the
// codecs produced).
func InspectValid(body string) (hub.View, *hub.Error) {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(body)
	return InspectDoc(d.Root())
}

// InspectDoc is Inspect for a parsed body.
func InspectDoc(root jsonx.Value) (hub.View, *hub.Error) {
	var v hub.View
	if !root.IsObject() {
		return v, hub.Invalid("", "request body must be a JSON object")
	}
	v.N = 1
	for it := root.Iter(); it.Next(); {
		if i := it.KeyIndex(fieldNames); i >= 0 {
			if err := inspectField(&v, fieldNames.Name(i), it.Value()); err != nil {
				return v, err
			}
		}
	}
	if v.Model == "" {
		return v, hub.Invalid("model", "required")
	}
	if v.Messages == 0 {
		return v, hub.Invalid("messages", "required: a non-empty array")
	}
	return v, nil
}

func inspectField(v *hub.View, k string, val jsonx.Value) *hub.Error {
	switch k {
	case "model":
		if !val.IsString() || val.Raw() == `""` {
			return hub.Invalid("model", "must be a non-empty string")
		}
		v.Model = val.Str()
	case "messages":
		return inspectMessages(v, val)
	case "stream":
		if !val.IsBool() {
			return hub.Invalid(k, "must be a boolean")
		}
		v.Stream = val.IsTrue()
	case "stream_options":
		if val.IsNull() {
			return nil
		}
		if !val.IsObject() {
			return hub.Invalid(k, "must be an object")
		}
		iu := val.Get("include_usage")
		if iu.Exists() && !iu.IsBool() {
			return hub.Invalid("stream_options.include_usage", "must be a boolean")
		}
		v.IncludeUsage = iu.IsTrue()
	case "max_tokens", "max_completion_tokens":
		if val.IsNull() {
			return nil
		}
		if !isCount(val) {
			return hub.Invalid(k, "must be a non-negative integer")
		}
		if k == "max_completion_tokens" || v.MaxTokens == 0 {
			v.MaxTokens = val.Int()
		}
	case "n":
		if val.IsNull() {
			return nil
		}
		if !isCount(val) || val.Int() < 1 || val.Int() > 128 {
			return hub.Invalid(k, "must be an integer between 1 and 128")
		}
		v.N = val.Int()
	case "seed":
		if !val.IsNull() && !isInt(val) {
			return hub.Invalid(k, "must be an integer")
		}
	case "temperature", "top_p", "presence_penalty", "frequency_penalty":
		if !val.IsNull() && !val.IsNumber() {
			return hub.Invalid(k, "must be a number")
		}
	case "stop":
		return inspectStop(val)
	case "user":
		if !val.IsNull() && !val.IsString() {
			return hub.Invalid(k, "must be a string")
		}
	case "tools":
		return inspectTools(v, val)
	case "tool_choice":
		if !val.IsNull() && !val.IsString() && !val.IsObject() {
			return hub.Invalid(k, "must be a string or an object")
		}
	case "response_format":
		if val.IsNull() {
			return nil
		}
		if !val.IsObject() || !val.Get("type").IsString() {
			return hub.Invalid(k, "must be an object with a string type")
		}
	}
	return nil
}

func inspectStop(val jsonx.Value) *hub.Error {
	switch {
	case val.IsNull(), val.IsString():
		return nil
	case val.IsArray():
		i := 0
		for it := val.Iter(); it.Next(); i++ {
			if !it.Value().IsString() {
				return hub.Invalid("stop["+strconv.Itoa(i)+"]", "must be a string")
			}
		}
		return nil
	}
	return hub.Invalid("stop", "must be a string or an array of strings")
}

func inspectTools(v *hub.View, val jsonx.Value) *hub.Error {
	if val.IsNull() {
		return nil
	}
	if !val.IsArray() {
		return hub.Invalid("tools", "must be an array")
	}
	i := 0
	for it := val.Iter(); it.Next(); i++ {
		t := it.Value()
		p := func() string { return "tools[" + strconv.Itoa(i) + "]" }
		if !t.IsObject() {
			return hub.Invalid(p(), "must be an object")
		}
		if ty := t.Get("type"); ty.Exists() && !ty.StrIs("function") {
			continue // other tool kinds pass through to OpenAI untouched
		}
		fn := t.Get("function")
		name := fn.Get("name")
		if !fn.IsObject() || !name.IsString() || name.Raw() == `""` {
			return hub.Invalid(p()+".function.name", "required")
		}
		if ps := fn.Get("parameters"); ps.Exists() && !ps.IsObject() {
			return hub.Invalid(p()+".function.parameters", "must be an object")
		}
		v.PromptChars += len(fn.Raw())
	}
	return nil
}

func inspectMessages(v *hub.View, val jsonx.Value) *hub.Error {
	if !val.IsArray() {
		return hub.Invalid("messages", "must be an array")
	}
	i := 0
	for it := val.Iter(); it.Next(); i++ {
		if err := inspectMessage(v, i, it.Value()); err != nil {
			return err
		}
	}
	v.Messages = i
	return nil
}

// msgPath names message i; built only on the error path so valid requests do not allocate.
func msgPath(i int) string { return "messages[" + itoa(i) + "]" }

func inspectMessage(v *hub.View, mi int, m jsonx.Value) *hub.Error {
	if !m.IsObject() {
		return hub.Invalid(msgPath(mi), "must be an object")
	}
	// One pass over the members; a repeated member counts by its last occurrence.
	var role, content, toolCallID, toolCalls jsonx.Value
	for it := m.Iter(); it.Next(); {
		switch it.KeyIndex(msgNames) {
		case 0:
			role = it.Value()
		case 1:
			content = it.Value()
		case 2:
			toolCallID = it.Value()
		case 3:
			toolCalls = it.Value()
		}
	}
	if !role.IsString() {
		return hub.Invalid(msgPath(mi)+".role", "required")
	}
	ri := role.In(roles)
	if ri < 0 {
		return hub.Invalid(msgPath(mi)+".role", "unknown role "+strconv.Quote(role.Str()))
	}
	r := roles.Name(ri)
	switch {
	case content.IsString():
		v.PromptChars += len(content.Raw()) - 2
	case content.IsArray():
		if err := inspectParts(v, mi, content); err != nil {
			return err
		}
	case !content.Exists(), content.IsNull():
		if r != "assistant" {
			return hub.Invalid(msgPath(mi)+".content", "required")
		}
	default:
		return hub.Invalid(msgPath(mi)+".content", "must be a string or an array of content parts")
	}
	if r == "tool" && !toolCallID.IsString() {
		return hub.Invalid(msgPath(mi)+".tool_call_id", "required")
	}
	if toolCalls.Exists() && !toolCalls.IsNull() {
		return inspectToolCalls(v, mi, toolCalls)
	}
	return nil
}

func inspectToolCalls(v *hub.View, mi int, tc jsonx.Value) *hub.Error {
	if !tc.IsArray() {
		return hub.Invalid(msgPath(mi)+".tool_calls", "must be an array")
	}
	j := 0
	for it := tc.Iter(); it.Next(); j++ {
		call := it.Value()
		fn := call.Get("function")
		if !call.IsObject() || !fn.Get("name").IsString() {
			return hub.Invalid(msgPath(mi)+".tool_calls["+itoa(j)+"].function.name", "required")
		}
		if a := fn.Get("arguments"); a.Exists() && !a.IsString() {
			return hub.Invalid(msgPath(mi)+".tool_calls["+itoa(j)+"].function.arguments", "must be a string")
		}
		v.PromptChars += len(fn.Raw())
	}
	return nil
}

func inspectParts(v *hub.View, mi int, c jsonx.Value) *hub.Error {
	i := 0
	for it := c.Iter(); it.Next(); i++ {
		part := it.Value()
		q := func() string { return msgPath(mi) + ".content[" + itoa(i) + "]" }
		ty := part.Get("type")
		if !part.IsObject() || !ty.IsString() {
			return hub.Invalid(q()+".type", "required")
		}
		switch ty.Str() {
		case "text":
			t := part.Get("text")
			if !t.IsString() {
				return hub.Invalid(q()+".text", "must be a string")
			}
			v.PromptChars += len(t.Raw()) - 2
		case "image_url":
			u := part.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			if !u.IsString() {
				return hub.Invalid(q()+".image_url.url", "must be a string")
			}
			v.Images++
		}
	}
	return nil
}

func isInt(r jsonx.Value) bool {
	return r.IsNumber() && float64(int64(r.Num())) == r.Num()
}

func isCount(r jsonx.Value) bool { return isInt(r) && r.Num() >= 0 }

func itoa(i int) string { return strconv.Itoa(i) }
