package anthropic

import (
	"strconv"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/dataurl"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

// DefaultMaxTokens is used when neither the request nor the provider sets max_tokens, which
// Anthropic requires.
const DefaultMaxTokens = 4096

// RequestFromHub appends the Anthropic Messages form of a validated hub request to dst. System
// and developer messages (wherever they are) become the top-level system blocks in order;
// consecutive tool results become one user turn of tool_result blocks; images become base64
// or url sources.
func RequestFromHub(dst []byte, body string, t hub.Target) ([]byte, *hub.Error) {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(body)
	return RequestFromHubDoc(dst, d.Root(), t)
}

// hubFields are the hub request members RequestFromHubDoc reads, found in one pass.
var hubFields = jsonx.NewNames("n", "model", "max_completion_tokens", "max_tokens", "messages", "stop",
	"temperature", "top_p", "user", "tools", "tool_choice", "parallel_tool_calls")

const (
	hN = iota
	hModel
	hMaxCompletionTokens
	hMaxTokens
	hMessages
	hStop
	hTemperature
	hTopP
	hUser
	hTools
	hToolChoice
	hParallelToolCalls
	hCount
)

// RequestFromHubDoc is RequestFromHub for a parsed hub request.
func RequestFromHubDoc(dst []byte, root jsonx.Value, t hub.Target) ([]byte, *hub.Error) {
	var f [hCount]jsonx.Value
	root.Fields(hubFields, f[:])
	if n := f[hN]; n.Exists() && n.Int() > 1 {
		return dst, hub.Invalid("n", "Anthropic returns one choice; n must be 1")
	}
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	model := t.Model
	if model == "" {
		model = f[hModel].Str()
	}
	w.StrField("model", model)
	w.IntField("max_tokens", maxTokens(f[hMaxCompletionTokens], f[hMaxTokens], t))
	msgs := f[hMessages]
	if err := systemFromHub(&w, msgs); err != nil {
		return dst, err
	}
	w.Key("messages")
	w.Arr()
	if err := messagesFromHub(&w, msgs); err != nil {
		return dst, err
	}
	w.EndArr()
	paramsFromHub(&w, &f, t)
	w.End()
	return w.Buf, nil
}

// maxTokens is the request's budget, else the provider's or Anthropic's default (Anthropic
// requires one), capped by the target.
func maxTokens(maxCompletion, max jsonx.Value, t hub.Target) int64 {
	n := hub.RequestedMaxTokens(maxCompletion, max)
	if n == 0 {
		n = t.DefaultMaxTokens
	}
	if n == 0 {
		n = DefaultMaxTokens
	}
	return t.ClampMaxTokens(n)
}

func systemFromHub(w *jsonx.Writer, msgs jsonx.Value) *hub.Error {
	open := false
	err := hub.EachSystem(msgs, func(i int, c jsonx.Value) *hub.Error {
		if !open {
			w.Key("system")
			w.Arr()
			open = true
		}
		return textBlocks(w, i, c, false)
	})
	if open && err == nil {
		w.EndArr()
	}
	return err
}

// textBlocks writes the text of hub content (a string or parts) as Anthropic text blocks.
// Empty strings are skipped: Anthropic rejects empty text blocks. With images set, image parts
// become image blocks; otherwise they are refused.
func textBlocks(w *jsonx.Writer, i int, c jsonx.Value, images bool) *hub.Error {
	if c.IsString() {
		if c.Raw() != `""` {
			textBlock(w, c.Raw())
		}
		return nil
	}
	j := 0
	for it := c.Iter(); it.Next(); j++ {
		part := it.Value()
		switch part.Get("type").Str() {
		case "text":
			if t := part.Get("text"); t.Raw() != `""` {
				textBlock(w, t.Raw())
			}
		case "image_url":
			if !images {
				return hub.Invalid(mpath(i)+".content["+strconv.Itoa(j)+"]", "images are only supported in user messages")
			}
			u := part.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			imageBlock(w, u.Str())
		default:
			return hub.Invalid(mpath(i)+".content["+strconv.Itoa(j)+"].type", "content part "+strconv.Quote(part.Get("type").String())+" is not supported by Anthropic")
		}
	}
	return nil
}

func textBlock(w *jsonx.Writer, lit string) {
	w.Wrap(`{"type":"text","text":`, lit, `}`)
}

func imageBlock(w *jsonx.Writer, u string) {
	w.Obj()
	w.StrField("type", "image")
	w.Key("source")
	w.Obj()
	if mt, data, ok := dataurl.Parse(u); ok {
		w.StrField("type", "base64")
		w.StrField("media_type", mt)
		w.StrField("data", data)
	} else {
		w.StrField("type", "url")
		w.StrField("url", u)
	}
	w.End()
	w.End()
}

func messagesFromHub(w *jsonx.Writer, msgs jsonx.Value) *hub.Error {
	inTools := false // inside a user turn made of tool results
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
				w.Key("content")
				w.Arr()
				inTools = true
			}
			toolResult(w, f[hub.MsgToolCallID], f[hub.MsgContent])
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
			err = userFromHub(w, i, f[hub.MsgContent])
		case "assistant":
			err = assistantFromHub(w, i, f[hub.MsgContent], f[hub.MsgToolCalls])
		default:
			err = hub.Invalid(mpath(i)+".role", "role "+strconv.Quote(role)+" is not supported by Anthropic")
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

func toolResult(w *jsonx.Writer, id, c jsonx.Value) {
	w.Obj()
	w.StrField("type", "tool_result")
	w.RawField("tool_use_id", id.Raw())
	if c.IsString() {
		w.RawField("content", c.Raw())
	} else {
		w.Key("content")
		w.Arr()
		for it := c.Iter(); it.Next(); {
			if t := it.Value().Get("text"); t.IsString() && t.Raw() != `""` {
				textBlock(w, t.Raw())
			}
		}
		w.EndArr()
	}
	w.End()
}

func userFromHub(w *jsonx.Writer, i int, c jsonx.Value) *hub.Error {
	if c.IsString() {
		w.Wrap(`{"role":"user","content":`, c.Raw(), `}`)
		return nil
	}
	w.Open(`{"role":"user","content":[`)
	err := textBlocks(w, i, c, true)
	w.Close(`]}`)
	return err
}

func assistantFromHub(w *jsonx.Writer, i int, c, calls jsonx.Value) *hub.Error {
	w.Open(`{"role":"assistant","content":[`)
	if c.Exists() && !c.IsNull() {
		if err := textBlocks(w, i, c, false); err != nil {
			return err
		}
	}
	j := 0
	for it := calls.Iter(); it.Next(); j++ {
		tc := it.Value()
		fn := tc.Get("function")
		args, ok := jsonx.ArgsObject(fn.Get("arguments").Str())
		if !ok {
			return hub.Invalid(mpath(i)+".tool_calls["+strconv.Itoa(j)+"].function.arguments", "must be a JSON object")
		}
		w.Obj()
		w.StrField("type", "tool_use")
		w.RawField("id", tc.Get("id").Raw())
		w.RawField("name", fn.Get("name").Raw())
		w.RawField("input", args)
		w.End()
	}
	w.Close(`]}`)
	return nil
}

func paramsFromHub(w *jsonx.Writer, f *[hCount]jsonx.Value, t hub.Target) {
	if s := f[hStop]; hub.HasStop(s) {
		w.Key("stop_sequences")
		hub.WriteStop(w, s)
	}
	if v := f[hTemperature]; v.IsNumber() {
		if v.Num() > 1 { // OpenAI's range is 0-2, Anthropic's 0-1
			w.Key("temperature")
			w.Int(1)
		} else {
			w.RawField("temperature", v.Raw())
		}
	}
	if v := f[hTopP]; v.IsNumber() {
		w.RawField("top_p", v.Raw())
	}
	if t.Stream {
		w.Key("stream")
		w.Bool(true)
	}
	if u := f[hUser]; u.IsString() {
		w.Key("metadata")
		w.Obj()
		w.RawField("user_id", u.Raw())
		w.End()
	}
	tools := f[hTools]
	if tools.NonEmpty() {
		w.Key("tools")
		w.Arr()
		for it := tools.Iter(); it.Next(); {
			fn := it.Value().Get("function")
			if !fn.Exists() {
				continue
			}
			w.Obj()
			w.RawField("name", fn.Get("name").Raw())
			if d := fn.Get("description"); d.IsString() {
				w.RawField("description", d.Raw())
			}
			if p := fn.Get("parameters"); p.IsObject() {
				w.RawField("input_schema", p.Raw())
			} else {
				w.RawField("input_schema", `{"type":"object","properties":{}}`)
			}
			w.End()
		}
		w.EndArr()
	}
	toolChoiceFromHub(w, f[hToolChoice], f[hParallelToolCalls])
}

func toolChoiceFromHub(w *jsonx.Writer, tc, parallel jsonx.Value) {
	noParallel := parallel.Kind() == jsonx.False
	kind, name := "", ""
	switch {
	case tc.IsString():
		switch s := tc.Str(); s {
		case "auto", "none":
			kind = s
		case "required":
			kind = "any"
		}
	case tc.IsObject():
		if n := tc.Path("function", "name"); n.IsString() {
			kind, name = "tool", n.Raw()
		}
	}
	if kind == "" && noParallel {
		kind = "auto"
	}
	if kind == "" {
		return
	}
	w.Key("tool_choice")
	w.Obj()
	w.StrField("type", kind)
	if name != "" {
		w.RawField("name", name)
	}
	if noParallel && kind != "none" {
		w.Key("disable_parallel_tool_use")
		w.Bool(true)
	}
	w.End()
}

// Rewrite adjusts an Anthropic request going to an Anthropic provider unchanged otherwise:
// the upstream model name, the max_tokens cap, a default max_tokens, and stream as decided.
func Rewrite(dst []byte, body string, t hub.Target) []byte {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(body)
	return RewriteDoc(dst, d.Root(), t)
}

// RewriteDoc is Rewrite for a parsed request.
func RewriteDoc(dst []byte, root jsonx.Value, t hub.Target) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	for it := root.Iter(); it.Next(); {
		k := it.Key()
		switch k {
		case "model":
			if t.Model != "" {
				w.StrField("model", t.Model)
				continue
			}
		case "max_tokens":
			continue
		}
		w.KeyEsc(k)
		w.Raw(it.Value().Raw())
	}
	w.IntField("max_tokens", maxTokens(root.Get("max_completion_tokens"), root.Get("max_tokens"), t))
	w.End()
	return w.Buf
}
