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
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(body)
	return RequestFromHubDoc(dst, d.Root(), t)
}

// RequestFromHubDoc is RequestFromHub for a parsed hub request.
func RequestFromHubDoc(dst []byte, root jsonx.Value, t hub.Target) ([]byte, *hub.Error) {
	var f [hCount]jsonx.Value
	root.Fields(hubFields, f[:])
	msgs := f[hMessages]
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
	toolsFromHub(&w, &f)
	configFromHub(&w, &f, t)
	w.End()
	return w.Buf, nil
}

// hubFields are the hub request members the translation reads, found in one pass; the
// sampling parameters come first, in the order of samplingNames.
var hubFields = jsonx.NewNames("temperature", "top_p", "n", "seed", "presence_penalty", "frequency_penalty",
	"messages", "tools", "tool_choice", "max_completion_tokens", "max_tokens", "stop", "response_format")

// samplingNames are the generationConfig names of the first hubFields.
var samplingNames = [...]string{"temperature", "topP", "candidateCount", "seed", "presencePenalty", "frequencyPenalty"}

const (
	hMessages = len(samplingNames) + iota
	hTools
	hToolChoice
	hMaxCompletionTokens
	hMaxTokens
	hStop
	hResponseFormat
	hCount
)

func systemFromHub(w *jsonx.Writer, msgs jsonx.Value) *hub.Error {
	open := false
	err := hub.EachSystem(msgs, func(i int, c jsonx.Value) *hub.Error {
		if !open {
			w.Key("systemInstruction")
			w.Obj()
			w.Key("parts")
			w.Arr()
			open = true
		}
		return parts(w, i, c, false)
	})
	if open && err == nil {
		w.EndArr()
		w.End()
	}
	return err
}

// parts writes hub content (a string or parts) as Gemini parts.
func parts(w *jsonx.Writer, i int, c jsonx.Value, images bool) *hub.Error {
	if c.IsString() {
		textPart(w, c.Raw())
		return nil
	}
	j := 0
	for it := c.Iter(); it.Next(); j++ {
		part := it.Value()
		switch part.Get("type").Str() {
		case "text":
			textPart(w, part.Get("text").Raw())
		case "image_url":
			if !images {
				return hub.Invalid(mpath(i)+".content["+strconv.Itoa(j)+"]", "images are only supported in user messages")
			}
			u := part.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			imagePartFromURL(w, u.Str())
		default:
			return hub.Invalid(mpath(i)+".content["+strconv.Itoa(j)+"].type", "content part "+strconv.Quote(part.Get("type").String())+" is not supported by Gemini")
		}
	}
	return nil
}

func textPart(w *jsonx.Writer, lit string) {
	w.Wrap(`{"text":`, lit, `}`)
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

func contentsFromHub(w *jsonx.Writer, msgs jsonx.Value) *hub.Error {
	var names [][2]string // tool call id -> function name, from assistant turns
	inTools := false
	i := 0
	var f [hub.MsgFieldCount]jsonx.Value
	for it := msgs.Iter(); it.Next(); i++ {
		it.Value().Fields(hub.MessageFields, f[:])
		role := f[hub.MsgRole].Str()
		if hub.IsSystem(role) {
			continue
		}
		if role == "tool" {
			if !inTools {
				w.Obj()
				w.StrField("role", "user")
				w.Key("parts")
				w.Arr()
				inTools = true
			}
			functionResponse(w, f[hub.MsgToolCallID], f[hub.MsgContent], names)
			continue
		}
		if inTools {
			w.EndArr()
			w.End()
			inTools = false
		}
		var err *hub.Error
		switch role {
		case "user":
			w.Open(`{"role":"user","parts":[`)
			err = parts(w, i, f[hub.MsgContent], true)
			w.Close(`]}`)
		case "assistant":
			names, err = modelFromHub(w, i, f[hub.MsgContent], f[hub.MsgToolCalls], names)
		default:
			err = hub.Invalid(mpath(i)+".role", "role "+strconv.Quote(role)+" is not supported by Gemini")
		}
		if err != nil {
			return err
		}
	}
	if inTools {
		w.EndArr()
		w.End()
	}
	return nil
}

func modelFromHub(w *jsonx.Writer, i int, c, calls jsonx.Value, names [][2]string) ([][2]string, *hub.Error) {
	w.Open(`{"role":"model","parts":[`)
	if c.IsString() && c.Raw() != `""` || c.IsArray() {
		if err := parts(w, i, c, false); err != nil {
			return names, err
		}
	}
	j := 0
	for it := calls.Iter(); it.Next(); j++ {
		tc := it.Value()
		fn := tc.Get("function")
		args, ok := jsonx.ArgsObject(fn.Get("arguments").Str())
		if !ok {
			return names, hub.Invalid(mpath(i)+".tool_calls["+strconv.Itoa(j)+"].function.arguments", "must be a JSON object")
		}
		name := fn.Get("name")
		names = append(names, [2]string{tc.Get("id").Str(), name.Str()})
		w.Obj()
		w.Key("functionCall")
		w.Obj()
		w.RawField("name", name.Raw())
		w.RawField("args", args)
		w.End()
		w.End()
	}
	w.EndArr()
	w.End()
	return names, nil
}

// functionResponse writes one tool result. Gemini wants an object: a JSON object result is
// passed as it is, anything else is wrapped as {"output": text}.
func functionResponse(w *jsonx.Writer, callID, c jsonx.Value, names [][2]string) {
	id := callID.Str()
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
	var text []byte
	if c.IsString() {
		text = jsonx.AppendUnquoted(nil, c.Raw())
	} else {
		for it := c.Iter(); it.Next(); {
			text = jsonx.AppendUnquoted(text, it.Value().Get("text").Raw())
		}
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

func toolsFromHub(w *jsonx.Writer, f *[hCount]jsonx.Value) {
	n := 0
	for it := f[hTools].Iter(); it.Next(); {
		fn := it.Value().Get("function")
		if !fn.Exists() {
			continue
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
		w.RawField("name", fn.Get("name").Raw())
		if d := fn.Get("description"); d.IsString() {
			w.RawField("description", d.Raw())
		}
		if p := fn.Get("parameters"); p.IsObject() {
			w.RawField("parametersJsonSchema", p.Raw())
		}
		w.End()
	}
	if n > 0 {
		w.EndArr()
		w.End()
		w.EndArr()
	}
	tc := f[hToolChoice]
	mode, name := "", ""
	switch {
	case tc.IsString():
		switch tc.Str() {
		case "auto":
			mode = "AUTO"
		case "none":
			mode = "NONE"
		case "required":
			mode = "ANY"
		}
	case tc.IsObject():
		if nm := tc.Path("function", "name"); nm.IsString() {
			mode, name = "ANY", nm.Raw()
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

func configFromHub(w *jsonx.Writer, f *[hCount]jsonx.Value, t hub.Target) {
	open := false
	field := func(k string) {
		if !open {
			w.Key("generationConfig")
			w.Obj()
			open = true
		}
		w.Key(k)
	}
	for i, name := range samplingNames {
		if v := f[i]; v.IsNumber() {
			field(name)
			w.Raw(v.Raw())
		}
	}
	if n := t.ClampMaxTokens(hub.RequestedMaxTokens(f[hMaxCompletionTokens], f[hMaxTokens])); n > 0 {
		field("maxOutputTokens")
		w.Int(n)
	}
	if s := f[hStop]; hub.HasStop(s) {
		field("stopSequences")
		hub.WriteStop(w, s)
	}
	rf := f[hResponseFormat]
	switch rf.Get("type").Str() {
	case "json_object":
		field("responseMimeType")
		w.Str("application/json")
	case "json_schema":
		field("responseMimeType")
		w.Str("application/json")
		if s := rf.Path("json_schema", "schema"); s.IsObject() {
			field("responseJsonSchema")
			w.Raw(s.Raw())
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
