package mockprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// geminiDialect is the Gemini API (POST /v1beta/models/{model}:generateContent,
// :streamGenerateContent[?alt=sse], :embedContent, :batchEmbedContents, GET /v1beta/models).
type geminiDialect struct{}

// gemStatus maps HTTP statuses to google.rpc.Code names.
var gemStatus = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ABORTED",
	413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
	503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

type gemErrorBody struct {
	Error struct {
		Code    int              `json:"code"`
		Message string           `json:"message"`
		Status  string           `json:"status"`
		Details []map[string]any `json:"details,omitempty"`
	} `json:"error"`
}

func gemErr(status int, msg string, details ...map[string]any) *apiError {
	var b gemErrorBody
	b.Error.Code, b.Error.Message, b.Error.Details = status, msg, details
	b.Error.Status = gemStatus[status]
	if b.Error.Status == "" {
		b.Error.Status = "UNKNOWN"
	}
	return &apiError{status: status, body: marshal(b), contentType: "application/json; charset=UTF-8"}
}

// gemBadJSON is a payload error with its google.rpc.BadRequest field violation.
func gemBadJSON(field, msg string) *apiError {
	v := map[string]any{"description": msg}
	if field != "" {
		v["field"] = field
	}
	return gemErr(http.StatusBadRequest, msg, map[string]any{
		"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": []any{v}})
}

func gemInvalidValue(p, typ string, v gjson.Result) *apiError {
	return gemBadJSON(p, fmt.Sprintf("Invalid value at '%s' (%s), %s", p, typ, shortRaw(v)))
}

// gemInvalid is a semantic error as the API words them: "* GenerateContentRequest.path: problem\n".
func gemInvalid(path, problem string) *apiError {
	return gemErr(http.StatusBadRequest, fmt.Sprintf("* GenerateContentRequest.%s: %s\n", path, problem))
}

func (geminiDialect) route(r *http.Request, _ *Server) (route, *apiError) {
	p := r.URL.Path
	for _, version := range []string{"/v1beta/", "/v1/"} {
		rest, ok := strings.CutPrefix(p, version+"models")
		if !ok {
			continue
		}
		if rest == "" && r.Method == http.MethodGet {
			return route{ep: epModels}, nil
		}
		model, method, ok := strings.Cut(strings.TrimPrefix(rest, "/"), ":")
		if !ok || model == "" || r.Method != http.MethodPost || strings.HasPrefix(rest, ":") {
			break
		}
		switch method {
		case "generateContent":
			return route{ep: epChat, model: model}, nil
		case "streamGenerateContent":
			return route{ep: epChat, model: model, stream: true, sse: r.URL.Query().Get("alt") == "sse"}, nil
		case "embedContent", "batchEmbedContents":
			return route{ep: epEmbeddings, model: model, batch: method == "batchEmbedContents"}, nil
		}
	}
	return route{}, gemErr(http.StatusNotFound, fmt.Sprintf("Method not found: %s %s", r.Method, p))
}

func (geminiDialect) authenticate(r *http.Request, s *Server) *apiError {
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	switch {
	case key == "":
		return gemErr(http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established "+
			"identity). Please use API Key or other form of API consumer identity to call this API.")
	case !s.keys[key]:
		msg := "API key not valid. Please pass a valid API key."
		return gemErr(http.StatusBadRequest, msg,
			map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
				"domain": "googleapis.com", "metadata": map[string]string{"service": "generativelanguage.googleapis.com"}},
			map[string]any{"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": msg})
	}
	return nil
}

func (geminiDialect) headers(h http.Header, _ string) {
	h.Set("Server", "scaffolding on HTTPServer2")
	h.Set("Vary", "Origin, X-Origin, Referer")
}

func (geminiDialect) statusError(f Fault) *apiError {
	msg := f.Message
	var details []map[string]any
	switch f.Status {
	case 429:
		if msg == "" {
			msg = "You exceeded your current quota, please check your plan and billing details. For more information " +
				"on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
		}
		if f.RetryAfter > 0 {
			details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo",
				"retryDelay": fmt.Sprintf("%ds", ceilSeconds(f.RetryAfter))})
		}
	case 500:
		if msg == "" {
			msg = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
		}
	case 503:
		if msg == "" {
			msg = "The model is overloaded. Please try again later."
		}
	}
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	e := gemErr(f.Status, msg, details...)
	e.header = retryHeaders(f, false)
	return e
}

func (geminiDialect) modelNotFound(model string) *apiError {
	return gemErr(http.StatusNotFound, fmt.Sprintf("models/%s is not found for API version v1beta, or is not supported "+
		"for generateContent. Call ListModels to see the list of available models and their supported methods.", model))
}

func (geminiDialect) listModels(s *Server) []byte {
	type model struct {
		Name                       string   `json:"name"`
		Version                    string   `json:"version"`
		DisplayName                string   `json:"displayName"`
		InputTokenLimit            int      `json:"inputTokenLimit"`
		OutputTokenLimit           int      `json:"outputTokenLimit"`
		SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
	}
	out := struct {
		Models []model `json:"models"`
	}{Models: []model{}}
	for _, m := range modelList(s) {
		out.Models = append(out.Models, model{Name: "models/" + m, Version: "001", DisplayName: m,
			InputTokenLimit: 1048576, OutputTokenLimit: 65536,
			SupportedGenerationMethods: []string{"generateContent", "countTokens"}})
	}
	return marshal(out)
}

var gemFunctionName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$`)

// gemDataFields are the members of Part's "data" oneof (JSON spellings included).
var gemDataFields = []string{"text", "inline_data", "inlineData", "function_call", "functionCall",
	"function_response", "functionResponse", "file_data", "fileData", "executable_code", "executableCode",
	"code_execution_result", "codeExecutionResult"}

// gget reads a field by proto name or lowerCamelCase JSON name.
func gget(obj gjson.Result, name string) gjson.Result {
	if v := field(obj, name); v.Exists() {
		return v
	}
	return field(obj, lowerCamel(name))
}

func (geminiDialect) parse(rt route, r *http.Request, body []byte, _ *Server) (*call, *apiError) {
	if !isJSON(r) || !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
		return nil, gemBadJSON("", "Invalid JSON payload received. Unexpected token.")
	}
	root := gjson.ParseBytes(body)
	if err := checkMsg("", root, gRequest); err != nil {
		return nil, err
	}
	c := &call{model: rt.model, stream: rt.stream, sse: rt.sse, n: 1}
	v := &gemValidator{c: c}
	if err := v.contents(gget(root, "contents")); err != nil {
		return nil, err
	}
	for _, p := range gget(gget(root, "system_instruction"), "parts").Array() {
		c.conv.addText(gget(p, "text").String())
	}
	if err := v.tools(gget(root, "tools")); err != nil {
		return nil, err
	}
	v.config(root)
	return c, nil
}

type gemValidator struct{ c *call }

func (v *gemValidator) contents(x gjson.Result) *apiError {
	arr := x.Array()
	if len(arr) == 0 {
		return gemInvalid("contents", "contents is not specified")
	}
	prevCalls := 0 // functionCall parts of the previous content
	for i, content := range arr {
		p := fmt.Sprintf("contents[%d]", i)
		role := gget(content, "role").String()
		if role != "" && role != "user" && role != "model" {
			return gemErr(http.StatusBadRequest, "Please use a valid role: user, model.")
		}
		parts := gget(content, "parts").Array()
		if len(parts) == 0 {
			return gemInvalid(p+".parts", "contents.parts must not be empty.")
		}
		calls, responses, err := v.parts(p, parts)
		if err != nil {
			return err
		}
		if responses > 0 && prevCalls == 0 {
			return gemErr(http.StatusBadRequest, "Please ensure that function response turn comes immediately after a "+
				"function call turn.")
		}
		if prevCalls > 0 && responses != prevCalls {
			return gemErr(http.StatusBadRequest, "Please ensure that the number of function response parts is equal to "+
				"the number of function call parts of the function call turn.")
		}
		prevCalls = calls
		if role != "model" {
			v.setLast(parts)
		}
	}
	return nil
}

// parts validates a content's parts; it counts function calls and responses.
func (v *gemValidator) parts(p string, parts []gjson.Result) (calls, responses int, err *apiError) {
	cv := &v.c.conv
	for j, part := range parts {
		pp := fmt.Sprintf("%s.parts[%d]", p, j)
		var set []string
		for _, k := range gemDataFields {
			if fv := field(part, k); fv.Exists() && fv.Type != gjson.Null {
				set = append(set, k)
			}
		}
		switch {
		case len(set) == 0:
			return 0, 0, gemInvalid(pp+".data", "required oneof field 'data' must have one initialized field")
		case len(set) > 1:
			return 0, 0, gemBadJSON(pp, fmt.Sprintf("Invalid JSON payload received. Oneof field 'data' is already set. "+
				"Cannot set '%s'", set[1]))
		}
		if fc := gget(part, "function_call"); fc.Exists() {
			if gget(fc, "name").String() == "" {
				return 0, 0, gemInvalid(pp+".function_call.name", "Name cannot be empty.")
			}
			calls++
			cv.addText(gget(fc, "name").String())
			cv.addText(compactJSON(orEmptyObject(gget(fc, "args").Raw)))
		}
		if fr := gget(part, "function_response"); fr.Exists() {
			if gget(fr, "name").String() == "" {
				return 0, 0, gemInvalid(pp+".function_response.name", "Name cannot be empty.")
			}
			responses++
			cv.addText(renderResponse(gget(fr, "response")))
		}
		cv.addText(gget(part, "text").String())
		if isImage(part) {
			cv.images++
		}
	}
	return calls, responses, nil
}

func orEmptyObject(raw string) string {
	if raw == "" {
		return "{}"
	}
	return raw
}

func isImage(part gjson.Result) bool {
	for _, k := range []string{"inline_data", "file_data"} {
		if d := gget(part, k); d.Exists() && strings.HasPrefix(gget(d, "mime_type").String(), "image/") {
			return true
		}
	}
	return false
}

// renderResponse is a functionResponse.response as reply text: its only string value, or compact
// JSON with sorted keys.
func renderResponse(resp gjson.Result) string {
	ms := members(resp)
	if len(ms) == 1 && ms[0].val.Type == gjson.String {
		return ms[0].val.String()
	}
	var obj map[string]any
	if json.Unmarshal([]byte(orEmptyObject(resp.Raw)), &obj) != nil {
		return compactJSON(resp.Raw)
	}
	return string(marshal(obj))
}

func (v *gemValidator) setLast(parts []gjson.Result) {
	t := turn{}
	var texts []string
	for _, part := range parts {
		if fr := gget(part, "function_response"); fr.Exists() {
			t.results = append(t.results, renderResponse(gget(fr, "response")))
		}
		if tx := gget(part, "text"); tx.Exists() {
			texts = append(texts, tx.String())
		}
		if isImage(part) {
			t.images++
		}
	}
	t.text = strings.Join(texts, "\n")
	v.c.conv.last = t
}

func (v *gemValidator) tools(x gjson.Result) *apiError {
	for i, tool := range x.Array() {
		for j, d := range gget(tool, "function_declarations").Array() {
			p := fmt.Sprintf("tools[%d].function_declarations[%d].name", i, j)
			name := gget(d, "name").String()
			switch {
			case name == "":
				return gemInvalid(p, "Name cannot be empty.")
			case !gemFunctionName.MatchString(name):
				return gemInvalid(p, "Invalid function name. Must start with a letter or an underscore. Must be "+
					"alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum "+
					"length of 64.")
			}
			v.c.conv.tools = append(v.c.conv.tools, name)
		}
	}
	return nil
}

// config reads generation and tool configuration into the conversation.
func (v *gemValidator) config(root gjson.Result) {
	cv := &v.c.conv
	gc := gget(root, "generation_config")
	cv.maxTokens = int(gget(gc, "max_output_tokens").Int())
	for _, s := range gget(gc, "stop_sequences").Array() {
		cv.stop = append(cv.stop, s.String())
	}
	if n := gget(gc, "candidate_count").Int(); n > 1 {
		v.c.n = int(n)
	}
	fcc := gget(gget(root, "tool_config"), "function_calling_config")
	switch strings.ToUpper(gget(fcc, "mode").String()) {
	case "NONE":
		cv.choice.mode = "none"
	case "ANY":
		cv.choice.mode = "required"
	}
	for _, n := range gget(fcc, "allowed_function_names").Array() {
		cv.choice.names = append(cv.choice.names, n.String())
	}
	if len(cv.choice.names) > 0 {
		// keep only declared names, in declaration order, so a forced call picks a real tool
		allowed := cv.choice.names
		cv.choice.names = nil
		for _, t := range cv.tools {
			if slices.Contains(allowed, t) {
				cv.choice.names = append(cv.choice.names, t)
			}
		}
	}
}
