package mockprovider

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// ollamaDialect is Ollama's native API (POST /api/chat, POST /api/embed, GET /api/tags,
// GET /api/version).
//
// The real server decodes with encoding/json and ignores unknown fields and options; the mock
// rejects them (in Go's own wording) because a field the filter misplaces would otherwise vanish.
type ollamaDialect struct{}

func olErr(status int, format string, args ...any) *apiError {
	return &apiError{status: status, body: marshal(map[string]string{"error": fmt.Sprintf(format, args...)}),
		contentType: "application/json; charset=utf-8"}
}

func (ollamaDialect) route(r *http.Request, _ *Server) (route, *apiError) {
	switch {
	case r.URL.Path == "/api/chat" && r.Method == http.MethodPost:
		return route{ep: epChat}, nil
	case r.URL.Path == "/api/embed" && r.Method == http.MethodPost:
		return route{ep: epEmbeddings}, nil
	case r.URL.Path == "/api/tags" && r.Method == http.MethodGet:
		return route{ep: epModels}, nil
	case r.URL.Path == "/api/version" && r.Method == http.MethodGet:
		return route{}, &apiError{status: http.StatusOK, body: []byte(`{"version":"0.12.6"}`)}
	}
	return route{}, &apiError{status: http.StatusNotFound, body: []byte("404 page not found"), contentType: "text/plain"}
}

func (ollamaDialect) authenticate(r *http.Request, s *Server) *apiError {
	if !s.opts.OllamaAuth {
		return nil
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.keys[key] {
		return olErr(http.StatusUnauthorized, "unauthorized")
	}
	return nil
}

func (ollamaDialect) headers(http.Header, string) {}

func (ollamaDialect) statusError(f Fault) *apiError {
	msg := f.Message
	if msg == "" {
		switch f.Status {
		case 503:
			msg = "server busy, please try again.  maximum pending requests exceeded"
		case 500:
			msg = "llama runner process has terminated: exit status 2"
		default:
			msg = strings.ToLower(http.StatusText(f.Status))
		}
	}
	e := olErr(f.Status, "%s", msg)
	e.header = retryHeaders(f, false)
	return e
}

func (ollamaDialect) modelNotFound(model string) *apiError {
	return olErr(http.StatusNotFound, "model %q not found, try pulling it first", model)
}

func (ollamaDialect) listModels(s *Server) []byte {
	type details struct {
		Format            string `json:"format"`
		Family            string `json:"family"`
		ParameterSize     string `json:"parameter_size"`
		QuantizationLevel string `json:"quantization_level"`
	}
	type model struct {
		Name       string  `json:"name"`
		Model      string  `json:"model"`
		ModifiedAt string  `json:"modified_at"`
		Size       int64   `json:"size"`
		Digest     string  `json:"digest"`
		Details    details `json:"details"`
	}
	out := struct {
		Models []model `json:"models"`
	}{Models: []model{}}
	for _, m := range modelList(s) {
		out.Models = append(out.Models, model{Name: m, Model: m, ModifiedAt: "2025-01-01T00:00:00Z", Size: 2019393189,
			Digest:  "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
			Details: details{Format: "gguf", Family: "llama", ParameterSize: "3.2B", QuantizationLevel: "Q4_K_M"}})
	}
	return marshal(out)
}

// olOptions are the runtime options and the JSON type each must have.
var olOptions = map[string]string{
	"numa": "bool", "num_ctx": "int", "num_batch": "int", "num_gpu": "int", "main_gpu": "int", "low_vram": "bool",
	"f16_kv": "bool", "logits_all": "bool", "vocab_only": "bool", "use_mmap": "bool", "use_mlock": "bool",
	"num_thread": "int", "num_keep": "int", "seed": "int", "num_predict": "int", "top_k": "int", "top_p": "float32",
	"min_p": "float32", "tfs_z": "float32", "typical_p": "float32", "repeat_last_n": "int", "temperature": "float32",
	"repeat_penalty": "float32", "presence_penalty": "float32", "frequency_penalty": "float32", "mirostat": "int",
	"mirostat_tau": "float32", "mirostat_eta": "float32", "penalize_newline": "bool", "stop": "array",
}

var olTopLevel = []string{"model", "messages", "tools", "format", "options", "stream", "keep_alive", "think",
	"truncate", "shift", "logprobs", "top_logprobs"}

// goKind names a JSON value as encoding/json's errors do.
func goKind(v gjson.Result) string {
	switch k := jsonKind(v); k {
	case "boolean":
		return "bool"
	default:
		return k
	}
}

// olType is encoding/json's type error, e.g. "json: cannot unmarshal number into Go struct field
// ChatRequest.model of type string".
func olType(path, goType string, v gjson.Result) *apiError {
	return olErr(http.StatusBadRequest, "json: cannot unmarshal %s into Go struct field %s of type %s", goKind(v), path, goType)
}

func olOnlyKeys(obj gjson.Result, keys ...string) *apiError {
	for _, m := range members(obj) {
		if !slices.Contains(keys, m.key) {
			return olErr(http.StatusBadRequest, "json: unknown field %q", m.key)
		}
	}
	return nil
}

func olString(path string, v gjson.Result) *apiError {
	if v.Exists() && v.Type != gjson.Null && v.Type != gjson.String {
		return olType(path, "string", v)
	}
	return nil
}

func (d ollamaDialect) parse(_ route, _ *http.Request, body []byte, _ *Server) (*call, *apiError) {
	if len(body) == 0 {
		return nil, olErr(http.StatusBadRequest, "missing request body")
	}
	var probe any
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, olErr(http.StatusBadRequest, "%s", err.Error())
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, olType("", "api.ChatRequest", root)
	}
	if err := olOnlyKeys(root, olTopLevel...); err != nil {
		return nil, err
	}
	model := field(root, "model")
	if err := olString("ChatRequest.model", model); err != nil {
		return nil, err
	}
	if model.String() == "" {
		return nil, olErr(http.StatusBadRequest, "model is required")
	}
	c := &call{model: model.String(), n: 1, stream: true}
	v := &olValidator{c: c}
	for _, m := range members(root) {
		if err := v.param(m.key, m.val); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type olValidator struct{ c *call }

func (v *olValidator) param(key string, x gjson.Result) *apiError {
	p := "ChatRequest." + key
	switch key {
	case "stream":
		if x.Type != gjson.Null && !isBool(x) {
			return olType(p, "bool", x)
		}
		v.c.stream = x.Type != gjson.False
	case "messages":
		return v.messages(x)
	case "tools":
		return v.tools(x)
	case "options":
		return v.options(x)
	case "format":
		if x.Type == gjson.Null || x.IsObject() || (x.Type == gjson.String && (x.String() == "" || x.String() == "json")) {
			return nil
		}
		return olErr(http.StatusBadRequest, "invalid format: %s; expected \"json\" or a JSON schema", shortRaw(x))
	case "keep_alive":
		if x.Type != gjson.Null && x.Type != gjson.String && x.Type != gjson.Number {
			return olType(p, "api.Duration", x)
		}
		if x.Type == gjson.String {
			if _, err := time.ParseDuration(x.String()); err != nil {
				return olErr(http.StatusBadRequest, "%s", err.Error())
			}
		}
	case "think":
		if x.Type == gjson.Null || isBool(x) || slices.Contains([]string{"high", "medium", "low"}, x.String()) {
			return nil
		}
		return olErr(http.StatusBadRequest, "invalid think value: %s (must be \"high\", \"medium\", \"low\", true, or false)", shortRaw(x))
	case "truncate", "shift", "logprobs":
		if x.Type != gjson.Null && !isBool(x) {
			return olType(p, "bool", x)
		}
	case "top_logprobs":
		if x.Type != gjson.Null && !isInt(x) {
			return olType(p, "int", x)
		}
	}
	return nil
}

func (v *olValidator) messages(x gjson.Result) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	if !x.IsArray() {
		return olType("ChatRequest.messages", "[]api.Message", x)
	}
	msgs := x.Array()
	roles := make([]string, len(msgs))
	cv := &v.c.conv
	for i, m := range msgs {
		if !m.IsObject() {
			return olType("ChatRequest.messages", "api.Message", m)
		}
		if err := olOnlyKeys(m, "role", "content", "images", "tool_calls", "thinking", "tool_name", "tool_call_id"); err != nil {
			return err
		}
		for _, k := range []string{"role", "content", "thinking", "tool_name", "tool_call_id"} {
			if err := olString("ChatRequest.messages."+k, field(m, k)); err != nil {
				return err
			}
		}
		role := field(m, "role").String()
		if !slices.Contains([]string{"system", "user", "assistant", "tool"}, role) {
			return olErr(http.StatusBadRequest, "mock: messages[%d]: invalid role %q (want system, user, assistant or tool)", i, role)
		}
		roles[i] = role
		cv.addText(field(m, "content").String())
		images, err := olImages(field(m, "images"))
		if err != nil {
			return err
		}
		cv.images += images
		if err := v.toolCalls(field(m, "tool_calls")); err != nil {
			return err
		}
	}
	v.lastTurn(msgs, roles)
	return nil
}

func olImages(x gjson.Result) (int, *apiError) {
	if !x.Exists() || x.Type == gjson.Null {
		return 0, nil
	}
	if !x.IsArray() {
		return 0, olType("ChatRequest.messages.images", "[]api.ImageData", x)
	}
	for _, img := range x.Array() {
		if img.Type != gjson.String {
			return 0, olType("ChatRequest.messages.images", "api.ImageData", img)
		}
		if _, err := base64.StdEncoding.DecodeString(img.String()); err != nil {
			return 0, olErr(http.StatusBadRequest, "%s", err.Error())
		}
	}
	return len(x.Array()), nil
}

func (v *olValidator) toolCalls(x gjson.Result) *apiError {
	if !x.Exists() || x.Type == gjson.Null {
		return nil
	}
	if !x.IsArray() {
		return olType("ChatRequest.messages.tool_calls", "[]api.ToolCall", x)
	}
	for _, tc := range x.Array() {
		if !tc.IsObject() {
			return olType("ChatRequest.messages.tool_calls", "api.ToolCall", tc)
		}
		if err := olOnlyKeys(tc, "id", "type", "function"); err != nil {
			return err
		}
		fn := field(tc, "function")
		if !fn.IsObject() {
			return olType("ToolCall.messages.tool_calls.function", "api.ToolCallFunction", fn)
		}
		if err := olOnlyKeys(fn, "index", "name", "arguments"); err != nil {
			return err
		}
		if err := olString("ToolCallFunction.messages.tool_calls.function.name", field(fn, "name")); err != nil {
			return err
		}
		args := field(fn, "arguments")
		if args.Exists() && args.Type != gjson.Null && !args.IsObject() {
			return olType("ToolCallFunction.messages.tool_calls.function.arguments", "api.ToolCallFunctionArguments", args)
		}
		v.c.conv.addText(field(fn, "name").String())
		v.c.conv.addText(compactJSON(orEmptyObject(args.Raw)))
	}
	return nil
}

func (v *olValidator) tools(x gjson.Result) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	if !x.IsArray() {
		return olType("ChatRequest.tools", "api.Tools", x)
	}
	for _, t := range x.Array() {
		if !t.IsObject() {
			return olType("ChatRequest.tools", "api.Tool", t)
		}
		if err := olOnlyKeys(t, "type", "items", "function"); err != nil {
			return err
		}
		fn := field(t, "function")
		if !fn.IsObject() {
			return olType("Tool.tools.function", "api.ToolFunction", fn)
		}
		if err := olOnlyKeys(fn, "name", "description", "parameters"); err != nil {
			return err
		}
		if err := olString("ToolFunction.tools.function.name", field(fn, "name")); err != nil {
			return err
		}
		if p := field(fn, "parameters"); p.Exists() && p.Type != gjson.Null && !p.IsObject() {
			return olType("ToolFunction.tools.function.parameters", "api.ToolFunctionParameters", p)
		}
		v.c.conv.tools = append(v.c.conv.tools, field(fn, "name").String())
	}
	return nil
}

func (v *olValidator) options(x gjson.Result) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	if !x.IsObject() {
		return olType("ChatRequest.options", "map[string]interface {}", x)
	}
	for _, m := range members(x) {
		typ, ok := olOptions[m.key]
		if !ok {
			return olErr(http.StatusBadRequest, "mock: invalid option provided: %q (Ollama would ignore it)", m.key)
		}
		if m.val.Type == gjson.Null {
			continue
		}
		okType := map[string]bool{
			"int": m.val.Type == gjson.Number, "float32": m.val.Type == gjson.Number, "bool": isBool(m.val),
			"array": m.val.IsArray(),
		}[typ]
		if !okType {
			return olErr(http.StatusBadRequest, "option %q must be of type %s", m.key, map[string]string{
				"int": "integer", "float32": "float32", "bool": "boolean", "array": "array"}[typ])
		}
		switch m.key {
		case "num_predict":
			v.c.conv.maxTokens = max(0, int(m.val.Int()))
		case "stop":
			for _, s := range m.val.Array() {
				if s.Type != gjson.String {
					return olErr(http.StatusBadRequest, "option %q must be of an array of strings", m.key)
				}
				v.c.conv.stop = append(v.c.conv.stop, s.String())
			}
		}
	}
	return nil
}

func (v *olValidator) lastTurn(msgs []gjson.Result, roles []string) {
	if len(roles) == 0 {
		return
	}
	t := &v.c.conv.last
	if roles[len(roles)-1] == "tool" {
		start := len(roles) - 1
		for start > 0 && roles[start-1] == "tool" {
			start--
		}
		for _, m := range msgs[start:] {
			t.results = append(t.results, field(m, "content").String())
		}
		return
	}
	for i := len(roles) - 1; i >= 0; i-- {
		if roles[i] == "user" {
			t.text = field(msgs[i], "content").String()
			t.images = len(field(msgs[i], "images").Array())
			return
		}
	}
}
