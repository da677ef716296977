// Package anthropic is the aiformat codec for the Anthropic Messages API (POST /v1/messages),
// in both roles: an inbound dialect translated into the hub (RequestToHub, AppendResponse,
// StreamEncoder, AppendError) and an outbound provider translated from the hub
// (RequestFromHub, DecodeResponse, StreamDecoder, DecodeError).
package anthropic

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

// Version is the anthropic-version header value used when the provider configures none.
const Version = "2023-06-01"

func mpath(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

func bpath(i, j int) string { return mpath(i) + ".content[" + strconv.Itoa(j) + "]" }

// RequestToHub appends the hub (OpenAI Chat Completions) form of an Anthropic Messages request
// to dst. Fields with no hub equivalent (top_k, thinking, cache_control...) are dropped;
// content the hub cannot carry (documents, server tools) is refused with a 400 naming it.
func RequestToHub(dst []byte, body string) ([]byte, *hub.Error) {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	if !d.Parse(body) {
		return dst, hub.Invalid("", "request body is not valid JSON")
	}
	return RequestToHubDoc(dst, d.Root())
}

// RequestToHubDoc is RequestToHub for a body parsed without error.
func RequestToHubDoc(dst []byte, root jsonx.Value) ([]byte, *hub.Error) {
	if !root.IsObject() {
		return dst, hub.Invalid("", "request body must be a JSON object")
	}
	model := root.Get("model")
	if !model.IsString() || model.Raw() == `""` {
		return dst, hub.Invalid("model", "must be a non-empty string")
	}
	msgs := root.Get("messages")
	if !msgs.NonEmpty() {
		return dst, hub.Invalid("messages", "required: a non-empty array")
	}
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	w.RawField("model", model.Raw())
	w.Key("messages")
	w.Arr()
	if err := systemToHub(&w, root.Get("system")); err != nil {
		return dst, err
	}
	i := 0
	for it := msgs.Iter(); it.Next(); i++ {
		if err := messageToHub(&w, i, it.Value()); err != nil {
			return dst, err
		}
	}
	w.EndArr()
	if err := paramsToHub(&w, root); err != nil {
		return dst, err
	}
	w.End()
	return w.Buf, nil
}

func systemToHub(w *jsonx.Writer, sys jsonx.Value) *hub.Error {
	switch {
	case !sys.Exists(), sys.IsNull():
		return nil
	case sys.IsString():
		w.Obj()
		w.StrField("role", "system")
		w.RawField("content", sys.Raw())
		w.End()
		return nil
	case sys.IsArray():
		var litBuf [8]string // most turns have few text parts: no allocation
		lits := litBuf[:0]
		j := 0
		for it := sys.Iter(); it.Next(); j++ {
			b := it.Value()
			t := b.Get("text")
			if !b.Get("type").StrIs("text") || !t.IsString() {
				return hub.Invalid("system["+strconv.Itoa(j)+"]", "only text blocks are supported")
			}
			if len(lits) > 0 {
				lits = append(lits, `"\n"`)
			}
			lits = append(lits, t.Raw())
		}
		w.Obj()
		w.StrField("role", "system")
		w.Key("content")
		w.LitConcat(lits)
		w.End()
		return nil
	}
	return hub.Invalid("system", "must be a string or an array of text blocks")
}

// turnFields are the members of a message that the translation reads; turnRoles its roles.
var (
	turnFields = jsonx.NewNames("role", "content")
	turnRoles  = jsonx.NewNames("user", "assistant")
)

func messageToHub(w *jsonx.Writer, i int, m jsonx.Value) *hub.Error {
	var f [2]jsonx.Value
	m.Fields(turnFields, f[:])
	r, c := f[0].In(turnRoles), f[1]
	if r < 0 {
		return hub.Invalid(mpath(i)+".role", "must be \"user\" or \"assistant\"")
	}
	role := turnRoles.Name(r)
	switch {
	case c.IsString():
		if role == "user" {
			w.Wrap(`{"role":"user","content":`, c.Raw(), `}`)
		} else {
			w.Wrap(`{"role":"assistant","content":`, c.Raw(), `}`)
		}
		return nil
	case !c.IsArray():
		return hub.Invalid(mpath(i)+".content", "must be a string or an array of content blocks")
	case role == "assistant":
		return assistantToHub(w, i, c)
	}
	return userToHub(w, i, c)
}

// userToHub writes tool results first (as hub tool messages, which must directly follow the
// assistant's tool calls), then the rest of the user's blocks as one user message.
func userToHub(w *jsonx.Writer, i int, c jsonx.Value) *hub.Error {
	parts := 0
	var firstText jsonx.Value // the text of the first text block
	seenText := false
	j := 0
	for it := c.Iter(); it.Next(); j++ {
		b := it.Value()
		switch b.Get("type").Str() {
		case "tool_result":
			if err := toolResultToHub(w, i, j, b); err != nil {
				return err
			}
		case "text":
			if !seenText {
				firstText, seenText = b.Get("text"), true
			}
			parts++
		case "image":
			parts++
		default:
			return unsupportedBlock(i, j, b)
		}
	}
	if parts == 0 {
		return nil
	}
	w.Obj()
	w.StrField("role", "user")
	w.Key("content")
	if parts == 1 && firstText.IsString() {
		w.Raw(firstText.Raw()) // a lone text block: the plain string form every OpenAI-compatible server takes
		w.End()
		return nil
	}
	w.Arr()
	j = 0
	var err *hub.Error
	for it := c.Iter(); it.Next(); j++ {
		b := it.Value()
		switch b.Get("type").Str() {
		case "text":
			t := b.Get("text")
			if !t.IsString() {
				err = hub.Invalid(bpath(i, j)+".text", "must be a string")
			} else {
				w.Obj()
				w.StrField("type", "text")
				w.RawField("text", t.Raw())
				w.End()
			}
		case "image":
			err = imageToHub(w, bpath(i, j), b)
		}
		if err != nil {
			break
		}
	}
	w.EndArr()
	w.End()
	return err
}

func unsupportedBlock(i, j int, b jsonx.Value) *hub.Error {
	return hub.Invalid(bpath(i, j)+".type", "unsupported content block "+strconv.Quote(b.Get("type").String()))
}

func imageToHub(w *jsonx.Writer, p string, b jsonx.Value) *hub.Error {
	src := b.Get("source")
	w.Obj()
	w.StrField("type", "image_url")
	w.Key("image_url")
	w.Obj()
	w.Key("url")
	switch src.Get("type").Str() {
	case "base64":
		mt, data := src.Get("media_type"), src.Get("data")
		if !mt.IsString() || !data.IsString() {
			return hub.Invalid(p+".source", "base64 source needs media_type and data")
		}
		w.OpenStr()
		w.Buf = append(w.Buf, "data:"...)
		w.Buf = jsonx.AppendLitInner(w.Buf, mt.Raw())
		w.Buf = append(w.Buf, ";base64,"...)
		w.Buf = jsonx.AppendLitInner(w.Buf, data.Raw())
		w.CloseStr()
	case "url":
		u := src.Get("url")
		if !u.IsString() {
			return hub.Invalid(p+".source.url", "must be a string")
		}
		w.Raw(u.Raw())
	default:
		return hub.Invalid(p+".source.type", "must be \"base64\" or \"url\"")
	}
	w.End()
	w.End()
	return nil
}

func toolResultToHub(w *jsonx.Writer, i, j int, b jsonx.Value) *hub.Error {
	id := b.Get("tool_use_id")
	if !id.IsString() {
		return hub.Invalid(bpath(i, j)+".tool_use_id", "required")
	}
	w.Obj()
	w.StrField("role", "tool")
	w.RawField("tool_call_id", id.Raw())
	w.Key("content")
	c := b.Get("content")
	switch {
	case c.IsString():
		w.Raw(c.Raw())
	case c.IsArray():
		var litBuf [8]string // most turns have few text parts: no allocation
		lits := litBuf[:0]
		for it := c.Iter(); it.Next(); {
			tb := it.Value()
			if t := tb.Get("text"); tb.Get("type").StrIs("text") && t.IsString() {
				lits = append(lits, t.Raw())
			}
		}
		w.LitConcat(lits)
	default:
		w.Str("")
	}
	w.End()
	return nil
}

func assistantToHub(w *jsonx.Writer, i int, c jsonx.Value) *hub.Error {
	var litBuf [8]string // most turns have few text parts: no allocation
	lits := litBuf[:0]
	tools := 0
	j := 0
	for it := c.Iter(); it.Next(); j++ {
		b := it.Value()
		switch b.Get("type").Str() {
		case "text":
			if t := b.Get("text"); t.IsString() {
				lits = append(lits, t.Raw())
			}
		case "tool_use":
			tools++
		case "thinking", "redacted_thinking":
		default:
			return unsupportedBlock(i, j, b)
		}
	}
	w.Obj()
	w.StrField("role", "assistant")
	w.Key("content")
	if len(lits) == 0 && tools > 0 {
		w.Null()
	} else {
		w.LitConcat(lits)
	}
	if tools > 0 {
		w.Key("tool_calls")
		w.Arr()
		for it := c.Iter(); it.Next(); {
			b := it.Value()
			if !b.Get("type").StrIs("tool_use") {
				continue
			}
			w.Obj()
			w.RawField("id", b.Get("id").Raw())
			w.StrField("type", "function")
			w.Key("function")
			w.Obj()
			w.RawField("name", b.Get("name").Raw())
			input := b.Get("input").Raw()
			if input == "" {
				input = "{}"
			}
			w.Key("arguments")
			w.RawAsString(input)
			w.End()
			w.End()
		}
		w.EndArr()
	}
	w.End()
	return nil
}

func paramsToHub(w *jsonx.Writer, root jsonx.Value) *hub.Error {
	for _, k := range [...]string{"max_tokens", "temperature", "top_p"} {
		v := root.Get(k)
		if !v.Exists() || v.IsNull() {
			continue
		}
		if !v.IsNumber() {
			return hub.Invalid(k, "must be a number")
		}
		w.RawField(k, v.Raw())
	}
	if s := root.Get("stop_sequences"); s.Exists() && !s.IsNull() {
		if !s.IsArray() {
			return hub.Invalid("stop_sequences", "must be an array of strings")
		}
		w.RawField("stop", s.Raw())
	}
	if s := root.Get("stream"); s.IsTrue() {
		w.Key("stream")
		w.Bool(true)
		w.Key("stream_options")
		w.Raw(`{"include_usage":true}`)
	}
	if u := root.Path("metadata", "user_id"); u.IsString() {
		w.RawField("user", u.Raw())
	}
	if err := toolsToHub(w, root.Get("tools")); err != nil {
		return err
	}
	tc := root.Get("tool_choice")
	switch tc.Get("type").Str() {
	case "auto":
		w.StrField("tool_choice", "auto")
	case "any":
		w.StrField("tool_choice", "required")
	case "none":
		w.StrField("tool_choice", "none")
	case "tool":
		w.Key("tool_choice")
		w.Obj()
		w.StrField("type", "function")
		w.Key("function")
		w.Obj()
		w.RawField("name", tc.Get("name").Raw())
		w.End()
		w.End()
	}
	if tc.Get("disable_parallel_tool_use").IsTrue() {
		w.Key("parallel_tool_calls")
		w.Bool(false)
	}
	return nil
}

func toolsToHub(w *jsonx.Writer, tools jsonx.Value) *hub.Error {
	if !tools.Exists() || tools.IsNull() {
		return nil
	}
	if !tools.IsArray() {
		return hub.Invalid("tools", "must be an array")
	}
	w.Key("tools")
	w.Arr()
	j := 0
	for it := tools.Iter(); it.Next(); j++ {
		t := it.Value()
		if ty := t.Get("type").Str(); ty != "" && ty != "custom" {
			return hub.Invalid("tools["+strconv.Itoa(j)+"].type", "server tool "+strconv.Quote(ty)+" is not supported")
		}
		name := t.Get("name")
		if !name.IsString() {
			return hub.Invalid("tools["+strconv.Itoa(j)+"].name", "required")
		}
		w.Obj()
		w.StrField("type", "function")
		w.Key("function")
		w.Obj()
		w.RawField("name", name.Raw())
		if d := t.Get("description"); d.IsString() {
			w.RawField("description", d.Raw())
		}
		if s := t.Get("input_schema"); s.IsObject() {
			w.RawField("parameters", s.Raw())
		}
		w.End()
		w.End()
	}
	w.EndArr()
	return nil
}
