package mockprovider

import (
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// openaiDialect is OpenAI Chat Completions (POST /v1/chat/completions, GET /v1/models) and, with
// azure set, Azure OpenAI (POST /openai/deployments/{deployment}/chat/completions?api-version=…).
type openaiDialect struct{ azure bool }

// AzureAPIVersions are the Azure OpenAI data-plane api-version values accepted by default.
var AzureAPIVersions = []string{
	"2022-12-01", "2023-05-15", "2023-06-01-preview", "2023-07-01-preview", "2023-08-01-preview",
	"2023-09-01-preview", "2023-12-01-preview", "2024-02-01", "2024-02-15-preview", "2024-03-01-preview",
	"2024-04-01-preview", "2024-05-01-preview", "2024-06-01", "2024-07-01-preview", "2024-08-01-preview",
	"2024-09-01-preview", "2024-10-01-preview", "2024-10-21", "2024-12-01-preview", "2025-01-01-preview",
	"2025-02-01-preview", "2025-03-01-preview", "2025-04-01-preview",
}

func (d openaiDialect) route(r *http.Request, s *Server) (route, *apiError) {
	p := r.URL.Path
	if !d.azure {
		switch {
		case p == "/v1/chat/completions" && r.Method == http.MethodPost:
			return route{ep: epChat}, nil
		case p == "/v1/models" && r.Method == http.MethodGet:
			return route{ep: epModels}, nil
		case p == "/v1/embeddings" && r.Method == http.MethodPost:
			return route{ep: epEmbeddings}, nil
		}
		return route{}, oaiErr(http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", r.Method, p), "invalid_request_error", "", "")
	}
	notFound := azureErr(http.StatusNotFound, "404", "Resource not found")
	var rt route
	switch rest, ok := strings.CutPrefix(p, "/openai/deployments/"); {
	case ok && r.Method == http.MethodPost:
		dep, tail, _ := strings.Cut(rest, "/")
		switch {
		case dep != "" && tail == "chat/completions":
			rt = route{ep: epChat, model: dep}
		case dep != "" && tail == "embeddings":
			rt = route{ep: epEmbeddings, model: dep}
		default:
			return route{}, notFound
		}
	case p == "/openai/models" && r.Method == http.MethodGet:
		rt = route{ep: epModels}
	default:
		return route{}, notFound
	}
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return route{}, notFound // what Azure really answers without api-version
	}
	versions := s.opts.APIVersions
	if len(versions) == 0 {
		versions = AzureAPIVersions
	}
	if !slices.Contains(versions, v) {
		return route{}, azureErr(http.StatusBadRequest, "BadRequest", "API version not supported")
	}
	return rt, nil
}

func (d openaiDialect) authenticate(r *http.Request, s *Server) *apiError {
	if d.azure {
		key := r.Header.Get("Api-Key")
		if key == "" {
			key, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		switch {
		case key == "":
			return azureErr(http.StatusUnauthorized, "401", "Access denied due to missing subscription key. "+
				"Make sure to include subscription key when making requests to an API.")
		case !s.keys[key]:
			return azureErr(http.StatusUnauthorized, "401", "Access denied due to invalid subscription key or wrong API "+
				"endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API "+
				"endpoint for your resource.")
		}
		return nil
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		return oaiErr(http.StatusUnauthorized, "You didn't provide an API key. You need to provide your API key in an "+
			"Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "+
			"(with blank username) if you're accessing the API from your browser and are prompted for a username. "+
			"You can obtain an API key from https://platform.openai.com/account/api-keys.", "invalid_request_error", "", "")
	}
	if !s.keys[key] {
		return oaiErr(http.StatusUnauthorized, fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at "+
			"https://platform.openai.com/account/api-keys.", maskKey(key)), "invalid_request_error", "", "invalid_api_key")
	}
	return nil
}

func (d openaiDialect) headers(h http.Header, id string) {
	if d.azure {
		h.Set("Apim-Request-Id", id)
		h.Set("X-Request-Id", id)
		h.Set("X-Ms-Region", "Mock Region")
		return
	}
	h.Set("X-Request-Id", "req_"+id)
	h.Set("Openai-Version", "2020-10-01")
	h.Set("Openai-Organization", "org-mock")
	h.Set("Openai-Processing-Ms", "1")
}

// isJSON reports whether a request declares a JSON body.
func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// oaiTopLevel lists the Chat Completions request parameters (from the API reference).
var oaiTopLevel = map[string]bool{
	"messages": true, "model": true, "audio": true, "frequency_penalty": true, "function_call": true,
	"functions": true, "logit_bias": true, "logprobs": true, "max_completion_tokens": true, "max_tokens": true,
	"metadata": true, "modalities": true, "moderation": true, "n": true, "parallel_tool_calls": true,
	"prediction": true, "presence_penalty": true, "prompt_cache_key": true, "prompt_cache_options": true,
	"prompt_cache_retention": true, "reasoning_effort": true, "response_format": true, "safety_identifier": true,
	"seed": true, "service_tier": true, "stop": true, "store": true, "stream": true, "stream_options": true,
	"temperature": true, "tool_choice": true, "tools": true, "top_logprobs": true, "top_p": true, "user": true,
	"verbosity": true, "web_search_options": true,
}

// azureTopLevel are the extra parameters Azure's chat completions accept.
var azureTopLevel = map[string]bool{"data_sources": true, "user_security_context": true}

var oaiRoles = []string{"system", "assistant", "user", "function", "tool", "developer"}

// oaiMessageKeys are the fields each message role may carry.
var oaiMessageKeys = map[string][]string{
	"system":    {"role", "content", "name"},
	"developer": {"role", "content", "name"},
	"user":      {"role", "content", "name"},
	"assistant": {"role", "content", "name", "refusal", "tool_calls", "function_call", "audio"},
	"tool":      {"role", "content", "tool_call_id"},
	"function":  {"role", "content", "name"},
}

var oaiToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func (d openaiDialect) parse(rt route, r *http.Request, body []byte, s *Server) (*call, *apiError) {
	if !isJSON(r) || !gjson.ValidBytes(body) {
		return nil, oaiInvalid(oaiBadJSON, "", "")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, oaiInvalid(oaiBadJSON, "", "")
	}
	var unknown []string
	for _, m := range members(root) {
		if !oaiTopLevel[m.key] && !(d.azure && azureTopLevel[m.key]) {
			unknown = append(unknown, m.key)
		}
	}
	switch len(unknown) {
	case 0:
	case 1:
		return nil, oaiInvalid("Unrecognized request argument supplied: "+unknown[0], "", "")
	default:
		return nil, oaiInvalid("Unrecognized request arguments supplied: "+strings.Join(unknown, ", "), "", "")
	}
	v := &oaiValidator{c: &call{n: 1, model: rt.model}}
	model := field(root, "model")
	switch {
	case !model.Exists() && !d.azure:
		return nil, oaiInvalid("you must provide a model parameter", "", "")
	case model.Exists() && model.Type != gjson.String:
		return nil, oaiInvalidType("model", "a string", model)
	case !d.azure:
		v.c.model = model.String()
	}
	if err := v.messages(field(root, "messages")); err != nil {
		return nil, err
	}
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

// oaiValidator walks one request, filling c as it goes.
type oaiValidator struct {
	c     *call
	tools []string
}

// onlyKeys rejects the first field of obj not in keys.
func onlyKeys(p string, obj gjson.Result, keys ...string) *apiError {
	for _, m := range members(obj) {
		if !slices.Contains(keys, m.key) {
			return oaiUnknown(p + "." + m.key)
		}
	}
	return nil
}

func wantObject(p string, x gjson.Result) *apiError {
	if !x.IsObject() {
		return oaiInvalidType(p, "an object", x)
	}
	return nil
}

// reqString checks that obj.key is a present string and returns it.
func reqString(p string, obj gjson.Result, key string) (string, *apiError) {
	x := field(obj, key)
	if !x.Exists() {
		return "", oaiMissing(p + "." + key)
	}
	if x.Type != gjson.String {
		return "", oaiInvalidType(p+"."+key, "a string", x)
	}
	return x.String(), nil
}

func optString(p string, x gjson.Result) *apiError {
	if x.Type != gjson.Null && x.Type != gjson.String {
		return oaiInvalidType(p, "a string", x)
	}
	return nil
}

func optBool(p string, x gjson.Result) *apiError {
	if x.Type != gjson.Null && !isBool(x) {
		return oaiInvalidType(p, "a boolean", x)
	}
	return nil
}

func optNumber(p string, x gjson.Result, lo, hi float64) *apiError {
	switch {
	case x.Type == gjson.Null:
		return nil
	case x.Type != gjson.Number:
		return oaiInvalidType(p, "a decimal", x)
	}
	return oaiRange(p, x, lo, hi, false)
}

func optInt(p string, x gjson.Result, lo, hi float64) *apiError {
	switch {
	case x.Type == gjson.Null:
		return nil
	case !isInt(x):
		return oaiInvalidType(p, "an integer", x)
	}
	return oaiRange(p, x, lo, hi, true)
}

func optEnum(p string, x gjson.Result, values ...string) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	if x.Type != gjson.String {
		return oaiInvalidType(p, "a string", x)
	}
	if !slices.Contains(values, x.String()) {
		return oaiInvalidValue(p, x.String(), values)
	}
	return nil
}

func optObject(p string, x gjson.Result) *apiError {
	if x.Type != gjson.Null && !x.IsObject() {
		return oaiInvalidType(p, "an object", x)
	}
	return nil
}

const maxInt = 1 << 53

// param validates one top-level parameter (messages and model are done before).
func (v *oaiValidator) param(key string, x gjson.Result) *apiError {
	switch key {
	case "temperature":
		return optNumber(key, x, 0, 2)
	case "top_p":
		return optNumber(key, x, 0, 1)
	case "frequency_penalty", "presence_penalty":
		return optNumber(key, x, -2, 2)
	case "n":
		if err := optInt(key, x, 1, 128); err != nil {
			return err
		}
		if x.Exists() && x.Type != gjson.Null {
			v.c.n = int(x.Int())
		}
	case "max_tokens", "max_completion_tokens":
		if err := optInt(key, x, 1, maxInt); err != nil {
			return err
		}
		if x.Type == gjson.Number {
			v.c.conv.maxTokens = int(x.Int())
		}
	case "seed":
		return optInt(key, x, -maxInt, maxInt)
	case "top_logprobs":
		return optInt(key, x, 0, 20)
	case "logprobs", "parallel_tool_calls", "store":
		return optBool(key, x)
	case "stream":
		if err := optBool(key, x); err != nil {
			return err
		}
		v.c.stream = x.Type == gjson.True
	case "user", "prompt_cache_key", "safety_identifier":
		return optString(key, x)
	case "reasoning_effort":
		return optEnum(key, x, "none", "minimal", "low", "medium", "high", "xhigh")
	case "service_tier":
		return optEnum(key, x, "auto", "default", "flex", "scale", "priority")
	case "verbosity":
		return optEnum(key, x, "low", "medium", "high")
	case "prompt_cache_retention":
		return optEnum(key, x, "in-memory", "24h")
	case "stop":
		return v.stop(x)
	case "stream_options":
		if err := optObject(key, x); err != nil {
			return err
		}
		if err := onlyKeys(key, x, "include_usage", "include_obfuscation"); err != nil {
			return err
		}
		if err := optBool(key+".include_usage", field(x, "include_usage")); err != nil {
			return err
		}
		v.c.usage = field(x, "include_usage").Type == gjson.True
		return optBool(key+".include_obfuscation", field(x, "include_obfuscation"))
	case "response_format":
		return responseFormat(x)
	case "metadata", "logit_bias", "audio", "prediction", "web_search_options", "moderation", "prompt_cache_options",
		"user_security_context":
		return optObject(key, x)
	case "tools":
		return v.toolsParam(x)
	case "tool_choice":
		return v.toolChoice(x)
	case "modalities", "functions", "data_sources":
		if x.Type != gjson.Null && !x.IsArray() {
			return oaiInvalidType(key, "an array", x)
		}
	case "function_call":
		if x.Type != gjson.String && !x.IsObject() && x.Type != gjson.Null {
			return oaiInvalidType(key, "one of a string or object", x)
		}
	}
	return nil
}

func (v *oaiValidator) stop(x gjson.Result) *apiError {
	switch {
	case x.Type == gjson.Null:
	case x.Type == gjson.String:
		v.c.conv.stop = []string{x.String()}
	case x.IsArray():
		arr := x.Array()
		if len(arr) > 4 {
			return oaiInvalid(fmt.Sprintf("Invalid 'stop': array too long. Expected an array with maximum length 4, "+
				"but got an array with length %d instead.", len(arr)), "stop", "array_above_max_length")
		}
		for i, s := range arr {
			if s.Type != gjson.String {
				return oaiInvalidType(fmt.Sprintf("stop[%d]", i), "a string", s)
			}
			v.c.conv.stop = append(v.c.conv.stop, s.String())
		}
	default:
		return oaiInvalidType("stop", "one of a string or array of strings", x)
	}
	return nil
}

func responseFormat(x gjson.Result) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	if err := wantObject("response_format", x); err != nil {
		return err
	}
	typ, err := reqString("response_format", x, "type")
	if err != nil {
		return err
	}
	switch typ {
	case "text", "json_object":
		return onlyKeys("response_format", x, "type")
	case "json_schema":
		if err := onlyKeys("response_format", x, "type", "json_schema"); err != nil {
			return err
		}
		js := field(x, "json_schema")
		if !js.Exists() {
			return oaiMissing("response_format.json_schema")
		}
		if err := wantObject("response_format.json_schema", js); err != nil {
			return err
		}
		if err := onlyKeys("response_format.json_schema", js, "name", "description", "schema", "strict"); err != nil {
			return err
		}
		_, err := reqString("response_format.json_schema", js, "name")
		return err
	}
	return oaiInvalidValue("response_format.type", typ, []string{"text", "json_object", "json_schema"})
}

func (v *oaiValidator) toolsParam(x gjson.Result) *apiError {
	if x.Type == gjson.Null {
		return nil
	}
	if !x.IsArray() {
		return oaiInvalidType("tools", "an array", x)
	}
	for i, t := range x.Array() {
		p := fmt.Sprintf("tools[%d]", i)
		if err := wantObject(p, t); err != nil {
			return err
		}
		typ, err := reqString(p, t, "type")
		if err != nil {
			return err
		}
		if typ != "function" && typ != "custom" {
			return oaiInvalidValue(p+".type", typ, []string{"function", "custom"})
		}
		if err := onlyKeys(p, t, "type", typ); err != nil {
			return err
		}
		fn := field(t, typ)
		if !fn.Exists() {
			return oaiMissing(p + "." + typ)
		}
		if err := wantObject(p+"."+typ, fn); err != nil {
			return err
		}
		keys := []string{"name", "description", "parameters", "strict"}
		if typ == "custom" {
			keys = []string{"name", "description", "format"}
		}
		if err := onlyKeys(p+"."+typ, fn, keys...); err != nil {
			return err
		}
		name, err := reqString(p+"."+typ, fn, "name")
		if err != nil {
			return err
		}
		if err := checkToolName(p+"."+typ+".name", name); err != nil {
			return err
		}
		if err := optString(p+"."+typ+".description", field(fn, "description")); err != nil {
			return err
		}
		if err := optObject(p+"."+typ+".parameters", field(fn, "parameters")); err != nil {
			return err
		}
		if err := optBool(p+"."+typ+".strict", field(fn, "strict")); err != nil {
			return err
		}
		v.tools = append(v.tools, name)
	}
	v.c.conv.tools = v.tools
	return nil
}

func checkToolName(p, name string) *apiError {
	if len(name) > 64 {
		return oaiInvalid(fmt.Sprintf("Invalid '%s': string too long. Expected a string with maximum length 64, "+
			"but got a string with length %d instead.", p, len(name)), p, "string_above_max_length")
	}
	if !oaiToolName.MatchString(name) {
		return oaiInvalid(fmt.Sprintf("Invalid '%s': string does not match pattern. Expected a string that matches "+
			"the pattern '^[a-zA-Z0-9_-]+$'.", p), p, "invalid_value")
	}
	return nil
}

func (v *oaiValidator) toolChoice(x gjson.Result) *apiError {
	ch := &v.c.conv.choice
	switch {
	case x.Type == gjson.Null:
		return nil
	case x.Type == gjson.String:
		if err := optEnum("tool_choice", x, "none", "auto", "required"); err != nil {
			return err
		}
		ch.mode = x.String()
		return nil
	case !x.IsObject():
		return oaiInvalidType("tool_choice", "one of a string or object", x)
	}
	typ, err := reqString("tool_choice", x, "type")
	if err != nil {
		return err
	}
	switch typ {
	case "function", "custom":
		if err := onlyKeys("tool_choice", x, "type", typ); err != nil {
			return err
		}
		fn := field(x, typ)
		if !fn.Exists() {
			return oaiMissing("tool_choice." + typ)
		}
		if err := wantObject("tool_choice."+typ, fn); err != nil {
			return err
		}
		if err := onlyKeys("tool_choice."+typ, fn, "name"); err != nil {
			return err
		}
		name, err := reqString("tool_choice."+typ, fn, "name")
		if err != nil {
			return err
		}
		ch.mode, ch.names = "required", []string{name}
	case "allowed_tools":
		return v.allowedTools(x)
	default:
		return oaiInvalidValue("tool_choice.type", typ, []string{"function", "allowed_tools", "custom"})
	}
	return nil
}

func (v *oaiValidator) allowedTools(x gjson.Result) *apiError {
	if err := onlyKeys("tool_choice", x, "type", "allowed_tools"); err != nil {
		return err
	}
	at := field(x, "allowed_tools")
	if err := wantObject("tool_choice.allowed_tools", at); err != nil {
		return err
	}
	if err := onlyKeys("tool_choice.allowed_tools", at, "mode", "tools"); err != nil {
		return err
	}
	mode := field(at, "mode")
	if err := optEnum("tool_choice.allowed_tools.mode", mode, "auto", "required"); err != nil {
		return err
	}
	tools := field(at, "tools")
	if !tools.IsArray() {
		return oaiInvalidType("tool_choice.allowed_tools.tools", "an array", tools)
	}
	ch := &v.c.conv.choice
	ch.mode = mode.String()
	for _, t := range tools.Array() {
		if name := t.Get("function.name"); name.Type == gjson.String {
			ch.names = append(ch.names, name.String())
		}
	}
	return nil
}

// crossChecks are the rules that involve several parameters.
func (v *oaiValidator) crossChecks(root gjson.Result) *apiError {
	if so := field(root, "stream_options"); so.Exists() && so.Type != gjson.Null && !v.c.stream {
		return oaiInvalid("Invalid value for 'stream_options': Stream options can only be defined when `stream=True`.",
			"stream_options", "")
	}
	for _, k := range []string{"tool_choice", "parallel_tool_calls"} {
		if x := field(root, k); x.Exists() && x.Type != gjson.Null && len(v.tools) == 0 {
			return oaiInvalid(fmt.Sprintf("Invalid value for '%s': '%s' is only allowed when 'tools' are specified.", k, k), k, "")
		}
	}
	for _, name := range v.c.conv.choice.names {
		if !slices.Contains(v.tools, name) && v.c.conv.choice.mode == "required" && len(v.c.conv.choice.names) == 1 {
			return oaiInvalid(fmt.Sprintf("Invalid value for 'tool_choice': tool '%s' not found in 'tools'.", name),
				"tool_choice", "")
		}
	}
	return nil
}
