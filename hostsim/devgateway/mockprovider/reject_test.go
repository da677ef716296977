package mockprovider

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

type rejectCase struct {
	name   string
	kind   Kind
	req    *http.Request
	status int
	body   string // exact JSON (compared as JSON values), or plain text for non-JSON answers
}

func runRejects(t *testing.T, cases []rejectCase) {
	t.Helper()
	runRejectsWith(t, testOptions(), cases)
}

// runRejectsWith serves each case by a fresh server with opts.
func runRejectsWith(t *testing.T, opts Options, cases []rejectCase) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = fixedClock
	}
	for _, tc := range cases {
		t.Run(string(tc.kind)+"/"+tc.name, func(t *testing.T) {
			w := serve(t, tc.kind, tc.req, opts)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			assertBody(t, w.Body.String(), tc.body)
		})
	}
}

func assertBody(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if json.Unmarshal([]byte(want), &w) != nil {
		if got != want {
			t.Errorf("body\n got %s\nwant %s", got, want)
		}
		return
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, got)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func oaiWant(msg, param, code string) string {
	return string(oaiErr(400, msg, "invalid_request_error", param, code).body)
}

const okUser = `[{"role":"user","content":"hi"}]`

func TestRejectOpenAI(t *testing.T) {
	p := "/v1/chat/completions"
	body := func(extra string) string { return `{"model":"gpt-4o","messages":` + okUser + extra + `}` }
	msgs := func(m string) string { return `{"model":"gpt-4o","messages":` + m + `}` }
	runRejects(t, []rejectCase{
		{"unknown argument", OpenAI, post(p, body(`,"foo":1`), hOpenAI...), 400,
			oaiWant("Unrecognized request argument supplied: foo", "", "")},
		{"unknown arguments", OpenAI, post(p, body(`,"foo":1,"max_output_tokens":5`), hOpenAI...), 400,
			oaiWant("Unrecognized request arguments supplied: foo, max_output_tokens", "", "")},
		{"missing key", OpenAI, post(p, body(""), "Content-Type: application/json"), 401,
			`{"error":{"message":"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":null}}`},
		{"wrong key", OpenAI, post(p, body(""), "Authorization: Bearer sk-wrong-key-1234", "Content-Type: application/json"), 401,
			`{"error":{"message":"Incorrect API key provided: sk-**********1234. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`},
		{"x-api-key is not OpenAI auth", OpenAI, post(p, body(""), "x-api-key: test-key", "Content-Type: application/json"), 401,
			`{"error":{"message":"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":null}}`},
		{"missing model", OpenAI, post(p, `{"messages":`+okUser+`}`, hOpenAI...), 400,
			oaiWant("you must provide a model parameter", "", "")},
		{"missing messages", OpenAI, post(p, `{"model":"gpt-4o"}`, hOpenAI...), 400,
			oaiWant("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")},
		{"empty messages", OpenAI, post(p, msgs(`[]`), hOpenAI...), 400,
			oaiWant("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array")},
		{"bad role", OpenAI, post(p, msgs(`[{"role":"bot","content":"hi"}]`), hOpenAI...), 400,
			oaiWant("Invalid value: 'bot'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", "messages[0].role", "invalid_value")},
		{"unknown message field", OpenAI, post(p, msgs(`[{"role":"user","content":"hi","cache_control":{"type":"ephemeral"}}]`), hOpenAI...), 400,
			oaiWant("Unknown parameter: 'messages[0].cache_control'.", "messages[0].cache_control", "unknown_parameter")},
		{"tool_call_id on a user message", OpenAI, post(p, msgs(`[{"role":"user","content":"hi","tool_call_id":"x"}]`), hOpenAI...), 400,
			oaiWant("Unknown parameter: 'messages[0].tool_call_id'.", "messages[0].tool_call_id", "unknown_parameter")},
		{"annotations pushed back", OpenAI, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"assistant","content":"yo","annotations":[]}]`), hOpenAI...), 400,
			oaiWant("Unknown parameter: 'messages[1].annotations'.", "messages[1].annotations", "unknown_parameter")},
		{"audio data pushed back", OpenAI, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"assistant","content":"yo","audio":{"id":"a","data":"AA"}}]`), hOpenAI...), 400,
			oaiWant("Unknown parameter: 'messages[1].audio.data'.", "messages[1].audio.data", "unknown_parameter")},
		{"content type", OpenAI, post(p, msgs(`[{"role":"user","content":5}]`), hOpenAI...), 400,
			oaiWant("Invalid type for 'messages[0].content': expected one of a string or array of objects, but got an integer instead.", "messages[0].content", "invalid_type")},
		{"part type", OpenAI, post(p, msgs(`[{"role":"user","content":[{"type":"image","url":"x"}]}]`), hOpenAI...), 400,
			oaiWant("Invalid value: 'image'. Supported values are: 'text', 'image_url', 'input_audio', and 'file'.", "messages[0].content[0].type", "invalid_value")},
		{"image_url as string", OpenAI, post(p, msgs(`[{"role":"user","content":[{"type":"image_url","image_url":"http://x"}]}]`), hOpenAI...), 400,
			oaiWant("Invalid type for 'messages[0].content[0].image_url': expected an object, but got a string instead.", "messages[0].content[0].image_url", "invalid_type")},
		{"image in system message", OpenAI, post(p, msgs(`[{"role":"system","content":[{"type":"image_url","image_url":{"url":"x"}}]},{"role":"user","content":"hi"}]`), hOpenAI...), 400,
			oaiWant("Invalid value: 'image_url'. Supported values are: 'text'.", "messages[0].content[0].type", "invalid_value")},
		{"arguments as object", OpenAI, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}}]},{"role":"tool","tool_call_id":"c1","content":"x"}]`), hOpenAI...), 400,
			oaiWant("Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a string, but got an object instead.", "messages[1].tool_calls[0].function.arguments", "invalid_type")},
		{"tool without tool_calls", OpenAI, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"c1","content":"x"}]`), hOpenAI...), 400,
			oaiWant("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", "messages.[1].role", "")},
		{"unknown tool_call_id", OpenAI, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c2","content":"x"}]`), hOpenAI...), 400,
			oaiWant("Invalid parameter: 'tool_call_id' of 'c2' not found in 'tool_calls' of previous message.", "messages.[2].tool_call_id", "")},
		{"unanswered tool call", OpenAI, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"and?"}]`), hOpenAI...), 400,
			oaiWant("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: c1", "messages.[1].role", "")},
		{"assistant without content", OpenAI, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"assistant"}]`), hOpenAI...), 400,
			oaiWant("Missing required parameter: 'messages[1].content'.", "messages[1].content", "missing_required_parameter")},
		{"temperature too high", OpenAI, post(p, body(`,"temperature":3`), hOpenAI...), 400,
			oaiWant("Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.", "temperature", "decimal_above_max_value")},
		{"temperature as string", OpenAI, post(p, body(`,"temperature":"0.5"`), hOpenAI...), 400,
			oaiWant("Invalid type for 'temperature': expected a decimal, but got a string instead.", "temperature", "invalid_type")},
		{"max_tokens zero", OpenAI, post(p, body(`,"max_tokens":0`), hOpenAI...), 400,
			oaiWant("Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.", "max_tokens", "integer_below_min_value")},
		{"n decimal", OpenAI, post(p, body(`,"n":1.5`), hOpenAI...), 400,
			oaiWant("Invalid type for 'n': expected an integer, but got a decimal instead.", "n", "invalid_type")},
		{"stop too long", OpenAI, post(p, body(`,"stop":["a","b","c","d","e"]`), hOpenAI...), 400,
			oaiWant("Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length 5 instead.", "stop", "array_above_max_length")},
		{"stream_options without stream", OpenAI, post(p, body(`,"stream_options":{"include_usage":true}`), hOpenAI...), 400,
			oaiWant("Invalid value for 'stream_options': Stream options can only be defined when `stream=True`.", "stream_options", "")},
		{"tool_choice without tools", OpenAI, post(p, body(`,"tool_choice":"auto"`), hOpenAI...), 400,
			oaiWant("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", "tool_choice", "")},
		{"parallel_tool_calls without tools", OpenAI, post(p, body(`,"parallel_tool_calls":false`), hOpenAI...), 400,
			oaiWant("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.", "parallel_tool_calls", "")},
		{"tool name pattern", OpenAI, post(p, body(`,"tools":[{"type":"function","function":{"name":"get weather"}}]`), hOpenAI...), 400,
			oaiWant("Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.", "tools[0].function.name", "invalid_value")},
		{"tool in Anthropic shape", OpenAI, post(p, body(`,"tools":[{"name":"f","input_schema":{"type":"object"}}]`), hOpenAI...), 400,
			oaiWant("Missing required parameter: 'tools[0].type'.", "tools[0].type", "missing_required_parameter")},
		{"response_format type", OpenAI, post(p, body(`,"response_format":{"type":"yaml"}`), hOpenAI...), 400,
			oaiWant("Invalid value: 'yaml'. Supported values are: 'text', 'json_object', and 'json_schema'.", "response_format.type", "invalid_value")},
		{"invalid JSON", OpenAI, post(p, `{"model":`, hOpenAI...), 400, oaiWant(oaiBadJSON, "", "")},
		{"not JSON content type", OpenAI, post(p, body(""), "Authorization: Bearer test-key", "Content-Type: text/plain"), 400, oaiWant(oaiBadJSON, "", "")},
		{"unknown path", OpenAI, post("/v1/chat/completion", body(""), hOpenAI...), 404,
			oaiWant("Invalid URL (POST /v1/chat/completion)", "", "")},
	})
	runRejectsWith(t, Options{Models: []string{"gpt-4o-mini"}}, []rejectCase{
		{"model not served", OpenAI, post(p, body(""), hOpenAI...), 404,
			`{"error":{"message":"The model ` + "`gpt-4o`" + ` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`},
		{"fault trigger names are always served", OpenAI, post(p, `{"model":"x-mock-fail-500","messages":`+okUser+`}`, hOpenAI...), 500,
			`{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`},
	})
}

func TestRejectAzure(t *testing.T) {
	ok := `{"messages":` + okUser + `}`
	dep := "/openai/deployments/dep/chat/completions"
	runRejects(t, []rejectCase{
		{"no api-version", Azure, post(dep, ok, hAzure...), 404, `{"error":{"code":"404","message":"Resource not found"}}`},
		{"unknown api-version", Azure, post(dep+"?api-version=2099-01-01", ok, hAzure...), 400,
			`{"error":{"code":"BadRequest","message":"API version not supported"}}`},
		{"OpenAI path", Azure, post("/v1/chat/completions", ok, hAzure...), 404, `{"error":{"code":"404","message":"Resource not found"}}`},
		{"missing key", Azure, post(azurePath, ok, "Content-Type: application/json"), 401,
			`{"error":{"code":"401","message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}}`},
		{"wrong key", Azure, post(azurePath, ok, "api-key: nope", "Content-Type: application/json"), 401,
			`{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`},
		{"unknown argument", Azure, post(azurePath, `{"messages":`+okUser+`,"max_output_tokens":3}`, hAzure...), 400,
			oaiWant("Unrecognized request argument supplied: max_output_tokens", "", "")},
		{"model of the wrong type", Azure, post(azurePath, `{"model":5,"messages":`+okUser+`}`, hAzure...), 400,
			oaiWant("Invalid type for 'model': expected a string, but got an integer instead.", "model", "invalid_type")},
	})
	runRejectsWith(t, Options{Deployments: map[string]string{"prod": "gpt-4o"}}, []rejectCase{
		{"unknown deployment", Azure, post(azurePath, ok, hAzure...), 404,
			`{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`},
	})
}

func antWant(typ, msg string) string {
	return `{"type":"error","error":{"type":"` + typ + `","message":` + string(marshal(msg)) + `},"request_id":"req_mock000001"}`
}

func TestRejectAnthropic(t *testing.T) {
	p := "/v1/messages"
	body := func(extra string) string {
		return `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":` + okUser + extra + `}`
	}
	msgs := func(m string) string { return `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":` + m + `}` }
	inv := func(msg string) string { return antWant("invalid_request_error", msg) }
	runRejects(t, []rejectCase{
		{"missing key", Anthropic, post(p, body(""), "anthropic-version: 2023-06-01", "Content-Type: application/json"), 401,
			antWant("authentication_error", "x-api-key header is required")},
		{"bearer instead of x-api-key", Anthropic, post(p, body(""), "Authorization: Bearer test-key", "anthropic-version: 2023-06-01", "Content-Type: application/json"), 401,
			antWant("authentication_error", "x-api-key header is required")},
		{"wrong key", Anthropic, post(p, body(""), "x-api-key: nope", "anthropic-version: 2023-06-01", "Content-Type: application/json"), 401,
			antWant("authentication_error", "invalid x-api-key")},
		{"missing version", Anthropic, post(p, body(""), "x-api-key: test-key", "Content-Type: application/json"), 400,
			inv("anthropic-version: header is required")},
		{"missing max_tokens", Anthropic, post(p, `{"model":"m","messages":`+okUser+`}`, hAnthropic...), 400, inv("max_tokens: Field required")},
		{"unknown parameter", Anthropic, post(p, body(`,"n":2`), hAnthropic...), 400, inv("n: Extra inputs are not permitted")},
		{"OpenAI parameter", Anthropic, post(p, body(`,"max_completion_tokens":2`), hAnthropic...), 400,
			inv("max_completion_tokens: Extra inputs are not permitted")},
		{"system role", Anthropic, post(p, msgs(`[{"role":"system","content":"be nice"},{"role":"user","content":"hi"}]`), hAnthropic...), 400,
			inv("messages.0.role: Input should be 'user' or 'assistant'")},
		{"tool role", Anthropic, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"tool","content":"x"}]`), hAnthropic...), 400,
			inv("messages.1.role: Input should be 'user' or 'assistant'")},
		{"unknown message field", Anthropic, post(p, msgs(`[{"role":"user","content":"hi","name":"bob"}]`), hAnthropic...), 400,
			inv("messages.0.name: Extra inputs are not permitted")},
		{"unknown block field", Anthropic, post(p, msgs(`[{"role":"user","content":[{"type":"text","text":"hi","foo":1}]}]`), hAnthropic...), 400,
			inv("messages.0.content.0.text.foo: Extra inputs are not permitted")},
		{"OpenAI image part", Anthropic, post(p, msgs(`[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]`), hAnthropic...), 400,
			inv("messages.0.content.0: Input tag 'image_url' found using 'type' does not match any of the expected tags: 'bash_code_execution_tool_result', 'code_execution_tool_result', 'container_upload', 'document', 'image', 'mcp_tool_result', 'mcp_tool_use', 'redacted_thinking', 'search_result', 'server_tool_use', 'text', 'text_editor_code_execution_tool_result', 'thinking', 'tool_result', 'tool_search_tool_result', 'tool_use', 'web_fetch_tool_result', 'web_search_tool_result'")},
		{"image media type", Anthropic, post(p, msgs(`[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AAAA"}}]}]`), hAnthropic...), 400,
			inv("messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'")},
		{"data URL as base64", Anthropic, post(p, msgs(`[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"data:image/png;base64,AAAA"}}]}]`), hAnthropic...), 400,
			inv("messages.0.content.0.image.source.base64.data: invalid base64 data")},
		{"max_tokens string", Anthropic, post(p, `{"model":"m","max_tokens":"100","messages":`+okUser+`}`, hAnthropic...), 400,
			inv("max_tokens: Input should be a valid integer")},
		{"temperature above 1", Anthropic, post(p, body(`,"temperature":1.5`), hAnthropic...), 400,
			inv("temperature: Input should be less than or equal to 1")},
		{"empty content", Anthropic, post(p, msgs(`[{"role":"user","content":""}]`), hAnthropic...), 400,
			inv("messages.0: all messages must have non-empty content except for the optional final assistant message")},
		{"empty text block", Anthropic, post(p, msgs(`[{"role":"user","content":[{"type":"text","text":""}]}]`), hAnthropic...), 400,
			inv("messages: text content blocks must be non-empty")},
		{"tool_use without tool_result", Anthropic, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":"go on"}]`), hAnthropic...), 400,
			inv("messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message.")},
		{"unexpected tool_result", Anthropic, post(p, msgs(`[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9","content":"x"}]}]`), hAnthropic...), 400,
			inv("messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.")},
		{"tool_use input as string", Anthropic, post(p, msgs(`[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":"{}"}]}]`), hAnthropic...), 400,
			inv("messages.1.content.0.tool_use.input: Input should be a valid dictionary")},
		{"tool without input_schema", Anthropic, post(p, body(`,"tools":[{"name":"f"}]`), hAnthropic...), 400,
			inv("tools.0.custom.input_schema: Field required")},
		{"tool in OpenAI shape", Anthropic, post(p, body(`,"tools":[{"type":"function","function":{"name":"f"}}]`), hAnthropic...), 400,
			inv("tools.0.name: Field required")},
		{"tool_choice in OpenAI shape", Anthropic, post(p, body(`,"tool_choice":"auto"`), hAnthropic...), 400,
			inv("tool_choice: Input should be a valid dictionary")},
		{"tool_choice unknown tool", Anthropic, post(p, body(`,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"g"}`), hAnthropic...), 400,
			inv("tool_choice.tool.name: Tool 'g' not found in provided tools")},
		{"thinking budget", Anthropic, post(p, body(`,"thinking":{"type":"enabled","budget_tokens":2000}`), hAnthropic...), 400,
			inv("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size")},
		{"invalid JSON", Anthropic, post(p, `{"model":`, hAnthropic...), 400,
			inv("There was an error parsing the body of your request: the body is not valid JSON.")},
		{"unknown path", Anthropic, post("/v1/complete", body(""), hAnthropic...), 404, antWant("not_found_error", "Not Found")},
	})
	runRejectsWith(t, Options{Models: []string{"claude-haiku-4-5"}}, []rejectCase{
		{"model not served", Anthropic, post(p, body(""), hAnthropic...), 404, antWant("not_found_error", "model: claude-sonnet-4-5")},
	})
}

func gemWant(status int, msg string, field string) string {
	e := gemBadJSON(field, msg)
	var b gemErrorBody
	_ = json.Unmarshal(e.body, &b)
	b.Error.Code, b.Error.Status = status, gemStatus[status]
	return string(marshal(b))
}

func gemPlain(status int, msg string) string { return string(gemErr(status, msg).body) }

func TestRejectGemini(t *testing.T) {
	body := func(extra string) string {
		return `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]` + extra + `}`
	}
	runRejects(t, []rejectCase{
		{"missing key", Gemini, post(geminiPath, body(""), "Content-Type: application/json"), 403,
			gemPlain(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")},
		{"wrong key", Gemini, post(geminiPath, body(""), "x-goog-api-key: nope", "Content-Type: application/json"), 400,
			`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}`},
		{"bearer is not a Gemini key", Gemini, post(geminiPath, body(""), "Authorization: Bearer test-key", "Content-Type: application/json"), 403,
			gemPlain(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")},
		{"unknown top-level field", Gemini, post(geminiPath, body(`,"temperature":0.5`), hGemini...), 400,
			gemWant(400, `Invalid JSON payload received. Unknown name "temperature": Cannot find field.`, "")},
		{"OpenAI messages", Gemini, post(geminiPath, `{"messages":[{"role":"user","content":"hi"}]}`, hGemini...), 400,
			gemWant(400, `Invalid JSON payload received. Unknown name "messages": Cannot find field.`, "")},
		{"unknown part field", Gemini, post(geminiPath, `{"contents":[{"role":"user","parts":[{"text":"hi","type":"text"}]}]}`, hGemini...), 400,
			gemWant(400, `Invalid JSON payload received. Unknown name "type" at 'contents[0].parts[0]': Cannot find field.`, "contents[0].parts[0]")},
		{"additionalProperties in a schema", Gemini, post(geminiPath, body(`,"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"object","additionalProperties":false}}]}]`), hGemini...), 400,
			gemWant(400, `Invalid JSON payload received. Unknown name "additionalProperties" at 'tools[0].function_declarations[0].parameters': Cannot find field.`, "tools[0].function_declarations[0].parameters")},
		{"nested schema property", Gemini, post(geminiPath, body(`,"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string","$schema":"x"}}}}]}]`), hGemini...), 400,
			gemWant(400, `Invalid JSON payload received. Unknown name "$schema" at 'tools[0].function_declarations[0].parameters.properties[1].value': Cannot find field.`, "tools[0].function_declarations[0].parameters.properties[1].value")},
		{"assistant role", Gemini, post(geminiPath, `{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"assistant","parts":[{"text":"yo"}]}]}`, hGemini...), 400,
			gemPlain(400, "Please use a valid role: user, model.")},
		{"no contents", Gemini, post(geminiPath, `{"contents":[]}`, hGemini...), 400,
			gemPlain(400, "* GenerateContentRequest.contents: contents is not specified\n")},
		{"empty parts", Gemini, post(geminiPath, `{"contents":[{"role":"user","parts":[]}]}`, hGemini...), 400,
			gemPlain(400, "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n")},
		{"part without data", Gemini, post(geminiPath, `{"contents":[{"role":"user","parts":[{"thought":true}]}]}`, hGemini...), 400,
			gemPlain(400, "* GenerateContentRequest.contents[0].parts[0].data: required oneof field 'data' must have one initialized field\n")},
		{"temperature as word", Gemini, post(geminiPath, body(`,"generationConfig":{"temperature":"hot"}`), hGemini...), 400,
			gemWant(400, `Invalid value at 'generation_config.temperature' (TYPE_FLOAT), "hot"`, "generation_config.temperature")},
		{"maxOutputTokens decimal", Gemini, post(geminiPath, body(`,"generationConfig":{"maxOutputTokens":1.5}`), hGemini...), 400,
			gemWant(400, `Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), 1.5`, "generation_config.max_output_tokens")},
		{"list for a message", Gemini, post(geminiPath, body(`,"generationConfig":[]`), hGemini...), 400,
			gemWant(400, `Invalid JSON payload received. Unknown name "generationConfig": Proto field is not repeating, cannot start list.`, "")},
		{"systemInstruction as string", Gemini, post(geminiPath, body(`,"systemInstruction":"be nice"`), hGemini...), 400,
			gemWant(400, `Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content), "be nice"`, "system_instruction")},
		{"data URL in inlineData", Gemini, post(geminiPath, `{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/png","data":"data:image/png;base64,AAAA"}}]}]}`, hGemini...), 400,
			gemWant(400, `Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), Base64 decoding failed for "data:image/png;base64,AAAA"`, "contents[0].parts[0].inline_data.data")},
		{"bad enum", Gemini, post(geminiPath, body(`,"toolConfig":{"functionCallingConfig":{"mode":"SOMETIMES"}}`), hGemini...), 400,
			gemWant(400, `Invalid value at 'tool_config.function_calling_config.mode' (enum), "SOMETIMES"`, "tool_config.function_calling_config.mode")},
		{"function response first", Gemini, post(geminiPath, `{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`, hGemini...), 400,
			gemPlain(400, "Please ensure that function response turn comes immediately after a function call turn.")},
		{"missing function responses", Gemini, post(geminiPath, `{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}},{"functionCall":{"name":"g","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`, hGemini...), 400,
			gemPlain(400, "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.")},
		{"function name", Gemini, post(geminiPath, body(`,"tools":[{"functionDeclarations":[{"name":"1st-tool"}]}]`), hGemini...), 400,
			gemPlain(400, "* GenerateContentRequest.tools[0].function_declarations[0].name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.\n")},
		{"unknown method", Gemini, post("/v1beta/models/gemini-2.5-flash:chat", body(""), hGemini...), 404,
			gemPlain(404, "Method not found: POST /v1beta/models/gemini-2.5-flash:chat")},
		{"invalid JSON", Gemini, post(geminiPath, `{"contents":`, hGemini...), 400,
			gemWant(400, "Invalid JSON payload received. Unexpected token.", "")},
	})
	runRejectsWith(t, Options{Models: []string{"gemini-2.5-pro"}}, []rejectCase{
		{"model not served", Gemini, post(geminiPath, body(""), hGemini...), 404,
			gemPlain(404, "models/gemini-2.5-flash is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.")},
	})
}

func TestRejectOllama(t *testing.T) {
	p := "/api/chat"
	body := func(extra string) string { return `{"model":"llama3.2","messages":` + okUser + extra + `}` }
	olWant := func(msg string) string { return string(marshal(map[string]string{"error": msg})) }
	runRejects(t, []rejectCase{
		{"unknown field", Ollama, post(p, body(`,"max_tokens":5`), hOllama...), 400, olWant(`json: unknown field "max_tokens"`)},
		{"temperature at top level", Ollama, post(p, body(`,"temperature":0.1`), hOllama...), 400, olWant(`json: unknown field "temperature"`)},
		{"arguments as string", Ollama, post(p, `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}]}`, hOllama...), 400,
			olWant("json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments")},
		{"content as parts", Ollama, post(p, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, hOllama...), 400,
			olWant("json: cannot unmarshal array into Go struct field ChatRequest.messages.content of type string")},
		{"missing model", Ollama, post(p, `{"messages":`+okUser+`}`, hOllama...), 400, olWant("model is required")},
		{"unknown option", Ollama, post(p, body(`,"options":{"max_tokens":5}`), hOllama...), 400,
			olWant(`mock: invalid option provided: "max_tokens" (Ollama would ignore it)`)},
		{"option type", Ollama, post(p, body(`,"options":{"temperature":"hot"}`), hOllama...), 400,
			olWant(`option "temperature" must be of type float32`)},
		{"image data URL", Ollama, post(p, `{"model":"m","messages":[{"role":"user","content":"hi","images":["data:image/png;base64,AAAA"]}]}`, hOllama...), 400,
			olWant("illegal base64 data at input byte 4")},
		{"invalid JSON", Ollama, post(p, `{"model":`, hOllama...), 400, olWant("unexpected end of JSON input")},
		{"empty body", Ollama, post(p, ``, hOllama...), 400, olWant("missing request body")},
		{"unknown path", Ollama, post("/api/generate2", body(""), hOllama...), 404, "404 page not found"},
	})
	runRejectsWith(t, Options{OllamaAuth: true, Models: []string{"qwen3:8b"}}, []rejectCase{
		{"missing bearer", Ollama, post(p, body(""), hOllama...), 401, olWant("unauthorized")},
		{"model not pulled", Ollama, post(p, body(""), "Authorization: Bearer test-key"), 404,
			olWant(`model "llama3.2" not found, try pulling it first`)},
	})
}

// TestRejectedRequestsAreRecorded: a rejected request still shows in Requests(), so a test can
// assert what reached the provider.
func TestRejectedRequestsAreRecorded(t *testing.T) {
	s := New(OpenAI, testOptions())
	w := httptest.NewRecorder()
	s.ServeHTTP(w, post("/v1/chat/completions", `{"model":"m","messages":[],"x":1}`, hOpenAI...))
	reqs := s.Requests()
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"x":1`) || reqs[0].Header.Get("Authorization") != "Bearer test-key" {
		t.Fatalf("recorded %+v", reqs)
	}
}
