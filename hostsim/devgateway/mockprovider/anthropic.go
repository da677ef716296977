package mockprovider

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// anthropicDialect is the Anthropic Messages API (POST /v1/messages, POST
// /v1/messages/count_tokens, GET /v1/models).
type anthropicDialect struct{}

// AnthropicVersions are the anthropic-version header values the API accepts.
var AnthropicVersions = []string{"2023-06-01", "2023-01-01"}

func antErr(status int, typ, msg string) *apiError {
	type body struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	b := body{Type: "error"}
	b.Error.Type, b.Error.Message = typ, msg
	return &apiError{status: status, body: marshal(b)}
}

func antInvalid(format string, args ...any) *apiError {
	return antErr(http.StatusBadRequest, "invalid_request_error", fmt.Sprintf(format, args...))
}

// antErrorType maps an HTTP status to Anthropic's error type.
func antErrorType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	return "api_error"
}

// finishError adds the request id Anthropic puts in every error body.
func (anthropicDialect) finishError(body []byte, id string) []byte {
	out, err := sjson.SetBytes(body, "request_id", "req_"+id)
	if err != nil {
		return body
	}
	return out
}

func (anthropicDialect) route(r *http.Request, _ *Server) (route, *apiError) {
	switch {
	case r.URL.Path == "/v1/messages" && r.Method == http.MethodPost:
		return route{ep: epChat}, nil
	case r.URL.Path == "/v1/messages/count_tokens" && r.Method == http.MethodPost:
		return route{ep: epCountTokens}, nil
	case r.URL.Path == "/v1/models" && r.Method == http.MethodGet:
		return route{ep: epModels}, nil
	}
	return route{}, antErr(http.StatusNotFound, "not_found_error", "Not Found")
}

func (anthropicDialect) authenticate(r *http.Request, s *Server) *apiError {
	key := r.Header.Get("X-Api-Key")
	switch {
	case key == "":
		return antErr(http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
	case !s.keys[key]:
		return antErr(http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
	}
	v := r.Header.Get("Anthropic-Version")
	switch {
	case v == "":
		return antInvalid("anthropic-version: header is required")
	case !slices.Contains(AnthropicVersions, v):
		return antInvalid("anthropic-version: %q is not a valid version", v)
	}
	return nil
}

func (anthropicDialect) headers(h http.Header, id string) {
	h.Set("Request-Id", "req_"+id)
	h.Set("Anthropic-Organization-Id", "mock-org")
}

func (anthropicDialect) statusError(f Fault) *apiError {
	msg := f.Message
	if msg == "" {
		switch f.Status {
		case 429:
			msg = "Number of request tokens has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); " +
				"see the response headers for current usage. Please reduce the prompt length or the maximum tokens " +
				"requested, or try again later."
		case 500:
			msg = "Internal server error"
		case 529:
			msg = "Overloaded"
		default:
			msg = http.StatusText(f.Status)
		}
	}
	e := antErr(f.Status, antErrorType(f.Status), msg)
	e.header = retryHeaders(f, false)
	return e
}

func (anthropicDialect) modelNotFound(model string) *apiError {
	return antErr(http.StatusNotFound, "not_found_error", "model: "+model)
}

func (anthropicDialect) listModels(s *Server) []byte {
	type model struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	out := struct {
		Data    []model `json:"data"`
		HasMore bool    `json:"has_more"`
		FirstID *string `json:"first_id"`
		LastID  *string `json:"last_id"`
	}{Data: []model{}}
	ms := modelList(s)
	for _, m := range ms {
		out.Data = append(out.Data, model{Type: "model", ID: m, DisplayName: m, CreatedAt: "2025-01-01T00:00:00Z"})
	}
	if len(ms) > 0 {
		out.FirstID, out.LastID = &ms[0], &ms[len(ms)-1]
	}
	return marshal(out)
}

// antTopLevel are the Messages create parameters.
var antTopLevel = []string{
	"model", "messages", "max_tokens", "metadata", "stop_sequences", "stream", "system", "temperature", "top_k",
	"top_p", "tools", "tool_choice", "thinking", "service_tier", "container", "inference_geo", "speed",
	"cache_control", "diagnostics", "output_config", "mcp_servers", "context_management",
}

// antBlockTypes are the content block types a request may carry; the ones not validated in depth
// (server tool results …) are accepted as they come.
var antBlockTypes = []string{
	"bash_code_execution_tool_result", "code_execution_tool_result", "container_upload", "document", "image",
	"mcp_tool_result", "mcp_tool_use", "redacted_thinking", "search_result", "server_tool_use", "text",
	"text_editor_code_execution_tool_result", "thinking", "tool_result", "tool_search_tool_result", "tool_use",
	"web_fetch_tool_result", "web_search_tool_result",
}

var antToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

func (d anthropicDialect) parse(_ route, r *http.Request, body []byte, _ *Server) (*call, *apiError) {
	if !isJSON(r) || !gjson.ValidBytes(body) {
		return nil, antInvalid("There was an error parsing the body of your request: the body is not valid JSON.")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, antInvalid("Input should be a valid dictionary")
	}
	for _, k := range []string{"max_tokens", "messages", "model"} {
		if !field(root, k).Exists() {
			return nil, antInvalid("%s: Field required", k)
		}
	}
	if err := antOnlyKeys("", root, antTopLevel...); err != nil {
		return nil, err
	}
	v := &antValidator{c: &call{n: 1}}
	for _, m := range members(root) {
		if err := v.param(m.key, m.val); err != nil {
			return nil, err
		}
	}
	if err := v.crossChecks(root); err != nil {
		return nil, err
	}
	return v.c, nil
}

type antValidator struct {
	c *call
}

func loc(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func antOnlyKeys(prefix string, obj gjson.Result, keys ...string) *apiError {
	for _, m := range members(obj) {
		if !slices.Contains(keys, m.key) {
			return antInvalid("%s: Extra inputs are not permitted", loc(prefix, m.key))
		}
	}
	return nil
}

func antString(l string, x gjson.Result) *apiError {
	if x.Type != gjson.String {
		return antInvalid("%s: Input should be a valid string", l)
	}
	return nil
}

func antReqString(prefix string, obj gjson.Result, key string) (string, *apiError) {
	x := field(obj, key)
	if !x.Exists() {
		return "", antInvalid("%s: Field required", loc(prefix, key))
	}
	return x.String(), antString(loc(prefix, key), x)
}

func antObject(l string, x gjson.Result) *apiError {
	if !x.IsObject() {
		return antInvalid("%s: Input should be a valid dictionary", l)
	}
	return nil
}

func antList(l string, x gjson.Result) *apiError {
	if !x.IsArray() {
		return antInvalid("%s: Input should be a valid list", l)
	}
	return nil
}

func antBool(l string, x gjson.Result) *apiError {
	if x.Type != gjson.Null && !isBool(x) {
		return antInvalid("%s: Input should be a valid boolean", l)
	}
	return nil
}

func antInt(l string, x gjson.Result, min int64) *apiError {
	switch {
	case x.Type == gjson.Null:
		return nil
	case !isInt(x):
		return antInvalid("%s: Input should be a valid integer", l)
	case x.Int() < min:
		return antInvalid("%s: Input should be greater than or equal to %d", l, min)
	}
	return nil
}

func antNumber(l string, x gjson.Result, lo, hi float64) *apiError {
	switch {
	case x.Type == gjson.Null:
		return nil
	case x.Type != gjson.Number:
		return antInvalid("%s: Input should be a valid number", l)
	case x.Float() < lo:
		return antInvalid("%s: Input should be greater than or equal to %g", l, lo)
	case x.Float() > hi:
		return antInvalid("%s: Input should be less than or equal to %g", l, hi)
	}
	return nil
}

// antLiteral renders pydantic's literal error: Input should be 'a', 'b' or 'c'.
func antLiteral(l string, x gjson.Result, values ...string) *apiError {
	if x.Type == gjson.String && slices.Contains(values, x.String()) {
		return nil
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = "'" + v + "'"
	}
	list := q[0]
	if len(q) > 1 {
		list = strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	}
	return antInvalid("%s: Input should be %s", l, list)
}

// antTag reads the "type" discriminator of a tagged union member.
func antTag(l string, x gjson.Result, tags ...string) (string, *apiError) {
	if err := antObject(l, x); err != nil {
		return "", err
	}
	t := field(x, "type")
	if t.Type != gjson.String {
		return "", antInvalid("%s: Unable to extract tag using discriminator 'type'", l)
	}
	if !slices.Contains(tags, t.String()) {
		q := make([]string, len(tags))
		for i, v := range tags {
			q[i] = "'" + v + "'"
		}
		return "", antInvalid("%s: Input tag '%s' found using 'type' does not match any of the expected tags: %s",
			l, t.String(), strings.Join(q, ", "))
	}
	return t.String(), nil
}

func (v *antValidator) param(key string, x gjson.Result) *apiError {
	cv := &v.c.conv
	switch key {
	case "model":
		v.c.model = x.String()
		return antString(key, x)
	case "max_tokens":
		if x.Type == gjson.Null {
			return antInvalid("max_tokens: Input should be a valid integer")
		}
		cv.maxTokens = int(x.Int())
		return antInt(key, x, 1)
	case "messages":
		return v.messages(x)
	case "system":
		return v.system(x)
	case "stream":
		v.c.stream = x.Type == gjson.True
		return antBool(key, x)
	case "temperature", "top_p":
		return antNumber(key, x, 0, 1)
	case "top_k":
		return antInt(key, x, 0)
	case "stop_sequences":
		if x.Type == gjson.Null {
			return nil
		}
		if err := antList(key, x); err != nil {
			return err
		}
		for i, s := range x.Array() {
			if err := antString(fmt.Sprintf("stop_sequences.%d", i), s); err != nil {
				return err
			}
			cv.stop = append(cv.stop, s.String())
		}
	case "metadata":
		if x.Type == gjson.Null {
			return nil
		}
		if err := antObject(key, x); err != nil {
			return err
		}
		if err := antOnlyKeys(key, x, "user_id"); err != nil {
			return err
		}
		if u := field(x, "user_id"); u.Exists() && u.Type != gjson.Null {
			return antString("metadata.user_id", u)
		}
	case "tools":
		return v.tools(x)
	case "tool_choice":
		return v.toolChoice(x)
	case "thinking":
		return antThinking(x)
	case "service_tier":
		if x.Type != gjson.Null {
			return antLiteral(key, x, "auto", "standard_only")
		}
	case "cache_control":
		return antCacheControl(key, x)
	case "inference_geo":
		if x.Type != gjson.Null {
			return antString(key, x)
		}
	}
	return nil
}

func antCacheControl(l string, x gjson.Result) *apiError {
	if x.Type == gjson.Null || !x.Exists() {
		return nil
	}
	if _, err := antTag(l, x, "ephemeral"); err != nil {
		return err
	}
	if err := antOnlyKeys(l, x, "type", "ttl"); err != nil {
		return err
	}
	if ttl := field(x, "ttl"); ttl.Exists() {
		return antLiteral(l+".ttl", ttl, "5m", "1h")
	}
	return nil
}

func antThinking(x gjson.Result) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	typ, err := antTag("thinking", x, "enabled", "disabled", "adaptive")
	if err != nil {
		return err
	}
	l := "thinking." + typ
	switch typ {
	case "enabled":
		if err := antOnlyKeys(l, x, "type", "budget_tokens", "display"); err != nil {
			return err
		}
		b := field(x, "budget_tokens")
		if !b.Exists() {
			return antInvalid("%s.budget_tokens: Field required", l)
		}
		return antInt(l+".budget_tokens", b, 1024)
	case "adaptive":
		return antOnlyKeys(l, x, "type", "display")
	}
	return antOnlyKeys(l, x, "type")
}

func (v *antValidator) system(x gjson.Result) *apiError {
	switch {
	case x.Type == gjson.Null:
		return nil
	case x.Type == gjson.String:
		v.c.conv.addText(x.String())
		return nil
	case !x.IsArray():
		return antInvalid("system: Input should be a valid list")
	}
	for i, b := range x.Array() {
		l := fmt.Sprintf("system.%d", i)
		if _, err := antTag(l, b, "text"); err != nil {
			return err
		}
		text, err := v.textBlock(l, b)
		if err != nil {
			return err
		}
		v.c.conv.addText(text)
	}
	return nil
}

func (v *antValidator) textBlock(l string, b gjson.Result) (string, *apiError) {
	if err := antOnlyKeys(l, b, "type", "text", "cache_control", "citations"); err != nil {
		return "", err
	}
	text, err := antReqString(l, b, "text")
	if err != nil {
		return "", err
	}
	if text == "" {
		return "", antInvalid("messages: text content blocks must be non-empty")
	}
	return text, antCacheControl(l+".cache_control", field(b, "cache_control"))
}

func (v *antValidator) tools(x gjson.Result) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	if err := antList("tools", x); err != nil {
		return err
	}
	for i, t := range x.Array() {
		l := fmt.Sprintf("tools.%d", i)
		if err := antObject(l, t); err != nil {
			return err
		}
		if typ := field(t, "type"); typ.Exists() && typ.String() != "custom" {
			// A server tool (web_search_20250305 …): its schema is the server's business.
			if _, err := antReqString(l, t, "name"); err != nil {
				return err
			}
			continue
		}
		l += ".custom"
		if err := antOnlyKeys(l, t, "type", "name", "description", "input_schema", "cache_control", "strict",
			"defer_loading", "eager_input_streaming", "allowed_callers", "input_examples"); err != nil {
			return err
		}
		name, err := antReqString(l, t, "name")
		if err != nil {
			return err
		}
		if !antToolName.MatchString(name) {
			return antInvalid("%s.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'", l)
		}
		if d := field(t, "description"); d.Exists() {
			if err := antString(l+".description", d); err != nil {
				return err
			}
		}
		schema := field(t, "input_schema")
		if !schema.Exists() {
			return antInvalid("%s.input_schema: Field required", l)
		}
		if err := antObject(l+".input_schema", schema); err != nil {
			return err
		}
		if typ := field(schema, "type"); !typ.Exists() {
			return antInvalid("%s.input_schema.type: Field required", l)
		} else if err := antLiteral(l+".input_schema.type", typ, "object"); err != nil {
			return err
		}
		if err := antCacheControl(l+".cache_control", field(t, "cache_control")); err != nil {
			return err
		}
		v.c.conv.tools = append(v.c.conv.tools, name)
	}
	return nil
}

func (v *antValidator) toolChoice(x gjson.Result) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	typ, err := antTag("tool_choice", x, "auto", "any", "tool", "none")
	if err != nil {
		return err
	}
	l := "tool_choice." + typ
	ch := &v.c.conv.choice
	switch typ {
	case "tool":
		if err := antOnlyKeys(l, x, "type", "name", "disable_parallel_tool_use"); err != nil {
			return err
		}
		name, err := antReqString(l, x, "name")
		if err != nil {
			return err
		}
		ch.mode, ch.names = "required", []string{name}
	case "none":
		ch.mode = "none"
		return antOnlyKeys(l, x, "type")
	default:
		if err := antOnlyKeys(l, x, "type", "disable_parallel_tool_use"); err != nil {
			return err
		}
		if typ == "any" {
			ch.mode = "required"
		}
	}
	return antBool(l+".disable_parallel_tool_use", field(x, "disable_parallel_tool_use"))
}

func (v *antValidator) crossChecks(root gjson.Result) *apiError {
	if th := field(root, "thinking"); field(th, "type").String() == "enabled" {
		if field(th, "budget_tokens").Int() >= field(root, "max_tokens").Int() {
			return antInvalid("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our " +
				"documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size")
		}
	}
	if name := v.c.conv.choice.names; len(name) == 1 && !slices.Contains(v.c.conv.tools, name[0]) {
		return antInvalid("tool_choice.tool.name: Tool '%s' not found in provided tools", name[0])
	}
	return nil
}

// validBase64 reports whether s is standard base64, as image data must be.
func validBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}
