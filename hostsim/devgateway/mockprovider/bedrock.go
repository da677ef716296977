package mockprovider

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// bedrockDialect is AWS Bedrock runtime's Converse API: POST /model/{modelId}/converse and
// /model/{modelId}/converse-stream, signed with SigV4 (service "bedrock"), errors as
// {"message": …} with the exception's name in x-amzn-ErrorType, streams in AWS's binary
// event-stream framing (application/vnd.amazon.eventstream).
type bedrockDialect struct{}

// brErr is a Bedrock error answer.
func brErr(status int, exception, msg string) *apiError {
	h := http.Header{}
	h.Set("X-Amzn-Errortype", exception+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	return &apiError{status: status, header: h, body: marshal(map[string]string{"message": msg})}
}

func brInvalid(format string, args ...any) *apiError {
	return brErr(http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...))
}

func (bedrockDialect) route(r *http.Request, _ *Server) (route, *apiError) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/model/")
	if ok && r.Method == http.MethodPost {
		seg, op, _ := strings.Cut(rest, "/")
		model, err := url.PathUnescape(seg)
		if err == nil && model != "" && (op == "converse" || op == "converse-stream") {
			return route{ep: epChat, model: model, stream: op == "converse-stream"}, nil
		}
	}
	return route{}, brErr(http.StatusNotFound, "UnknownOperationException", "")
}

// authenticate only checks that a signature is there: verifying it needs the body (parse).
func (bedrockDialect) authenticate(r *http.Request, _ *Server) *apiError {
	if r.Header.Get("Authorization") == "" {
		return sigError("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	return nil
}

func (bedrockDialect) headers(h http.Header, id string) { h.Set("X-Amzn-Requestid", id) }

func (bedrockDialect) statusError(f Fault) *apiError {
	exc, msg := "ValidationException", f.Message
	switch f.Status {
	case 429:
		exc = "ThrottlingException"
		if msg == "" {
			msg = "Too many requests, please wait before trying again."
		}
	case 500:
		exc = "InternalServerException"
	case 503:
		exc = "ServiceUnavailableException"
		if msg == "" {
			msg = "Bedrock is unable to process your request."
		}
	case 403:
		exc = "AccessDeniedException"
	}
	if msg == "" {
		msg = strings.ToLower(http.StatusText(f.Status))
	}
	e := brErr(f.Status, exc, msg)
	for k, v := range retryHeaders(f, false) {
		e.header[k] = v
	}
	return e
}

func (bedrockDialect) modelNotFound(string) *apiError {
	return brInvalid("The provided model identifier is invalid.")
}

// listModels: the runtime API lists nothing (that is the control plane's ListFoundationModels).
func (bedrockDialect) listModels(s *Server) []byte {
	type summary struct {
		ModelID string `json:"modelId"`
	}
	out := struct {
		ModelSummaries []summary `json:"modelSummaries"`
	}{ModelSummaries: []summary{}}
	for _, m := range modelList(s) {
		out.ModelSummaries = append(out.ModelSummaries, summary{m})
	}
	return marshal(out)
}

var brTopLevel = []string{"messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig",
	"additionalModelRequestFields", "additionalModelResponseFieldPaths", "promptVariables", "requestMetadata", "performanceConfig"}

func brOnlyKeys(obj gjson.Result, where string, keys ...string) *apiError {
	for _, m := range members(obj) {
		if !slices.Contains(keys, m.key) {
			return brInvalid("Malformed input request: %s: extraneous key [%s] is not permitted, please reformat your input and try again.", where, m.key)
		}
	}
	return nil
}

func (bedrockDialect) parse(rt route, r *http.Request, body []byte, s *Server) (*call, *apiError) {
	if err := verifySigV4(r, body, s, "bedrock"); err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(body) {
		return nil, brErr(http.StatusBadRequest, "SerializationException", "Unexpected token in the request body")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, brErr(http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected.")
	}
	if err := brOnlyKeys(root, "#", brTopLevel...); err != nil {
		return nil, err
	}
	c := &call{model: rt.model, stream: rt.stream}
	v := brValidator{c: c}
	for _, step := range []func(gjson.Result) *apiError{
		func(x gjson.Result) *apiError { return v.system(field(x, "system")) },
		func(x gjson.Result) *apiError { return v.tools(field(x, "toolConfig")) },
		func(x gjson.Result) *apiError { return v.messages(field(x, "messages")) },
		func(x gjson.Result) *apiError { return v.inference(field(x, "inferenceConfig")) },
	} {
		if err := step(root); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type brValidator struct {
	c        *call
	hasTools bool
}

func (v *brValidator) system(x gjson.Result) *apiError {
	if !x.Exists() {
		return nil
	}
	if !x.IsArray() {
		return brInvalid("1 validation error detected: Value at 'system' failed to satisfy constraint: Member must be a list")
	}
	for i, b := range x.Array() {
		if err := brOnlyKeys(b, fmt.Sprintf("system.%d", i), "text", "guardContent", "cachePoint"); err != nil {
			return err
		}
		t := field(b, "text")
		if t.Type != gjson.String || strings.TrimSpace(t.Str) == "" {
			return brInvalid("The text field in the SystemContentBlock object at system.%d is blank. Add text to the text field, and try again.", i)
		}
		v.c.conv.addText(t.Str)
	}
	return nil
}

func (v *brValidator) messages(x gjson.Result) *apiError {
	if !x.IsArray() || len(x.Array()) == 0 {
		return brInvalid("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
	}
	msgs := x.Array()
	var pendingUses []string // toolUse ids of the previous assistant turn
	for i, m := range msgs {
		if err := brOnlyKeys(m, fmt.Sprintf("messages.%d", i), "role", "content"); err != nil {
			return err
		}
		role := field(m, "role").String()
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if role != want {
			if i == 0 {
				return brInvalid("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
			}
			return brInvalid("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.")
		}
		content := field(m, "content")
		if !content.IsArray() || len(content.Array()) == 0 {
			return brInvalid("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		var uses []string
		for j, b := range content.Array() {
			id, err := v.block(b, i, j, role, pendingUses)
			if err != nil {
				return err
			}
			if id != "" {
				uses = append(uses, id)
			}
		}
		pendingUses = uses
	}
	v.lastTurn(msgs[len(msgs)-1])
	return nil
}

// block validates one content block; it returns a toolUse block's id.
func (v *brValidator) block(b gjson.Result, i, j int, role string, prevUses []string) (string, *apiError) {
	where := fmt.Sprintf("messages.%d.content.%d", i, j)
	ms := members(b)
	if !b.IsObject() || len(ms) != 1 {
		return "", brInvalid("The model returned the following errors: %s: a ContentBlock must set exactly one member", where)
	}
	cv := &v.c.conv
	m := ms[0]
	switch m.key {
	case "text":
		if m.val.Type != gjson.String || strings.TrimSpace(m.val.Str) == "" {
			return "", brInvalid("The text field in the ContentBlock object at %s is blank. Add text to the text field, and try again.", where)
		}
		cv.addText(m.val.Str)
	case "image":
		if err := brImage(m.val, where); err != nil {
			return "", err
		}
		if role != "user" {
			return "", brInvalid("%s: images are only allowed in user messages", where)
		}
		cv.images++
	case "toolUse":
		if err := brOnlyKeys(m.val, where+".toolUse", "toolUseId", "name", "input"); err != nil {
			return "", err
		}
		id, name, input := field(m.val, "toolUseId"), field(m.val, "name"), field(m.val, "input")
		if role != "assistant" || id.Str == "" || name.Str == "" || !input.IsObject() {
			return "", brInvalid("%s.toolUse: toolUseId, name and an input object are required in an assistant message", where)
		}
		if !v.hasTools {
			return "", brInvalid("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
		}
		cv.addText(compactJSON(input.Raw))
		return id.Str, nil
	case "toolResult":
		if err := brOnlyKeys(m.val, where+".toolResult", "toolUseId", "content", "status"); err != nil {
			return "", err
		}
		id := field(m.val, "toolUseId").String()
		if role != "user" || !slices.Contains(prevUses, id) {
			return "", brInvalid("The number of toolResult blocks at %s exceeds the number of toolUse blocks of previous turn.", where)
		}
		if !v.hasTools {
			return "", brInvalid("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
		}
		for _, rc := range field(m.val, "content").Array() {
			if t := field(rc, "text"); t.Type == gjson.String {
				cv.addText(t.Str)
			} else if js := field(rc, "json"); js.Exists() {
				cv.addText(compactJSON(js.Raw))
			} else {
				return "", brInvalid("%s.toolResult.content: want text or json blocks", where)
			}
		}
	default:
		return "", brInvalid("Malformed input request: %s: extraneous key [%s] is not permitted, please reformat your input and try again.", where, m.key)
	}
	return "", nil
}

func brImage(x gjson.Result, where string) *apiError {
	if err := brOnlyKeys(x, where+".image", "format", "source"); err != nil {
		return err
	}
	if f := field(x, "format").String(); !slices.Contains([]string{"png", "jpeg", "gif", "webp"}, f) {
		return brInvalid("1 validation error detected: Value '%s' at '%s.image.format' failed to satisfy constraint: Member must satisfy enum value set: [gif, jpeg, png, webp]", f, where)
	}
	src := field(x, "source")
	if err := brOnlyKeys(src, where+".image.source", "bytes", "s3Location"); err != nil {
		return err
	}
	if _, err := base64.StdEncoding.DecodeString(field(src, "bytes").String()); err != nil || !field(src, "bytes").Exists() {
		return brInvalid("%s.image.source.bytes: invalid base64", where)
	}
	return nil
}

func (v *brValidator) lastTurn(m gjson.Result) {
	t := &v.c.conv.last
	var texts []string
	for _, b := range field(m, "content").Array() {
		if tr := field(b, "toolResult"); tr.Exists() {
			var parts []string
			for _, rc := range field(tr, "content").Array() {
				if s := field(rc, "text"); s.Type == gjson.String {
					parts = append(parts, s.Str)
				} else {
					parts = append(parts, compactJSON(field(rc, "json").Raw))
				}
			}
			t.results = append(t.results, strings.Join(parts, "\n"))
		}
		if s := field(b, "text"); s.Type == gjson.String {
			texts = append(texts, s.Str)
		}
		if field(b, "image").Exists() {
			t.images++
		}
	}
	t.text = strings.Join(texts, "\n")
}

func (v *brValidator) inference(x gjson.Result) *apiError {
	if !x.Exists() {
		return nil
	}
	if err := brOnlyKeys(x, "inferenceConfig", "maxTokens", "temperature", "topP", "stopSequences"); err != nil {
		return err
	}
	if mt := field(x, "maxTokens"); mt.Exists() {
		if !isInt(mt) || mt.Int() < 1 {
			return brInvalid("1 validation error detected: Value '%s' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1", mt.Raw)
		}
		v.c.conv.maxTokens = int(mt.Int())
	}
	for _, k := range []string{"temperature", "topP"} {
		if n := field(x, k); n.Exists() && (n.Type != gjson.Number || n.Num < 0 || n.Num > 1) {
			return brInvalid("1 validation error detected: Value '%s' at 'inferenceConfig.%s' failed to satisfy constraint: Member must have value less than or equal to 1", n.Raw, k)
		}
	}
	if ss := field(x, "stopSequences"); ss.Exists() {
		if !ss.IsArray() || len(ss.Array()) > 4 {
			return brInvalid("1 validation error detected: Value at 'inferenceConfig.stopSequences' failed to satisfy constraint: Member must have length less than or equal to 4")
		}
		for _, s := range ss.Array() {
			if s.Type != gjson.String || s.Str == "" {
				return brInvalid("inferenceConfig.stopSequences: members must be non-empty strings")
			}
			v.c.conv.stop = append(v.c.conv.stop, s.Str)
		}
	}
	return nil
}

func (v *brValidator) tools(x gjson.Result) *apiError {
	if !x.Exists() {
		return nil
	}
	if err := brOnlyKeys(x, "toolConfig", "tools", "toolChoice"); err != nil {
		return err
	}
	tools := field(x, "tools")
	if !tools.IsArray() || len(tools.Array()) == 0 {
		return brInvalid("1 validation error detected: Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	for i, t := range tools.Array() {
		where := fmt.Sprintf("toolConfig.tools.%d", i)
		if err := brOnlyKeys(t, where, "toolSpec", "cachePoint"); err != nil {
			return err
		}
		spec := field(t, "toolSpec")
		if err := brOnlyKeys(spec, where+".toolSpec", "name", "description", "inputSchema"); err != nil {
			return err
		}
		name := field(spec, "name").String()
		if name == "" || !field(field(spec, "inputSchema"), "json").IsObject() {
			return brInvalid("%s.toolSpec: a name and inputSchema.json (an object) are required", where)
		}
		v.c.conv.tools = append(v.c.conv.tools, name)
	}
	v.hasTools = true
	if ch := field(x, "toolChoice"); ch.Exists() {
		ms := members(ch)
		if len(ms) != 1 {
			return brInvalid("toolConfig.toolChoice: set exactly one of auto, any, tool")
		}
		switch ms[0].key {
		case "auto":
			v.c.conv.choice.mode = "auto"
		case "any":
			v.c.conv.choice.mode = "required"
		case "tool":
			v.c.conv.choice = toolChoice{mode: "required", names: []string{field(ms[0].val, "name").String()}}
		default:
			return brInvalid("Malformed input request: toolConfig.toolChoice: extraneous key [%s] is not permitted", ms[0].key)
		}
	}
	return nil
}
