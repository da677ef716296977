package gemini

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/dataurl"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

func mpath(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

// RequestFromHub appends the Gemini GenerateContentRequest form of a validated hub request to
// dst. System and developer messages become systemInstruction; assistant turns are role
// "model"; consecutive tool results become one user turn of functionResponse parts, named
// after the call they answer; tool parameters go as parametersJsonSchema (full JSON Schema).
func RequestFromHub(dst []byte, body string, t hub.Target) ([]byte, *hub.Error) {
	root := gjson.Parse(body)
	msgs := root.Get("messages")
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	if err := systemFromHub(&w, msgs); err != nil {
		return dst, err
	}
	w.Key("contents")
	w.Arr()
	if err := contentsFromHub(&w, msgs); err != nil {
		return dst, err
	}
	w.EndArr()
	toolsFromHub(&w, root)
	configFromHub(&w, root, t)
	w.End()
	return w.Buf, nil
}

func isSystem(role string) bool { return role == "system" || role == "developer" }

func systemFromHub(w *jsonx.Writer, msgs gjson.Result) *hub.Error {
	open := false
	var err *hub.Error
	i := 0
	msgs.ForEach(func(_, m gjson.Result) bool {
		defer func() { i++ }()
		if !isSystem(m.Get("role").Str) {
			return true
		}
		if !open {
			w.Key("systemInstruction")
			w.Obj()
			w.Key("parts")
			w.Arr()
			open = true
		}
		err = parts(w, i, m.Get("content"), false)
		return err == nil
	})
	if open {
		w.EndArr()
		w.End()
	}
	return err
}

// parts writes hub content (a string or parts) as Gemini parts.
func parts(w *jsonx.Writer, i int, c gjson.Result, images bool) *hub.Error {
	if c.Type == gjson.String {
		textPart(w, c.Raw)
		return nil
	}
	var err *hub.Error
	j := 0
	c.ForEach(func(_, part gjson.Result) bool {
		switch part.Get("type").Str {
		case "text":
			textPart(w, part.Get("text").Raw)
		case "image_url":
			if !images {
				err = hub.Invalid(mpath(i)+".content["+strconv.Itoa(j)+"]", "images are only supported in user messages")
				break
			}
			u := part.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			imagePartFromURL(w, u.Str)
		default:
			err = hub.Invalid(mpath(i)+".content["+strconv.Itoa(j)+"].type", "content part "+strconv.Quote(part.Get("type").String())+" is not supported by Gemini")
		}
		j++
		return err == nil
	})
	return err
}

func textPart(w *jsonx.Writer, lit string) {
	w.Obj()
	w.RawField("text", lit)
	w.End()
}

func imagePartFromURL(w *jsonx.Writer, u string) {
	w.Obj()
	if mt, data, ok := dataurl.Parse(u); ok {
		w.Key("inlineData")
		w.Obj()
		w.StrField("mimeType", mt)
		w.StrField("data", data)
		w.End()
	} else {
		w.Key("fileData")
		w.Obj()
		if mt := dataurl.GuessType(u); mt != "" {
			w.StrField("mimeType", mt)
		}
		w.StrField("fileUri", u)
		w.End()
	}
	w.End()
}

func contentsFromHub(w *jsonx.Writer, msgs gjson.Result) *hub.Error {
	var names [][2]string // tool call id -> function name, from assistant turns
	inTools := false
	var err *hub.Error
	i := 0
	msgs.ForEach(func(_, m gjson.Result) bool {
		defer func() { i++ }()
		role := m.Get("role").Str
		if isSystem(role) {
			return true
		}
		if role == "tool" {
			if !inTools {
				w.Obj()
				w.StrField("role", "user")
				w.Key("parts")
				w.Arr()
				inTools = true
			}
			functionResponse(w, m, names)
			return true
		}
		if inTools {
			w.EndArr()
			w.End()
			inTools = false
		}
		switch role {
		case "user":
			w.Obj()
			w.StrField("role", "user")
			w.Key("parts")
			w.Arr()
			err = parts(w, i, m.Get("content"), true)
			w.EndArr()
			w.End()
		case "assistant":
			names, err = modelFromHub(w, i, m, names)
		default:
			err = hub.Invalid(mpath(i)+".role", "role "+strconv.Quote(role)+" is not supported by Gemini")
		}
		return err == nil
	})
	if inTools {
		w.EndArr()
		w.End()
	}
	return err
}

func modelFromHub(w *jsonx.Writer, i int, m gjson.Result, names [][2]string) ([][2]string, *hub.Error) {
	w.Obj()
	w.StrField("role", "model")
	w.Key("parts")
	w.Arr()
	c := m.Get("content")
	if c.Type == gjson.String && c.Raw != `""` || c.IsArray() {
		if err := parts(w, i, c, false); err != nil {
			return names, err
		}
	}
	var err *hub.Error
	j := 0
	m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		args, ok := jsonx.ArgsObject(tc.Get("function.arguments").Str)
		if !ok {
			err = hub.Invalid(mpath(i)+".tool_calls["+strconv.Itoa(j)+"].function.arguments", "must be a JSON object")
			return false
		}
		name := tc.Get("function.name")
		names = append(names, [2]string{tc.Get("id").Str, name.Str})
		w.Obj()
		w.Key("functionCall")
		w.Obj()
		w.RawField("name", name.Raw)
		w.RawField("args", args)
		w.End()
		w.End()
		j++
		return true
	})
	w.EndArr()
	w.End()
	return names, err
}

// functionResponse writes one tool result. Gemini wants an object: a JSON object result is
// passed as it is, anything else is wrapped as {"output": text}.
func functionResponse(w *jsonx.Writer, m gjson.Result, names [][2]string) {
	id := m.Get("tool_call_id").Str
	name := id
	for k := len(names) - 1; k >= 0; k-- {
		if names[k][0] == id {
			name = names[k][1]
			break
		}
	}
	w.Obj()
	w.Key("functionResponse")
	w.Obj()
	w.StrField("name", name)
	w.Key("response")
	c := m.Get("content")
	var text []byte
	if c.Type == gjson.String {
		text = jsonx.AppendUnquoted(nil, c.Raw)
	} else {
		c.ForEach(func(_, p gjson.Result) bool {
			text = jsonx.AppendUnquoted(text, p.Get("text").Raw)
			return true
		})
	}
	if obj, ok := jsonx.ArgsObject(string(text)); ok && len(text) > 0 {
		w.Raw(obj)
	} else {
		w.Obj()
		w.Key("output")
		w.Str(string(text))
		w.End()
	}
	w.End()
	w.End()
}

func toolsFromHub(w *jsonx.Writer, root gjson.Result) {
	n := 0
	root.Get("tools").ForEach(func(_, tool gjson.Result) bool {
		fn := tool.Get("function")
		if !fn.Exists() {
			return true
		}
		if n == 0 {
			w.Key("tools")
			w.Arr()
			w.Obj()
			w.Key("functionDeclarations")
			w.Arr()
		}
		n++
		w.Obj()
		w.RawField("name", fn.Get("name").Raw)
		if d := fn.Get("description"); d.Type == gjson.String {
			w.RawField("description", d.Raw)
		}
		if p := fn.Get("parameters"); p.IsObject() {
			w.RawField("parametersJsonSchema", p.Raw)
		}
		w.End()
		return true
	})
	if n > 0 {
		w.EndArr()
		w.End()
		w.EndArr()
	}
	tc := root.Get("tool_choice")
	mode, name := "", ""
	switch {
	case tc.Type == gjson.String:
		switch tc.Str {
		case "auto":
			mode = "AUTO"
		case "none":
			mode = "NONE"
		case "required":
			mode = "ANY"
		}
	case tc.IsObject():
		if nm := tc.Get("function.name"); nm.Type == gjson.String {
			mode, name = "ANY", nm.Raw
		}
	}
	if mode == "" {
		return
	}
	w.Key("toolConfig")
	w.Obj()
	w.Key("functionCallingConfig")
	w.Obj()
	w.StrField("mode", mode)
	if name != "" {
		w.Key("allowedFunctionNames")
		w.Arr()
		w.Raw(name)
		w.EndArr()
	}
	w.End()
	w.End()
}

func configFromHub(w *jsonx.Writer, root gjson.Result, t hub.Target) {
	open := false
	field := func(k string) {
		if !open {
			w.Key("generationConfig")
			w.Obj()
			open = true
		}
		w.Key(k)
	}
	for _, m := range [...][2]string{
		{"temperature", "temperature"}, {"top_p", "topP"}, {"n", "candidateCount"}, {"seed", "seed"},
		{"presence_penalty", "presencePenalty"}, {"frequency_penalty", "frequencyPenalty"},
	} {
		if v := root.Get(m[0]); v.Type == gjson.Number {
			field(m[1])
			w.Raw(v.Raw)
		}
	}
	n := root.Get("max_completion_tokens").Int()
	if n == 0 {
		n = root.Get("max_tokens").Int()
	}
	if t.MaxTokens > 0 && (n == 0 || n > t.MaxTokens) {
		n = t.MaxTokens
	}
	if n > 0 {
		field("maxOutputTokens")
		w.Int(n)
	}
	if s := root.Get("stop"); s.Type == gjson.String {
		field("stopSequences")
		w.Arr()
		w.Raw(s.Raw)
		w.EndArr()
	} else if s.IsArray() {
		field("stopSequences")
		w.Raw(s.Raw)
	}
	rf := root.Get("response_format")
	switch rf.Get("type").Str {
	case "json_object":
		field("responseMimeType")
		w.Str("application/json")
	case "json_schema":
		field("responseMimeType")
		w.Str("application/json")
		if s := rf.Get("json_schema.schema"); s.IsObject() {
			field("responseJsonSchema")
			w.Raw(s.Raw)
		}
	}
	if open {
		w.End()
	}
}

// Rewrite adjusts a Gemini request going to a Gemini provider: only a max-tokens cap can
// change the body (the model is in the path).
func Rewrite(dst []byte, body string, t hub.Target) []byte {
	if t.MaxTokens > 0 {
		n := gjson.Get(body, "generationConfig.maxOutputTokens").Int()
		if n == 0 || n > t.MaxTokens {
			if out, err := sjson.SetBytes([]byte(body), "generationConfig.maxOutputTokens", t.MaxTokens); err == nil {
				return append(dst, out...)
			}
		}
	}
	return append(dst, body...)
}
