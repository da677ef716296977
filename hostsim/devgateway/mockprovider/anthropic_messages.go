package mockprovider

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// antMessage is what the pairing checks and the reply need of one message.
type antMessage struct {
	role      string
	toolUses  []string // tool_use ids (assistant)
	results   []string // tool_result tool_use_ids (user)
	resultLoc []string // loc of each tool_result block
	texts     []string
	images    int
	outputs   []string // tool_result contents, rendered as text
}

func (v *antValidator) messages(x gjson.Result) *apiError {
	if err := antList("messages", x); err != nil {
		return err
	}
	arr := x.Array()
	if len(arr) == 0 {
		return antInvalid("messages: at least one message is required")
	}
	msgs := make([]antMessage, len(arr))
	for i, m := range arr {
		am, err := v.message(i, m, i == len(arr)-1)
		if err != nil {
			return err
		}
		msgs[i] = am
	}
	if err := antPairing(msgs); err != nil {
		return err
	}
	v.lastTurn(msgs)
	return nil
}

func (v *antValidator) message(i int, m gjson.Result, last bool) (antMessage, *apiError) {
	l := fmt.Sprintf("messages.%d", i)
	var am antMessage
	if err := antObject(l, m); err != nil {
		return am, err
	}
	for _, k := range []string{"role", "content"} {
		if !field(m, k).Exists() {
			return am, antInvalid("%s.%s: Field required", l, k)
		}
	}
	if err := antOnlyKeys(l, m, "role", "content"); err != nil {
		return am, err
	}
	role := field(m, "role")
	if err := antLiteral(l+".role", role, "user", "assistant"); err != nil {
		return am, err
	}
	am.role = role.String()
	content := field(m, "content")
	empty := antInvalid("messages.%d: all messages must have non-empty content except for the optional final "+
		"assistant message", i)
	switch {
	case content.Type == gjson.String:
		if content.String() == "" && !(last && am.role == "assistant") {
			return am, empty
		}
		am.texts = append(am.texts, content.String())
	case content.IsArray():
		blocks := content.Array()
		if len(blocks) == 0 && !(last && am.role == "assistant") {
			return am, empty
		}
		for j, b := range blocks {
			if err := v.block(fmt.Sprintf("%s.content.%d", l, j), b, &am); err != nil {
				return am, err
			}
		}
	default:
		return am, antInvalid("%s.content: Input should be a valid list", l)
	}
	for _, t := range am.texts {
		v.c.conv.addText(t)
	}
	return am, nil
}

// block validates one content block and records what it carries in am.
func (v *antValidator) block(l string, b gjson.Result, am *antMessage) *apiError {
	typ, err := antTag(l, b, antBlockTypes...)
	if err != nil {
		return err
	}
	l += "." + typ
	switch typ {
	case "text":
		text, err := v.textBlock(l, b)
		am.texts = append(am.texts, text)
		return err
	case "image":
		am.images++
		v.c.conv.images++
		return antImage(l, b)
	case "document":
		if err := antOnlyKeys(l, b, "type", "source", "title", "context", "citations", "cache_control"); err != nil {
			return err
		}
		if !field(b, "source").Exists() {
			return antInvalid("%s.source: Field required", l)
		}
		return antObject(l+".source", field(b, "source"))
	case "tool_use":
		return v.toolUse(l, b, am)
	case "tool_result":
		return v.toolResult(l, b, am)
	case "thinking":
		if err := antOnlyKeys(l, b, "type", "thinking", "signature"); err != nil {
			return err
		}
		if _, err := antReqString(l, b, "thinking"); err != nil {
			return err
		}
		_, err := antReqString(l, b, "signature")
		return err
	case "redacted_thinking":
		if err := antOnlyKeys(l, b, "type", "data"); err != nil {
			return err
		}
		_, err := antReqString(l, b, "data")
		return err
	}
	return nil
}

func antImage(l string, b gjson.Result) *apiError {
	if err := antOnlyKeys(l, b, "type", "source", "cache_control"); err != nil {
		return err
	}
	src := field(b, "source")
	if !src.Exists() {
		return antInvalid("%s.source: Field required", l)
	}
	st, err := antTag(l+".source", src, "base64", "url", "file")
	if err != nil {
		return err
	}
	sl := l + ".source." + st
	switch st {
	case "base64":
		if err := antOnlyKeys(sl, src, "type", "media_type", "data"); err != nil {
			return err
		}
		mt := field(src, "media_type")
		if !mt.Exists() {
			return antInvalid("%s.media_type: Field required", sl)
		}
		if err := antLiteral(sl+".media_type", mt, "image/jpeg", "image/png", "image/gif", "image/webp"); err != nil {
			return err
		}
		data, err := antReqString(sl, src, "data")
		if err != nil {
			return err
		}
		if !validBase64(data) {
			return antInvalid("%s.data: invalid base64 data", sl)
		}
	case "url":
		if err := antOnlyKeys(sl, src, "type", "url"); err != nil {
			return err
		}
		_, err := antReqString(sl, src, "url")
		return err
	case "file":
		if err := antOnlyKeys(sl, src, "type", "file_id"); err != nil {
			return err
		}
		_, err := antReqString(sl, src, "file_id")
		return err
	}
	return antCacheControl(l+".cache_control", field(b, "cache_control"))
}

func (v *antValidator) toolUse(l string, b gjson.Result, am *antMessage) *apiError {
	if err := antOnlyKeys(l, b, "type", "id", "name", "input", "cache_control", "caller", "toolset_name"); err != nil {
		return err
	}
	id, err := antReqString(l, b, "id")
	if err != nil {
		return err
	}
	name, err := antReqString(l, b, "name")
	if err != nil {
		return err
	}
	input := field(b, "input")
	if !input.Exists() {
		return antInvalid("%s.input: Field required", l)
	}
	if err := antObject(l+".input", input); err != nil {
		return err
	}
	if slices.Contains(am.toolUses, id) {
		return antInvalid("`tool_use` ids must be unique")
	}
	am.toolUses = append(am.toolUses, id)
	v.c.conv.addText(name)
	v.c.conv.addText(compactJSON(input.Raw))
	return antCacheControl(l+".cache_control", field(b, "cache_control"))
}

func (v *antValidator) toolResult(l string, b gjson.Result, am *antMessage) *apiError {
	if err := antOnlyKeys(l, b, "type", "tool_use_id", "content", "is_error", "cache_control", "toolset_name"); err != nil {
		return err
	}
	id, err := antReqString(l, b, "tool_use_id")
	if err != nil {
		return err
	}
	if err := antBool(l+".is_error", field(b, "is_error")); err != nil {
		return err
	}
	var texts []string
	switch c := field(b, "content"); {
	case !c.Exists() || c.Type == gjson.Null:
	case c.Type == gjson.String:
		texts = append(texts, c.String())
	case c.IsArray():
		for j, cb := range c.Array() {
			cl := fmt.Sprintf("%s.content.%d", l, j)
			typ, err := antTag(cl, cb, "text", "image", "search_result", "document", "tool_reference")
			if err != nil {
				return err
			}
			switch typ {
			case "text":
				t, err := v.textBlock(cl+".text", cb)
				if err != nil {
					return err
				}
				texts = append(texts, t)
			case "image":
				v.c.conv.images++
				if err := antImage(cl+".image", cb); err != nil {
					return err
				}
			}
		}
	default:
		return antInvalid("%s.content: Input should be a valid list", l)
	}
	out := strings.Join(texts, "\n")
	v.c.conv.addText(out)
	am.results = append(am.results, id)
	am.resultLoc = append(am.resultLoc, l)
	am.outputs = append(am.outputs, out)
	return antCacheControl(l+".cache_control", field(b, "cache_control"))
}

// antPairing enforces Anthropic's rule: the tool_use blocks of an assistant message are answered
// by tool_result blocks in the very next (user) message, and only those.
func antPairing(msgs []antMessage) *apiError {
	for i, m := range msgs {
		var prevUses []string
		if i > 0 && msgs[i-1].role == "assistant" {
			prevUses = msgs[i-1].toolUses
		}
		for k, id := range m.results {
			if m.role != "user" || !slices.Contains(prevUses, id) {
				return antInvalid("%s: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` "+
					"block must have a corresponding `tool_use` block in the previous message.",
					strings.TrimSuffix(m.resultLoc[k], ".tool_result"), id)
			}
		}
		if m.role != "assistant" || len(m.toolUses) == 0 || i == len(msgs)-1 {
			continue
		}
		var missing []string
		for _, id := range m.toolUses {
			if !slices.Contains(msgs[i+1].results, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return antInvalid("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. "+
				"Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
				i, strings.Join(missing, ", "))
		}
	}
	return nil
}

func (v *antValidator) lastTurn(msgs []antMessage) {
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.role != "user" {
			continue
		}
		t := &v.c.conv.last
		if len(m.results) > 0 {
			t.results = m.outputs
			return
		}
		t.text, t.images = strings.Join(m.texts, "\n"), m.images
		return
	}
}
