package mockprovider

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// The Gemini API parses request bodies as proto3 JSON: field names in lowerCamelCase or their
// original snake_case, null for "unset", numbers possibly quoted, enums by name, bytes as base64.
// The message descriptions below follow google.ai.generativelanguage.v1beta; error paths use the
// proto (snake_case) names, as the API's own messages do.

type gkind int

const (
	gString gkind = iota
	gInt32
	gInt64
	gFloat
	gBool
	gBytes
	gEnum
	gMsg
	gStruct // google.protobuf.Struct: any JSON object
	gValue  // google.protobuf.Value: any JSON
	gMap    // map<string, msg>
)

type gfield struct {
	name     string // proto name
	kind     gkind
	repeated bool
	msg      *gmsg
	enum     []string
}

type gmsg struct {
	name   string // fully qualified, as in error messages
	fields map[string]*gfield
}

func newGmsg(short string) *gmsg {
	return &gmsg{name: "type.googleapis.com/google.ai.generativelanguage.v1beta." + short, fields: map[string]*gfield{}}
}

// add registers fields under their proto name and their lowerCamelCase JSON name.
func (m *gmsg) add(fs ...*gfield) *gmsg {
	for _, f := range fs {
		m.fields[f.name] = f
		m.fields[lowerCamel(f.name)] = f
	}
	return m
}

func lowerCamel(s string) string {
	var b strings.Builder
	up := false
	for i, r := range s {
		switch {
		case r == '_' && i > 0:
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func gf(name string, kind gkind) *gfield    { return &gfield{name: name, kind: kind} }
func gfRep(name string, kind gkind) *gfield { return &gfield{name: name, kind: kind, repeated: true} }
func gfMsg(name string, m *gmsg) *gfield    { return &gfield{name: name, kind: gMsg, msg: m} }
func gfMsgRep(name string, m *gmsg) *gfield {
	return &gfield{name: name, kind: gMsg, msg: m, repeated: true}
}
func gfEnum(name string, values ...string) *gfield {
	return &gfield{name: name, kind: gEnum, enum: values}
}

var (
	gRequest, gContent, gPart, gSchema, gGenerationConfig *gmsg
)

func init() {
	blob := newGmsg("Blob").add(gf("mime_type", gString), gf("data", gBytes))
	fileData := newGmsg("FileData").add(gf("mime_type", gString), gf("file_uri", gString))
	functionCall := newGmsg("FunctionCall").add(gf("id", gString), gf("name", gString), gf("args", gStruct))
	functionResponse := newGmsg("FunctionResponse").add(gf("id", gString), gf("name", gString),
		gf("response", gStruct), gf("will_continue", gBool), gfRep("parts", gValue),
		gfEnum("scheduling", "SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"))
	executableCode := newGmsg("ExecutableCode").add(gfEnum("language", "LANGUAGE_UNSPECIFIED", "PYTHON"), gf("code", gString))
	codeResult := newGmsg("CodeExecutionResult").add(gf("output", gString),
		gfEnum("outcome", "OUTCOME_UNSPECIFIED", "OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED"))
	gPart = newGmsg("Part").add(gf("text", gString), gfMsg("inline_data", blob), gfMsg("function_call", functionCall),
		gfMsg("function_response", functionResponse), gfMsg("file_data", fileData),
		gfMsg("executable_code", executableCode), gfMsg("code_execution_result", codeResult), gf("thought", gBool),
		gf("thought_signature", gBytes), gf("video_metadata", gValue), gf("part_metadata", gStruct),
		gf("media_resolution", gValue))
	gContent = newGmsg("Content").add(gfMsgRep("parts", gPart), gf("role", gString))

	gSchema = newGmsg("Schema")
	gSchema.add(gfEnum("type", "TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"),
		gf("format", gString), gf("title", gString), gf("description", gString), gf("nullable", gBool),
		gfRep("enum", gString), gf("max_items", gInt64), gf("min_items", gInt64),
		&gfield{name: "properties", kind: gMap, msg: gSchema}, gfRep("required", gString),
		gf("min_properties", gInt64), gf("max_properties", gInt64), gf("min_length", gInt64),
		gf("max_length", gInt64), gf("pattern", gString), gf("example", gValue), gfMsgRep("any_of", gSchema),
		gfRep("property_ordering", gString), gf("default", gValue), gfMsg("items", gSchema),
		gf("minimum", gFloat), gf("maximum", gFloat))

	declaration := newGmsg("FunctionDeclaration").add(gf("name", gString), gf("description", gString),
		gfEnum("behavior", "UNSPECIFIED", "BLOCKING", "NON_BLOCKING"), gfMsg("parameters", gSchema),
		gf("parameters_json_schema", gValue), gfMsg("response", gSchema), gf("response_json_schema", gValue))
	tool := newGmsg("Tool").add(gfMsgRep("function_declarations", declaration), gf("google_search_retrieval", gValue),
		gf("code_execution", gValue), gf("google_search", gValue), gf("url_context", gValue),
		gf("computer_use", gValue), gf("file_search", gValue), gf("google_maps", gValue))
	callingConfig := newGmsg("FunctionCallingConfig").add(
		gfEnum("mode", "MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"), gfRep("allowed_function_names", gString))
	toolConfig := newGmsg("ToolConfig").add(gfMsg("function_calling_config", callingConfig), gf("retrieval_config", gValue))
	safety := newGmsg("SafetySetting").add(
		gfEnum("category", "HARM_CATEGORY_UNSPECIFIED", "HARM_CATEGORY_DEROGATORY", "HARM_CATEGORY_TOXICITY",
			"HARM_CATEGORY_VIOLENCE", "HARM_CATEGORY_SEXUAL", "HARM_CATEGORY_MEDICAL", "HARM_CATEGORY_DANGEROUS",
			"HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
			"HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY"),
		gfEnum("threshold", "HARM_BLOCK_THRESHOLD_UNSPECIFIED", "BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE",
			"BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"))
	thinking := newGmsg("ThinkingConfig").add(gf("include_thoughts", gBool), gf("thinking_budget", gInt32),
		gfEnum("thinking_level", "THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH"))
	gGenerationConfig = newGmsg("GenerationConfig").add(gf("candidate_count", gInt32), gfRep("stop_sequences", gString),
		gf("max_output_tokens", gInt32), gf("temperature", gFloat), gf("top_p", gFloat), gf("top_k", gInt32),
		gf("seed", gInt32), gf("response_mime_type", gString), gfMsg("response_schema", gSchema),
		gf("response_json_schema", gValue), gf("presence_penalty", gFloat), gf("frequency_penalty", gFloat),
		gf("response_logprobs", gBool), gf("logprobs", gInt32), gf("enable_enhanced_civic_answers", gBool),
		&gfield{name: "response_modalities", kind: gEnum, repeated: true,
			enum: []string{"MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"}},
		gf("speech_config", gValue), gfMsg("thinking_config", thinking),
		gfEnum("media_resolution", "MEDIA_RESOLUTION_UNSPECIFIED", "MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM",
			"MEDIA_RESOLUTION_HIGH"), gf("image_config", gValue))
	gRequest = newGmsg("GenerateContentRequest").add(gf("model", gString), gfMsgRep("contents", gContent),
		gfMsgRep("tools", tool), gfMsg("tool_config", toolConfig), gfMsgRep("safety_settings", safety),
		gfMsg("system_instruction", gContent), gfMsg("generation_config", gGenerationConfig),
		gf("cached_content", gString))
}

// gpath joins a proto field path.
func gpath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// shortRaw renders a rejected value the way the API quotes it.
func shortRaw(v gjson.Result) string {
	s := compactJSON(v.Raw)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

// checkMsg validates obj against m; path is where obj sits.
func checkMsg(path string, obj gjson.Result, m *gmsg) *apiError {
	for _, mem := range members(obj) {
		f, ok := m.fields[mem.key]
		if !ok {
			at := ""
			if path != "" {
				at = fmt.Sprintf(" at '%s'", path)
			}
			return gemBadJSON(path, fmt.Sprintf("Invalid JSON payload received. Unknown name %q%s: Cannot find field.", mem.key, at))
		}
		if err := checkField(path, f, mem.val); err != nil {
			return err
		}
	}
	return nil
}

func checkField(path string, f *gfield, v gjson.Result) *apiError {
	p := gpath(path, f.name)
	switch {
	case v.Type == gjson.Null:
		return nil
	case f.kind == gMap:
		if !v.IsObject() {
			return gemInvalidValue(p, "map", v)
		}
		for i, mem := range members(v) {
			ep := fmt.Sprintf("%s[%d].value", p, i)
			if !mem.val.IsObject() {
				return gemInvalidValue(ep, f.msg.name, mem.val)
			}
			if err := checkMsg(ep, mem.val, f.msg); err != nil {
				return err
			}
		}
		return nil
	case f.repeated:
		if !v.IsArray() {
			if v.IsObject() && f.kind != gMsg {
				return gemBadJSON(path, fmt.Sprintf("Invalid JSON payload received. Unknown name %q at '%s': "+
					"Proto field is not a message, cannot start object.", f.name, path))
			}
			return gemInvalidValue(p, fieldTypeName(f), v)
		}
		for i, e := range v.Array() {
			if err := checkSingle(fmt.Sprintf("%s[%d]", p, i), f, e); err != nil {
				return err
			}
		}
		return nil
	case v.IsArray() && f.kind != gValue:
		at := ""
		if path != "" {
			at = fmt.Sprintf(" at '%s'", path)
		}
		return gemBadJSON(path, fmt.Sprintf("Invalid JSON payload received. Unknown name %q%s: "+
			"Proto field is not repeating, cannot start list.", lowerCamel(f.name), at))
	}
	return checkSingle(p, f, v)
}

func fieldTypeName(f *gfield) string {
	switch f.kind {
	case gMsg, gMap:
		return f.msg.name
	case gString:
		return "TYPE_STRING"
	case gInt32:
		return "TYPE_INT32"
	case gInt64:
		return "TYPE_INT64"
	case gFloat:
		return "TYPE_FLOAT"
	case gBool:
		return "TYPE_BOOL"
	case gBytes:
		return "TYPE_BYTES"
	case gEnum:
		return "TYPE_ENUM"
	}
	return "google.protobuf.Value"
}

// checkSingle validates one (non-repeated) value of f.
func checkSingle(p string, f *gfield, v gjson.Result) *apiError {
	bad := func() *apiError { return gemInvalidValue(p, fieldTypeName(f), v) }
	switch f.kind {
	case gMsg:
		if !v.IsObject() {
			return bad()
		}
		return checkMsg(p, v, f.msg)
	case gStruct:
		if !v.IsObject() {
			return bad()
		}
	case gString:
		if v.Type != gjson.String {
			return bad()
		}
	case gBool:
		if !isBool(v) {
			return bad()
		}
	case gInt32, gInt64:
		if !protoInt(v) {
			return bad()
		}
	case gFloat:
		if !protoFloat(v) {
			return bad()
		}
	case gBytes:
		if v.Type != gjson.String || !protoBytes(v.String()) {
			return gemBadJSON(p, fmt.Sprintf("Invalid value at '%s' (TYPE_BYTES), Base64 decoding failed for %q", p, v.String()))
		}
	case gEnum:
		if !protoEnum(v, f.enum) {
			return gemInvalidValue(p, "enum", v)
		}
	}
	return nil
}

// protoInt accepts an integral JSON number or a quoted one.
func protoInt(v gjson.Result) bool {
	s := v.Raw
	if v.Type == gjson.String {
		s = v.String()
	} else if v.Type != gjson.Number {
		return false
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return true
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && f == float64(int64(f))
}

func protoFloat(v gjson.Result) bool {
	switch v.Type {
	case gjson.Number:
		return true
	case gjson.String:
		switch v.String() {
		case "NaN", "Infinity", "-Infinity":
			return true
		}
		_, err := strconv.ParseFloat(v.String(), 64)
		return err == nil
	}
	return false
}

// protoBytes accepts standard or URL-safe base64, padded or not.
func protoBytes(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

// protoEnum accepts an enum by name (any case, as the API does) or by number.
func protoEnum(v gjson.Result, values []string) bool {
	switch v.Type {
	case gjson.Number:
		return isInt(v) && v.Int() >= 0 && int(v.Int()) < len(values)
	case gjson.String:
		for _, e := range values {
			if strings.EqualFold(e, v.String()) {
				return true
			}
		}
	}
	return false
}
