// Package bedrock is the aiformat codec for AWS Bedrock's Converse API (POST
// /model/{modelId}/converse and /converse-stream), an outbound provider only: hub requests are
// translated to Converse, and its JSON responses, event streams (already split into messages by
// package eventstream) and errors are translated back to the hub. Signing is package sigv4's.
package bedrock

import (
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/dataurl"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

// Service is Bedrock runtime's SigV4 service name.
const Service = "bedrock"

// maxModelID bounds a model id (an inference profile ARN included).
const maxModelID = 2048

// ModelIDSafe reports whether id can be sent as the {modelId} path segment: printable ASCII
// without spaces, not "." or "..". Path escapes every byte but the unreserved ones, so ':' and
// '/' (in model ids and ARNs) stay inside the segment.
func ModelIDSafe(id string) bool {
	if id == "" || len(id) > maxModelID || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// Path is the Converse (or ConverseStream) path for model under base.
func Path(base, model string, stream bool) string {
	b := make([]byte, 0, len(base)+len(model)+32)
	b = append(b, base...)
	b = append(b, "/model/"...)
	b = escapeSegment(b, model)
	if stream {
		b = append(b, "/converse-stream"...)
	} else {
		b = append(b, "/converse"...)
	}
	return string(b)
}

// escapeSegment percent-encodes every byte of s but the unreserved ones, as AWS's SDKs send a
// model id ("anthropic.claude-v2:1" → "anthropic.claude-v2%3A1").
func escapeSegment(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

func mpath(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

// hubFields are the hub request members the translation reads, found in one pass.
var hubFields = jsonx.NewNames("n", "max_completion_tokens", "max_tokens", "messages", "stop",
	"temperature", "top_p", "tools", "tool_choice")

const (
	hN = iota
	hMaxCompletionTokens
	hMaxTokens
	hMessages
	hStop
	hTemperature
	hTopP
	hTools
	hToolChoice
	hCount
)

// RequestFromHubDoc appends the Converse form of a parsed hub request to dst. The model goes
// in the path (Path), not the body. System and developer messages become "system" text blocks;
// consecutive tool results one user turn of toolResult blocks; images inline bytes.
func RequestFromHubDoc(dst []byte, root jsonx.Value, t hub.Target) ([]byte, *hub.Error) {
	var f [hCount]jsonx.Value
	root.Fields(hubFields, f[:])
	if n := f[hN]; n.Exists() && n.Int() > 1 {
		return dst, hub.Invalid("n", "Bedrock returns one choice; n must be 1")
	}
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	msgs := f[hMessages]
	w.Key("messages")
	w.Arr()
	if err := messages(&w, msgs); err != nil {
		return dst, err
	}
	w.EndArr()
	if err := system(&w, msgs); err != nil {
		return dst, err
	}
	inference(&w, &f, t)
	tools(&w, f[hTools], f[hToolChoice])
	w.End()
	return w.Buf, nil
}

func system(w *jsonx.Writer, msgs jsonx.Value) *hub.Error {
	open := false
	err := hub.EachSystem(msgs, func(i int, c jsonx.Value) *hub.Error {
		if !open {
			w.Key("system")
			w.Arr()
			open = true
		}
		return blocks(w, i, c, false)
	})
	if open && err == nil {
		w.EndArr()
	}
	return err
}

// blocks writes hub content (a string or parts) as Converse content blocks; empty text is
// skipped (Converse refuses blank text). Image parts are refused unless images is set.
func blocks(w *jsonx.Writer, i int, c jsonx.Value, images bool) *hub.Error {
	if c.IsString() {
		if c.Raw() != `""` {
			w.Wrap(`{"text":`, c.Raw(), `}`)
		}
		return nil
	}
	j := 0
	for it := c.Iter(); it.Next(); j++ {
		part := it.Value()
		p := mpath(i) + ".content[" + strconv.Itoa(j) + "]"
		switch part.Get("type").Str() {
		case "text":
			if t := part.Get("text"); t.IsString() && t.Raw() != `""` {
				w.Wrap(`{"text":`, t.Raw(), `}`)
			}
		case "image_url":
			if !images {
				return hub.Invalid(p, "images are only supported in user messages")
			}
			u := part.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			if err := image(w, p, u.Str()); err != nil {
				return err
			}
		default:
			return hub.Invalid(p+".type", "content part "+strconv.Quote(part.Get("type").String())+" is not supported by Bedrock")
		}
	}
	return nil
}

// image writes an inline image block. Converse takes bytes (or S3 locations), not URLs.
func image(w *jsonx.Writer, p, u string) *hub.Error {
	mt, data, ok := dataurl.Parse(u)
	format, known := strings.CutPrefix(mt, "image/")
	if format == "jpg" {
		format = "jpeg"
	}
	switch {
	case !ok:
		return hub.Invalid(p+".image_url.url", "Bedrock takes only inline base64 images (data: URLs)")
	case !known || format != "png" && format != "jpeg" && format != "gif" && format != "webp":
		return hub.Invalid(p+".image_url.url", "Bedrock takes png, jpeg, gif and webp images")
	}
	w.Open(`{"image":{"format":`)
	w.Str(format)
	w.More(`,"source":{"bytes":`)
	w.Str(data)
	w.Close(`}}}`)
	return nil
}

func messages(w *jsonx.Writer, msgs jsonx.Value) *hub.Error {
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
				w.Open(`{"role":"user","content":[`)
				inTools = true
			}
			toolResult(w, f[hub.MsgToolCallID], f[hub.MsgContent])
			continue
		}
		if inTools {
			w.Close(`]}`)
			inTools = false
		}
		var err *hub.Error
		switch role {
		case "user":
			w.Open(`{"role":"user","content":[`)
			err = blocks(w, i, f[hub.MsgContent], true)
			w.Close(`]}`)
		case "assistant":
			err = assistant(w, i, f[hub.MsgContent], f[hub.MsgToolCalls])
		default:
			err = hub.Invalid(mpath(i)+".role", "role "+strconv.Quote(role)+" is not supported by Bedrock")
		}
		if err != nil {
			return err
		}
	}
	if inTools {
		w.Close(`]}`)
	}
	return nil
}

func toolResult(w *jsonx.Writer, id, c jsonx.Value) {
	w.Open(`{"toolResult":{"toolUseId":`)
	w.Raw(id.Raw())
	w.More(`,"content":[`)
	if c.IsString() {
		w.Wrap(`{"text":`, c.Raw(), `}`)
	} else {
		for it := c.Iter(); it.Next(); {
			if t := it.Value().Get("text"); t.IsString() {
				w.Wrap(`{"text":`, t.Raw(), `}`)
			}
		}
	}
	w.Close(`]}}`)
}

func assistant(w *jsonx.Writer, i int, c, calls jsonx.Value) *hub.Error {
	w.Open(`{"role":"assistant","content":[`)
	if c.Exists() && !c.IsNull() {
		if err := blocks(w, i, c, false); err != nil {
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
		w.Open(`{"toolUse":{"toolUseId":`)
		w.Raw(tc.Get("id").Raw())
		w.More(`,"name":`)
		w.Raw(fn.Get("name").Raw())
		w.More(`,"input":`)
		w.Raw(args)
		w.Close(`}}`)
	}
	w.Close(`]}`)
	return nil
}

// inference writes inferenceConfig: maxTokens (capped by the target), temperature (capped at
// 1, Converse's maximum), topP and stopSequences; nothing when the request sets none of them.
func inference(w *jsonx.Writer, f *[hCount]jsonx.Value, t hub.Target) {
	open := false
	key := func(k string) {
		if !open {
			w.Key("inferenceConfig")
			w.Obj()
			open = true
		}
		w.Key(k)
	}
	if n := t.ClampMaxTokens(hub.RequestedMaxTokens(f[hMaxCompletionTokens], f[hMaxTokens])); n > 0 {
		key("maxTokens")
		w.Int(n)
	}
	if v := f[hTemperature]; v.IsNumber() {
		key("temperature")
		if v.Num() > 1 { // OpenAI's range is 0-2, Converse's 0-1
			w.Int(1)
		} else {
			w.Raw(v.Raw())
		}
	}
	if v := f[hTopP]; v.IsNumber() {
		key("topP")
		w.Raw(v.Raw())
	}
	if s := f[hStop]; hub.HasStop(s) {
		key("stopSequences")
		hub.WriteStop(w, s)
	}
	if open {
		w.End()
	}
}

// tools writes toolConfig. Converse has no "none" choice, and refuses toolUse blocks in the
// history without a toolConfig, so "none" keeps the tools and lets the model choose.
func tools(w *jsonx.Writer, tools, choice jsonx.Value) {
	if !tools.NonEmpty() {
		return
	}
	w.Key("toolConfig")
	w.Obj()
	w.Key("tools")
	w.Arr()
	for it := tools.Iter(); it.Next(); {
		fn := it.Value().Get("function")
		if !fn.Exists() {
			continue
		}
		w.Open(`{"toolSpec":{"name":`)
		w.Raw(fn.Get("name").Raw())
		if d := fn.Get("description"); d.IsString() && d.Raw() != `""` {
			w.More(`,"description":`)
			w.Raw(d.Raw())
		}
		schema := `{"type":"object","properties":{}}`
		if p := fn.Get("parameters"); p.IsObject() {
			schema = p.Raw()
		}
		w.More(`,"inputSchema":{"json":`)
		w.Raw(schema)
		w.Close(`}}}`)
	}
	w.EndArr()
	switch {
	case choice.StrIs("auto"):
		w.RawField("toolChoice", `{"auto":{}}`)
	case choice.StrIs("required"):
		w.RawField("toolChoice", `{"any":{}}`)
	case choice.IsObject():
		if n := choice.Path("function", "name"); n.IsString() {
			w.Key("toolChoice")
			w.Wrap(`{"tool":{"name":`, n.Raw(), `}}`)
		}
	}
	w.End()
}
