// Package openai is the aiformat codec for OpenAI Chat Completions, which is also the hub
// format: it validates and inspects hub requests, rewrites them for OpenAI and
// OpenAI-compatible servers (field policy per provider), and decodes and encodes responses,
// stream chunks and errors. The sibling packages anthropic, gemini and ollama have the same
// shape.
package openai

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/tidwall/gjson"
)

var roles = [...]string{"system", "developer", "user", "assistant", "tool", "function"}

// Inspect validates a hub (OpenAI Chat Completions) request body and returns its view. Every
// error is a 400 naming the field.
func Inspect(body string) (hub.View, *hub.Error) {
	if !gjson.Valid(body) {
		return hub.View{}, hub.Invalid("", "request body is not valid JSON")
	}
	return InspectValid(body)
}

// InspectValid is Inspect for a body already known to be well-formed JSON (a hub request the
// codecs produced), skipping the syntax pass.
func InspectValid(body string) (hub.View, *hub.Error) {
	var v hub.View
	root := gjson.Parse(body)
	if !root.IsObject() {
		return v, hub.Invalid("", "request body must be a JSON object")
	}
	v.N = 1
	var err *hub.Error
	root.ForEach(func(k, val gjson.Result) bool {
		err = inspectField(&v, k.Str, val)
		return err == nil
	})
	if err != nil {
		return v, err
	}
	if v.Model == "" {
		return v, hub.Invalid("model", "required")
	}
	if v.Messages == 0 {
		return v, hub.Invalid("messages", "required: a non-empty array")
	}
	return v, nil
}

func inspectField(v *hub.View, k string, val gjson.Result) *hub.Error {
	switch k {
	case "model":
		if val.Type != gjson.String || val.Str == "" {
			return hub.Invalid("model", "must be a non-empty string")
		}
		v.Model = val.Str
	case "messages":
		return inspectMessages(v, val)
	case "stream":
		if !isBool(val) {
			return hub.Invalid(k, "must be a boolean")
		}
		v.Stream = val.Bool()
	case "stream_options":
		if val.Type == gjson.Null {
			return nil
		}
		if !val.IsObject() {
			return hub.Invalid(k, "must be an object")
		}
		iu := val.Get("include_usage")
		if iu.Exists() && !isBool(iu) {
			return hub.Invalid("stream_options.include_usage", "must be a boolean")
		}
		v.IncludeUsage = iu.Bool()
	case "max_tokens", "max_completion_tokens":
		if val.Type == gjson.Null {
			return nil
		}
		if !isCount(val) {
			return hub.Invalid(k, "must be a non-negative integer")
		}
		if k == "max_completion_tokens" || v.MaxTokens == 0 {
			v.MaxTokens = val.Int()
		}
	case "n":
		if val.Type == gjson.Null {
			return nil
		}
		if !isCount(val) || val.Int() < 1 || val.Int() > 128 {
			return hub.Invalid(k, "must be an integer between 1 and 128")
		}
		v.N = val.Int()
	case "seed":
		if val.Type != gjson.Null && !isInt(val) {
			return hub.Invalid(k, "must be an integer")
		}
	case "temperature", "top_p", "presence_penalty", "frequency_penalty":
		if val.Type != gjson.Null && val.Type != gjson.Number {
			return hub.Invalid(k, "must be a number")
		}
	case "stop":
		return inspectStop(val)
	case "user":
		if val.Type != gjson.Null && val.Type != gjson.String {
			return hub.Invalid(k, "must be a string")
		}
	case "tools":
		return inspectTools(v, val)
	case "tool_choice":
		if val.Type != gjson.Null && val.Type != gjson.String && !val.IsObject() {
			return hub.Invalid(k, "must be a string or an object")
		}
	case "response_format":
		if val.Type == gjson.Null {
			return nil
		}
		if !val.IsObject() || val.Get("type").Type != gjson.String {
			return hub.Invalid(k, "must be an object with a string type")
		}
	}
	return nil
}

func inspectStop(val gjson.Result) *hub.Error {
	switch {
	case val.Type == gjson.Null, val.Type == gjson.String:
		return nil
	case val.IsArray():
		var err *hub.Error
		i := 0
		val.ForEach(func(_, s gjson.Result) bool {
			if s.Type != gjson.String {
				err = hub.Invalid("stop["+strconv.Itoa(i)+"]", "must be a string")
			}
			i++
			return err == nil
		})
		return err
	}
	return hub.Invalid("stop", "must be a string or an array of strings")
}

func inspectTools(v *hub.View, val gjson.Result) *hub.Error {
	if val.Type == gjson.Null {
		return nil
	}
	if !val.IsArray() {
		return hub.Invalid("tools", "must be an array")
	}
	var err *hub.Error
	i := 0
	val.ForEach(func(_, t gjson.Result) bool {
		p := func() string { return "tools[" + strconv.Itoa(i) + "]" }
		defer func() { i++ }()
		if !t.IsObject() {
			err = hub.Invalid(p(), "must be an object")
			return false
		}
		if ty := t.Get("type"); ty.Exists() && ty.Str != "function" {
			return true // other tool kinds pass through to OpenAI untouched
		}
		fn := t.Get("function")
		if !fn.IsObject() || fn.Get("name").Type != gjson.String || fn.Get("name").Str == "" {
			err = hub.Invalid(p()+".function.name", "required")
			return false
		}
		if ps := fn.Get("parameters"); ps.Exists() && !ps.IsObject() {
			err = hub.Invalid(p()+".function.parameters", "must be an object")
			return false
		}
		v.PromptChars += len(fn.Raw)
		return true
	})
	return err
}

func inspectMessages(v *hub.View, val gjson.Result) *hub.Error {
	if !val.IsArray() {
		return hub.Invalid("messages", "must be an array")
	}
	var err *hub.Error
	i := 0
	val.ForEach(func(_, m gjson.Result) bool {
		err = inspectMessage(v, i, m)
		i++
		return err == nil
	})
	v.Messages = i
	return err
}

// msgPath names message i; built only on the error path so valid requests do not allocate.
func msgPath(i int) string { return "messages[" + itoa(i) + "]" }

func inspectMessage(v *hub.View, mi int, m gjson.Result) *hub.Error {
	if !m.IsObject() {
		return hub.Invalid(msgPath(mi), "must be an object")
	}
	// One pass over the members: content is most of the bytes, and every Get would scan it.
	var role, content, toolCallID, toolCalls gjson.Result
	m.ForEach(func(k, val gjson.Result) bool {
		switch k.Str {
		case "role":
			role = val
		case "content":
			content = val
		case "tool_call_id":
			toolCallID = val
		case "tool_calls":
			toolCalls = val
		}
		return true
	})
	if role.Type != gjson.String {
		return hub.Invalid(msgPath(mi)+".role", "required")
	}
	known := false
	for _, r := range roles {
		if role.Str == r {
			known = true
		}
	}
	if !known {
		return hub.Invalid(msgPath(mi)+".role", "unknown role "+strconv.Quote(role.Str))
	}
	switch {
	case content.Type == gjson.String:
		v.PromptChars += len(content.Raw) - 2
	case content.IsArray():
		if err := inspectParts(v, mi, content); err != nil {
			return err
		}
	case !content.Exists(), content.Type == gjson.Null:
		if role.Str != "assistant" {
			return hub.Invalid(msgPath(mi)+".content", "required")
		}
	default:
		return hub.Invalid(msgPath(mi)+".content", "must be a string or an array of content parts")
	}
	if role.Str == "tool" && toolCallID.Type != gjson.String {
		return hub.Invalid(msgPath(mi)+".tool_call_id", "required")
	}
	if toolCalls.Exists() && toolCalls.Type != gjson.Null {
		return inspectToolCalls(v, mi, toolCalls)
	}
	return nil
}

func inspectToolCalls(v *hub.View, mi int, tc gjson.Result) *hub.Error {
	if !tc.IsArray() {
		return hub.Invalid(msgPath(mi)+".tool_calls", "must be an array")
	}
	var err *hub.Error
	j := 0
	tc.ForEach(func(_, call gjson.Result) bool {
		fn := call.Get("function")
		if !call.IsObject() || fn.Get("name").Type != gjson.String {
			err = hub.Invalid(msgPath(mi)+".tool_calls["+itoa(j)+"].function.name", "required")
			return false
		}
		if a := fn.Get("arguments"); a.Exists() && a.Type != gjson.String {
			err = hub.Invalid(msgPath(mi)+".tool_calls["+itoa(j)+"].function.arguments", "must be a string")
			return false
		}
		j++
		v.PromptChars += len(fn.Raw)
		return true
	})
	return err
}

func inspectParts(v *hub.View, mi int, c gjson.Result) *hub.Error {
	var err *hub.Error
	i := 0
	c.ForEach(func(_, part gjson.Result) bool {
		q := func() string { return msgPath(mi) + ".content[" + itoa(i) + "]" }
		defer func() { i++ }()
		ty := part.Get("type")
		if !part.IsObject() || ty.Type != gjson.String {
			err = hub.Invalid(q()+".type", "required")
			return false
		}
		switch ty.Str {
		case "text":
			t := part.Get("text")
			if t.Type != gjson.String {
				err = hub.Invalid(q()+".text", "must be a string")
				return false
			}
			v.PromptChars += len(t.Raw) - 2
		case "image_url":
			u := part.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			if u.Type != gjson.String {
				err = hub.Invalid(q()+".image_url.url", "must be a string")
				return false
			}
			v.Images++
		}
		return true
	})
	return err
}

func isBool(r gjson.Result) bool { return r.Type == gjson.True || r.Type == gjson.False }

func isInt(r gjson.Result) bool {
	return r.Type == gjson.Number && float64(int64(r.Num)) == r.Num
}

func isCount(r gjson.Result) bool { return isInt(r) && r.Num >= 0 }

func itoa(i int) string { return strconv.Itoa(i) }
