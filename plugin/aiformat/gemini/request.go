// Package gemini is the aiformat codec for the Google Gemini API (generateContent and
// streamGenerateContent?alt=sse), in both roles: an inbound dialect translated into the hub and
// an outbound provider translated from the hub. The model travels in the URL path, not the
// body: ParsePath and Path handle it.
package gemini

import (
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

// ParsePath reads ".../models/{model}:generateContent" or ":streamGenerateContent". ok is
// false for any other path.
func ParsePath(path string) (model string, stream, ok bool) {
	i := strings.LastIndex(path, "/models/")
	if i < 0 {
		return "", false, false
	}
	rest := path[i+len("/models/"):]
	c := strings.LastIndexByte(rest, ':')
	if c <= 0 {
		return "", false, false
	}
	switch rest[c+1:] {
	case "generateContent":
	case "streamGenerateContent":
		stream = true
	default:
		return "", false, false
	}
	return rest[:c], stream, true
}

// Path is the upstream path for model under base (for example "/v1beta").
func Path(base, model string, stream bool) string {
	if stream {
		return base + "/models/" + model + ":streamGenerateContent?alt=sse"
	}
	return base + "/models/" + model + ":generateContent"
}

func cpath(i int) string { return "contents[" + strconv.Itoa(i) + "]" }

func ppath(i, j int) string { return cpath(i) + ".parts[" + strconv.Itoa(j) + "]" }

// callIDs pairs Gemini function calls, which may have no id, with the ids the hub needs:
// a call without id gets "call_<n>", and a response without id takes the oldest unanswered
// call of the same name.
type callIDs struct {
	n       int
	pending [][2]string // {id, name}
}

func (c *callIDs) call(id, name string) string {
	if id == "" {
		id = "call_" + strconv.Itoa(c.n)
	}
	c.n++
	c.pending = append(c.pending, [2]string{id, name})
	return id
}

func (c *callIDs) response(id, name string) string {
	for k, p := range c.pending {
		if (id != "" && p[0] == id) || (id == "" && p[1] == name) {
			c.pending = append(c.pending[:k], c.pending[k+1:]...)
			return p[0]
		}
	}
	if id != "" {
		return id
	}
	return "call_" + name
}

// RequestToHub appends the hub form of a Gemini GenerateContentRequest for model to dst.
func RequestToHub(dst []byte, body, model string, stream bool) ([]byte, *hub.Error) {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	if !d.Parse(body) {
		return dst, hub.Invalid("", "request body is not valid JSON")
	}
	return RequestToHubDoc(dst, d.Root(), model, stream)
}

// RequestToHubDoc is RequestToHub for a body parsed without error.
func RequestToHubDoc(dst []byte, root jsonx.Value, model string, stream bool) ([]byte, *hub.Error) {
	if !root.IsObject() {
		return dst, hub.Invalid("", "request body must be a JSON object")
	}
	if model == "" {
		return dst, hub.Invalid("model", "missing from the path")
	}
	contents := root.Get("contents")
	if !contents.NonEmpty() {
		return dst, hub.Invalid("contents", "required: a non-empty array")
	}
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	w.StrField("model", model)
	w.Key("messages")
	w.Arr()
	if err := systemToHub(&w, root.Get("systemInstruction")); err != nil {
		return dst, err
	}
	var ids callIDs
	i := 0
	for it := contents.Iter(); it.Next(); i++ {
		if err := contentToHub(&w, &ids, i, it.Value()); err != nil {
			return dst, err
		}
	}
	w.EndArr()
	if stream {
		w.Key("stream")
		w.Bool(true)
		w.Key("stream_options")
		w.Raw(`{"include_usage":true}`)
	}
	if err := configToHub(&w, root.Get("generationConfig")); err != nil {
		return dst, err
	}
	if err := toolsToHub(&w, root); err != nil {
		return dst, err
	}
	w.End()
	return w.Buf, nil
}

func systemToHub(w *jsonx.Writer, si jsonx.Value) *hub.Error {
	if !si.Exists() || si.IsNull() {
		return nil
	}
	if !si.IsObject() {
		return hub.Invalid("systemInstruction", "must be a Content object")
	}
	var litBuf [8]string // most turns have few text parts: no allocation
	lits := litBuf[:0]
	for it := si.Get("parts").Iter(); it.Next(); {
		if t := it.Value().Get("text"); t.IsString() {
			if len(lits) > 0 {
				lits = append(lits, `"\n"`)
			}
			lits = append(lits, t.Raw())
		}
	}
	w.Obj()
	w.StrField("role", "system")
	w.Key("content")
	w.LitConcat(lits)
	w.End()
	return nil
}

// contentFields and inPartFields are the members of a Content and of a Part that the
// translation reads.
var (
	contentFields = jsonx.NewNames("parts", "role")
	inPartFields  = jsonx.NewNames("text", "functionResponse", "inlineData", "fileData")
)

const (
	ipText = iota
	ipFunctionResponse
	ipInlineData
	ipFileData
	ipCount
)

func contentToHub(w *jsonx.Writer, ids *callIDs, i int, c jsonx.Value) *hub.Error {
	var f [2]jsonx.Value
	c.Fields(contentFields, f[:])
	parts := f[0]
	if !c.IsObject() || !parts.IsArray() {
		return hub.Invalid(cpath(i)+".parts", "required: an array")
	}
	switch role := f[1].Str(); role {
	case "", "user", "function":
		return userToHub(w, ids, i, parts)
	case "model":
		return modelToHub(w, ids, i, parts)
	default:
		return hub.Invalid(cpath(i)+".role", "unknown role "+strconv.Quote(role))
	}
}

// userToHub writes function responses first, as hub tool messages, then the other parts as
// one user message.
func userToHub(w *jsonx.Writer, ids *callIDs, i int, parts jsonx.Value) *hub.Error {
	others, j := 0, 0
	var firstText jsonx.Value // the first part whose text is a string
	var pf [ipCount]jsonx.Value
	for it := parts.Iter(); it.Next(); j++ {
		it.Value().Fields(inPartFields, pf[:])
		text := pf[ipText]
		if text.IsString() && !firstText.Exists() {
			firstText = text
		}
		switch {
		case pf[ipFunctionResponse].Exists():
			fr := pf[ipFunctionResponse]
			name := fr.Get("name")
			if !name.IsString() {
				return hub.Invalid(ppath(i, j)+".functionResponse.name", "required")
			}
			w.Obj()
			w.StrField("role", "tool")
			w.StrField("tool_call_id", ids.response(fr.Get("id").Str(), name.Str()))
			w.Key("content")
			resp := fr.Get("response")
			if out := resp.Get("output"); out.IsString() && resp.Len() < 2 {
				w.Raw(out.Raw()) // {"output": text}: the text itself (what RequestFromHub wraps)
			} else if resp.Exists() {
				w.RawAsString(resp.Raw())
			} else {
				w.Str("{}")
			}
			w.End()
		case text.IsString(), pf[ipInlineData].Exists(), pf[ipFileData].Exists():
			others++
		default:
			return hub.Invalid(ppath(i, j), "unsupported part (want text, inlineData, fileData or functionResponse)")
		}
	}
	if others == 0 {
		return nil
	}
	if others == 1 && firstText.IsString() {
		// a lone text part: the plain string form every OpenAI-compatible server takes
		w.Wrap(`{"role":"user","content":`, firstText.Raw(), `}`)
		return nil
	}
	w.Open(`{"role":"user","content":[`)
	j = 0
	var err *hub.Error
	for it := parts.Iter(); it.Next(); j++ {
		p := it.Value()
		if t := p.Get("text"); t.IsString() {
			w.Wrap(`{"type":"text","text":`, t.Raw(), `}`)
		} else if d := p.Get("inlineData"); d.Exists() {
			mt, data := d.Get("mimeType"), d.Get("data")
			if !mt.IsString() || !data.IsString() {
				err = hub.Invalid(ppath(i, j)+".inlineData", "needs mimeType and data")
				break
			}
			imagePart(w, func() {
				w.Buf = append(w.Buf, "data:"...)
				w.Buf = jsonx.AppendLitInner(w.Buf, mt.Raw())
				w.Buf = append(w.Buf, ";base64,"...)
				w.Buf = jsonx.AppendLitInner(w.Buf, data.Raw())
			})
		} else if f := p.Path("fileData", "fileUri"); f.IsString() {
			imagePart(w, func() { w.Buf = jsonx.AppendLitInner(w.Buf, f.Raw()) })
		}
	}
	w.Close(`]}`)
	return err
}

func imagePart(w *jsonx.Writer, url func()) {
	w.Obj()
	w.StrField("type", "image_url")
	w.Key("image_url")
	w.Obj()
	w.Key("url")
	w.OpenStr()
	url()
	w.CloseStr()
	w.End()
	w.End()
}

func modelToHub(w *jsonx.Writer, ids *callIDs, i int, parts jsonx.Value) *hub.Error {
	var litBuf [8]string // most turns have few text parts: no allocation
	lits := litBuf[:0]
	calls := 0
	for it := parts.Iter(); it.Next(); {
		p := it.Value()
		if t := p.Get("text"); t.IsString() && !p.Get("thought").IsTrue() {
			lits = append(lits, t.Raw())
		}
		if p.Get("functionCall").Exists() {
			calls++
		}
	}
	w.Obj()
	w.StrField("role", "assistant")
	w.Key("content")
	if len(lits) == 0 && calls > 0 {
		w.Null()
	} else {
		w.LitConcat(lits)
	}
	var err *hub.Error
	if calls > 0 {
		w.Key("tool_calls")
		w.Arr()
		j := 0
		for it := parts.Iter(); it.Next(); j++ {
			fc := it.Value().Get("functionCall")
			if !fc.Exists() {
				continue
			}
			name := fc.Get("name")
			if !name.IsString() {
				err = hub.Invalid(ppath(i, j)+".functionCall.name", "required")
				break
			}
			args := fc.Get("args").Raw()
			if args == "" {
				args = "{}"
			}
			w.Obj()
			w.StrField("id", ids.call(fc.Get("id").Str(), name.Str()))
			w.StrField("type", "function")
			w.Key("function")
			w.Obj()
			w.RawField("name", name.Raw())
			w.Key("arguments")
			w.RawAsString(args)
			w.End()
			w.End()
		}
		w.EndArr()
	}
	w.End()
	return err
}

func configToHub(w *jsonx.Writer, gc jsonx.Value) *hub.Error {
	if !gc.Exists() || gc.IsNull() {
		return nil
	}
	if !gc.IsObject() {
		return hub.Invalid("generationConfig", "must be an object")
	}
	for _, m := range [...][2]string{
		{"temperature", "temperature"}, {"topP", "top_p"}, {"maxOutputTokens", "max_tokens"},
		{"candidateCount", "n"}, {"seed", "seed"}, {"presencePenalty", "presence_penalty"},
		{"frequencyPenalty", "frequency_penalty"},
	} {
		v := gc.Get(m[0])
		if !v.Exists() || v.IsNull() {
			continue
		}
		if !v.IsNumber() {
			return hub.Invalid("generationConfig."+m[0], "must be a number")
		}
		w.RawField(m[1], v.Raw())
	}
	if s := gc.Get("stopSequences"); s.IsArray() {
		w.RawField("stop", s.Raw())
	}
	if gc.Get("responseMimeType").StrIs("application/json") {
		schema := gc.Get("responseJsonSchema")
		if !schema.Exists() {
			schema = gc.Get("responseSchema")
		}
		w.Key("response_format")
		w.Obj()
		if schema.IsObject() {
			w.StrField("type", "json_schema")
			w.Key("json_schema")
			w.Obj()
			w.StrField("name", "response")
			w.Key("schema")
			appendSchema(w, schema, 0)
			w.End()
		} else {
			w.StrField("type", "json_object")
		}
		w.End()
	}
	return nil
}

func toolsToHub(w *jsonx.Writer, root jsonx.Value) *hub.Error {
	tools := root.Get("tools")
	if !tools.Exists() || tools.IsNull() {
		return nil
	}
	if !tools.IsArray() {
		return hub.Invalid("tools", "must be an array")
	}
	var err *hub.Error
	n := 0
	i := 0
	for it := tools.Iter(); it.Next() && err == nil; i++ {
		fds := it.Value().Get("functionDeclarations")
		if !fds.IsArray() {
			err = hub.Invalid("tools["+strconv.Itoa(i)+"]", "only functionDeclarations are supported")
			break
		}
		for fit := fds.Iter(); fit.Next(); {
			fd := fit.Value()
			name := fd.Get("name")
			if !name.IsString() {
				err = hub.Invalid("tools["+strconv.Itoa(i)+"].functionDeclarations.name", "required")
				break
			}
			if n == 0 {
				w.Key("tools")
				w.Arr()
			}
			n++
			w.Obj()
			w.StrField("type", "function")
			w.Key("function")
			w.Obj()
			w.RawField("name", name.Raw())
			if d := fd.Get("description"); d.IsString() {
				w.RawField("description", d.Raw())
			}
			if p := fd.Get("parametersJsonSchema"); p.IsObject() {
				w.RawField("parameters", p.Raw())
			} else if p := fd.Get("parameters"); p.IsObject() {
				w.Key("parameters")
				appendSchema(w, p, 0)
			}
			w.End()
			w.End()
		}
	}
	if n > 0 {
		w.EndArr()
	}
	if err != nil {
		return err
	}
	fcc := root.Path("toolConfig", "functionCallingConfig")
	allowed := fcc.Get("allowedFunctionNames")
	switch fcc.Get("mode").Str() {
	case "AUTO":
		w.StrField("tool_choice", "auto")
	case "NONE":
		w.StrField("tool_choice", "none")
	case "ANY":
		if allowed.NonEmpty() && !allowed.Index(1).Exists() {
			w.Key("tool_choice")
			w.Obj()
			w.StrField("type", "function")
			w.Key("function")
			w.Obj()
			w.RawField("name", allowed.Index(0).Raw())
			w.End()
			w.End()
		} else {
			w.StrField("tool_choice", "required")
		}
	}
	return nil
}

// maxSchemaDepth bounds the recursion of appendSchema; deeper schemas are copied as they are.
const maxSchemaDepth = 32

// appendSchema copies a Gemini (OpenAPI 3.0 subset) schema as JSON Schema: the upper-case
// type names Gemini accepts ("OBJECT", "STRING") become lower case.
func appendSchema(w *jsonx.Writer, s jsonx.Value, depth int) {
	if depth > maxSchemaDepth || (!s.IsObject() && !s.IsArray()) {
		w.Raw(s.Raw())
		return
	}
	if s.IsArray() {
		w.Arr()
		for it := s.Iter(); it.Next(); {
			appendSchema(w, it.Value(), depth+1)
		}
		w.EndArr()
		return
	}
	w.Obj()
	for it := s.Iter(); it.Next(); {
		k, v := it.Key(), it.Value()
		w.KeyEsc(k)
		if k == "type" && v.IsString() {
			w.Str(strings.ToLower(v.Str()))
			continue
		}
		appendSchema(w, v, depth+1)
	}
	w.End()
}
