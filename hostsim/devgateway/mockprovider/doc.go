// Package mockprovider emulates the chat APIs of OpenAI, Azure OpenAI, Anthropic, Google Gemini,
// Ollama and AWS Bedrock (Converse) closely enough to be an independent check of what the stepgate filter sends upstream.
//
// It is written from each provider's published API reference, not from the filter's code, and it
// must never import anything under plugin/: a translation bug in the filter should meet a mock that
// disagrees with it, exactly as the real provider would.
//
// # What a Server checks
//
// Every request is checked strictly: path and method, the provider's auth header against a
// configured set of keys (a wrong or missing key gets that provider's real error body and status),
// required headers (anthropic-version, api-version), and the JSON body field by field — unknown or
// misplaced fields, wrong types, out-of-range values, tool-call/tool-result pairing. Rejections use
// the provider's own error shape and status:
//
//	OpenAI, Azure  {"error":{"message","type","param","code"}}   400 "Unrecognized request argument supplied: x"
//	Azure (edge)   {"error":{"code","message"}}                  401, 404 "Resource not found"
//	Anthropic      {"type":"error","error":{"type","message"},"request_id"}  "x: Extra inputs are not permitted"
//	Gemini         {"error":{"code","message","status","details"}}  INVALID_ARGUMENT "Unknown name …"
//	Ollama         {"error":"…"}
//	Bedrock        {"message":"…"} + x-amzn-ErrorType  403 InvalidSignatureException, 400 ValidationException
//
// Bedrock requests are authenticated as AWS does, with a SigV4 signature (service "bedrock") that
// the mock recomputes from the request as received: escaped path encoded once more, sorted
// query, the signed headers, the body's SHA-256, the secret of the access key named (Options.Keys
// with DefaultAWSSecret, or Options.AWSSecrets); x-amz-date must be within 15 minutes of
// Options.Clock. A missing, mismatched or expired signature, or an unknown key, is Bedrock's 403.
//
// Where the real API is lax (Ollama ignores unknown fields and options), the mock is stricter on
// purpose and says so in its error message: a field the filter puts in the wrong place would
// otherwise be silently dropped.
//
// # What a Server answers
//
// Replies are deterministic so that tests can assert exact text:
//
//   - The reply text is "mock reply to: " + the text of the last user turn (text parts joined with
//     "\n"), followed by " [images: N]" when that turn carried N images. When the last turn carries
//     tool results instead, it is "mock reply to tool result: " + the results joined with "\n"
//     (Gemini's functionResponse.response renders as its only string value when it has exactly one
//     string field, else as compact JSON with sorted keys).
//   - Tool calls: when the request offers tools (and tool choice is not "none") and the first line of
//     the last user turn is "call tool NAME" or "call tool NAME {json object}", the reply calls NAME
//     with those arguments ({} when absent); every following line of the same form adds a parallel
//     call. A named tool that is not offered gets a plain text reply. A forced tool choice (OpenAI
//     "required" or a named function, Anthropic "any"/"tool", Gemini mode ANY) without the trigger
//     calls the named (or first allowed) tool with {}.
//   - Stop sequences cut the text before their first occurrence (finish: stop / stop_sequence).
//     A max-tokens limit (max_tokens, max_completion_tokens, maxOutputTokens, options.num_predict)
//     below the reply's token count truncates the text to 4×limit bytes (on a rune boundary) and
//     finishes with length / max_tokens / MAX_TOKENS.
//   - Tokens: tokens(s) = ceil(len(s in UTF-8 bytes) / 4). Prompt tokens are the sum of tokens() over
//     every text of the request — system prompts, message text parts, tool-call arguments as sent,
//     tool-result texts — plus 85 per image; tool definitions are not counted, so the same
//     conversation counts the same after translation to any provider. Completion tokens are
//     tokens(reply text) plus tokens(name)+tokens(arguments) per tool call, times n for OpenAI's n.
//   - Ids come from a per-server counter: chatcmpl-mock000001, msg_mock000001, call_mock000001_0,
//     toolu_mock000001_0; timestamps from Options.Clock.
//
// Streams use each provider's native framing and are flushed chunk by chunk (one chunk per word of
// the reply, tool arguments in two pieces): OpenAI/Azure SSE with data: [DONE] and the usage chunk
// when stream_options.include_usage is set (Azure first sends its prompt_filter_results chunk),
// Anthropic SSE events message_start … message_stop with a ping, Gemini SSE (CRLF framed) of
// GenerateContentResponse or a JSON array without alt=sse, Ollama NDJSON ending with done:true,
// Bedrock ConverseStream as AWS event-stream messages (messageStart, contentBlockStart/Delta/Stop,
// messageStop, metadata with the usage).
//
// # Faults
//
// A Server can be told to fail: [Server.FailNext] queues faults for the next requests, POST
// /__mock/faults does the same over HTTP, and a request can ask for one itself — a model (or Azure
// deployment) name containing "mock-fail-SPEC", an x-mock-fault: SPEC header, or a last user text
// starting with "mock fault SPEC" — which works through any gateway. See [ParseFault] for SPEC.
//
// Every request that reaches a Server (control endpoints aside) is recorded: [Server.Requests] or
// GET /__mock/requests.
package mockprovider
