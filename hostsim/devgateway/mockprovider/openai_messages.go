package mockprovider

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// messages validates the messages array and builds the conversation from it.
func (v *oaiValidator) messages(x gjson.Result) *apiError {
	switch {
	case !x.Exists():
		return oaiMissing("messages")
	case !x.IsArray():
		return oaiInvalidType("messages", "an array", x)
	}
	msgs := x.Array()
	if len(msgs) == 0 {
		return oaiInvalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty "+
			"array instead.", "messages", "empty_array")
	}
	roles := make([]string, len(msgs))
	for i, m := range msgs {
		role, err := v.message(i, m)
		if err != nil {
			return err
		}
		roles[i] = role
	}
	if err := toolPairing(msgs, roles); err != nil {
		return err
	}
	v.lastTurn(msgs, roles)
	return nil
}

// message validates messages[i] and adds its texts; it returns the role.
func (v *oaiValidator) message(i int, m gjson.Result) (string, *apiError) {
	p := fmt.Sprintf("messages[%d]", i)
	if err := wantObject(p, m); err != nil {
		return "", err
	}
	role, err := reqString(p, m, "role")
	if err != nil {
		return "", err
	}
	keys, ok := oaiMessageKeys[role]
	if !ok {
		return "", oaiInvalidValue(p+".role", role, oaiRoles)
	}
	if err := onlyKeys(p, m, keys...); err != nil {
		return "", err
	}
	if err := optString(p+".name", field(m, "name")); err != nil {
		return "", err
	}
	content := field(m, "content")
	cv := &v.c.conv
	switch role {
	case "system", "developer":
		texts, _, err := contentParts(p+".content", content, true, "text")
		cv.texts = append(cv.texts, texts...)
		return role, err
	case "user":
		texts, images, err := contentParts(p+".content", content, true, "text", "image_url", "input_audio", "file")
		cv.texts = append(cv.texts, texts...)
		cv.images += images
		return role, err
	case "tool":
		if _, err := reqString(p, m, "tool_call_id"); err != nil {
			return role, err
		}
		texts, _, err := contentParts(p+".content", content, true, "text")
		cv.texts = append(cv.texts, texts...)
		return role, err
	case "function":
		if _, err := reqString(p, m, "name"); err != nil {
			return role, err
		}
		if !content.Exists() {
			return role, oaiMissing(p + ".content")
		}
		if err := optString(p+".content", content); err != nil {
			return role, err
		}
		cv.addText(content.String())
		return role, nil
	}
	return role, v.assistant(p, m)
}

func (v *oaiValidator) assistant(p string, m gjson.Result) *apiError {
	cv := &v.c.conv
	calls, fc := field(m, "tool_calls"), field(m, "function_call")
	content := field(m, "content")
	if content.Exists() && content.Type != gjson.Null {
		texts, _, err := contentParts(p+".content", content, false, "text", "refusal")
		if err != nil {
			return err
		}
		cv.texts = append(cv.texts, texts...)
	} else if !calls.Exists() && !fc.Exists() {
		return oaiMissing(p + ".content")
	}
	if err := optString(p+".refusal", field(m, "refusal")); err != nil {
		return err
	}
	if err := assistantAudio(p+".audio", field(m, "audio")); err != nil {
		return err
	}
	if err := optObject(p+".function_call", fc); err != nil {
		return err
	}
	if !calls.Exists() || calls.Type == gjson.Null {
		return nil
	}
	if !calls.IsArray() {
		return oaiInvalidType(p+".tool_calls", "an array", calls)
	}
	for j, tc := range calls.Array() {
		if err := v.assistantToolCall(fmt.Sprintf("%s.tool_calls[%d]", p, j), tc); err != nil {
			return err
		}
	}
	return nil
}

func (v *oaiValidator) assistantToolCall(p string, tc gjson.Result) *apiError {
	if err := wantObject(p, tc); err != nil {
		return err
	}
	if _, err := reqString(p, tc, "id"); err != nil {
		return err
	}
	typ, err := reqString(p, tc, "type")
	if err != nil {
		return err
	}
	if typ != "function" && typ != "custom" {
		return oaiInvalidValue(p+".type", typ, []string{"function", "custom"})
	}
	if err := onlyKeys(p, tc, "id", "type", typ); err != nil {
		return err
	}
	fn := field(tc, typ)
	if !fn.Exists() {
		return oaiMissing(p + "." + typ)
	}
	if err := wantObject(p+"."+typ, fn); err != nil {
		return err
	}
	argKey := "arguments"
	if typ == "custom" {
		argKey = "input"
	}
	if err := onlyKeys(p+"."+typ, fn, "name", argKey); err != nil {
		return err
	}
	name, err := reqString(p+"."+typ, fn, "name")
	if err != nil {
		return err
	}
	args, err := reqString(p+"."+typ, fn, argKey)
	if err != nil {
		return err
	}
	v.c.conv.addText(name)
	v.c.conv.addText(args)
	return nil
}

// contentParts validates a message's content: a string or an array of parts of the given types.
func contentParts(p string, content gjson.Result, required bool, types ...string) ([]string, int, *apiError) {
	switch {
	case !content.Exists():
		if required {
			return nil, 0, oaiMissing(p)
		}
		return nil, 0, nil
	case content.Type == gjson.String:
		if content.String() == "" {
			return nil, 0, nil
		}
		return []string{content.String()}, 0, nil
	case !content.IsArray():
		return nil, 0, oaiInvalidType(p, "one of a string or array of objects", content)
	}
	var texts []string
	images := 0
	for j, part := range content.Array() {
		pp := fmt.Sprintf("%s[%d]", p, j)
		text, isImage, err := contentPart(pp, part, types)
		if err != nil {
			return nil, 0, err
		}
		if text != "" {
			texts = append(texts, text)
		}
		if isImage {
			images++
		}
	}
	return texts, images, nil
}

func contentPart(p string, part gjson.Result, types []string) (string, bool, *apiError) {
	if err := wantObject(p, part); err != nil {
		return "", false, err
	}
	typ, err := reqString(p, part, "type")
	if err != nil {
		return "", false, err
	}
	if !slices.Contains(types, typ) {
		return "", false, oaiInvalidValue(p+".type", typ, types)
	}
	if err := onlyKeys(p, part, "type", typ); err != nil {
		return "", false, err
	}
	switch typ {
	case "text", "refusal":
		s, err := reqString(p, part, typ)
		return s, false, err
	case "image_url":
		img := field(part, "image_url")
		if !img.Exists() {
			return "", false, oaiMissing(p + ".image_url")
		}
		if err := wantObject(p+".image_url", img); err != nil {
			return "", false, err
		}
		if err := onlyKeys(p+".image_url", img, "url", "detail"); err != nil {
			return "", false, err
		}
		if _, err := reqString(p+".image_url", img, "url"); err != nil {
			return "", false, err
		}
		return "", true, optEnum(p+".image_url.detail", field(img, "detail"), "auto", "low", "high")
	case "input_audio":
		a := field(part, "input_audio")
		if err := wantObject(p+".input_audio", a); err != nil {
			return "", false, err
		}
		if err := onlyKeys(p+".input_audio", a, "data", "format"); err != nil {
			return "", false, err
		}
		if _, err := reqString(p+".input_audio", a, "data"); err != nil {
			return "", false, err
		}
		return "", false, optEnum(p+".input_audio.format", field(a, "format"), "wav", "mp3")
	}
	f := field(part, "file") // "file"
	if err := wantObject(p+".file", f); err != nil {
		return "", false, err
	}
	return "", false, onlyKeys(p+".file", f, "file_data", "file_id", "filename")
}

// toolPairing enforces that tool messages answer the tool_calls of the assistant message before
// them, and that every tool call gets an answer.
func toolPairing(msgs []gjson.Result, roles []string) *apiError {
	open := -1           // index of the assistant message whose tool calls are being answered
	var pending []string // its tool_call_ids not answered yet
	unanswered := func() *apiError {
		return oaiInvalid(fmt.Sprintf("An assistant message with 'tool_calls' must be followed by tool messages responding "+
			"to each 'tool_call_id'. The following tool_call_ids did not have response messages: %s",
			strings.Join(pending, ", ")), fmt.Sprintf("messages.[%d].role", open), "")
	}
	for i, role := range roles {
		if role == "tool" {
			if open < 0 {
				return oaiInvalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding "+
					"message with 'tool_calls'.", fmt.Sprintf("messages.[%d].role", i), "")
			}
			id := field(msgs[i], "tool_call_id").String()
			k := slices.Index(pending, id)
			if k < 0 {
				return oaiInvalid(fmt.Sprintf("Invalid parameter: 'tool_call_id' of '%s' not found in 'tool_calls' of "+
					"previous message.", id), fmt.Sprintf("messages.[%d].tool_call_id", i), "")
			}
			pending = slices.Delete(pending, k, k+1)
			continue
		}
		if len(pending) > 0 {
			return unanswered()
		}
		open, pending = -1, nil
		if role == "assistant" {
			for _, tc := range field(msgs[i], "tool_calls").Array() {
				pending = append(pending, field(tc, "id").String())
			}
			if len(pending) > 0 {
				open = i
			}
		}
	}
	if len(pending) > 0 {
		return unanswered()
	}
	return nil
}

// lastTurn finds what the mock replies to: the trailing tool results, or the last user message.
func (v *oaiValidator) lastTurn(msgs []gjson.Result, roles []string) {
	t := &v.c.conv.last
	if roles[len(roles)-1] == "tool" {
		start := len(roles) - 1
		for start > 0 && roles[start-1] == "tool" {
			start--
		}
		for _, m := range msgs[start:] {
			texts, _, _ := contentParts("", field(m, "content"), false, "text")
			t.results = append(t.results, strings.Join(texts, "\n"))
		}
		return
	}
	for i := len(roles) - 1; i >= 0; i-- {
		if roles[i] == "user" {
			texts, images, _ := contentParts("", field(msgs[i], "content"), false, "text", "image_url", "input_audio", "file")
			t.text, t.images = strings.Join(texts, "\n"), images
			return
		}
	}
}

// assistantAudio checks a previous answer's audio: a request refers to it by id alone (the
// answer's data, transcript and expiry are response-only).
func assistantAudio(p string, audio gjson.Result) *apiError {
	if !audio.Exists() || audio.Type == gjson.Null {
		return nil
	}
	if err := optObject(p, audio); err != nil {
		return err
	}
	if err := onlyKeys(p, audio, "id"); err != nil {
		return err
	}
	_, err := reqString(p, audio, "id")
	return err
}
