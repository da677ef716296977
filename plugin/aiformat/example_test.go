package aiformat_test

import (
	"fmt"

	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/tidwall/gjson"
)

// Example shows the whole life of a request as the filter's glue drives it: an OpenAI client
// streams from an Anthropic model.
func Example() {
	// At plugin start (on_configure): parse the "providers" and "models" sections.
	cfg, err := aiformat.ParseConfig(gjson.Parse(`{
	  "providers": {"claude": {"type": "anthropic", "cluster": "anthropic", "api_keys": ["sk-ant-1", "sk-ant-2"]}},
	  "models": {"routes": {"gpt-4o": "claude/claude-sonnet-4-5"}}
	}`), "")
	if err != nil {
		panic(err) // the glue logs it and refuses the configuration
	}
	router := aiformat.NewRouter(cfg, shareddata.NewMemory()) // the glue passes its shared-data adapter

	// on_request_headers: is it ours? (then buffer the body)
	dialect, endpoint := aiformat.Match("POST", "/v1/chat/completions")
	fmt.Println(dialect, endpoint == aiformat.EndpointChat)

	// on_request_body at end of stream: parse, (throttle), route, rewrite.
	body := []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
	req, perr := cfg.ParseRequest("POST", "/v1/chat/completions", "", body)
	if perr != nil {
		return // send_local_response(perr.Status, perr.Body, content-type application/json)
	}
	fmt.Println(req.Model, req.Stream, req.PromptTokens)
	now := int64(1_700_000_000e9)
	up, rerr := router.Route(req, now, 7)
	if rerr != nil {
		return // send_local_response(rerr.Status, rerr.Body)
	}
	for _, h := range up.SetHeaders { // replace_http_request_header(h[0], h[1])
		if h[0] != "x-api-key" {
			fmt.Println(h[0], h[1])
		}
	}
	fmt.Println(len(up.RemoveHeaders) > 0, string(up.Body)) // remove each; replace the body

	// on_response_headers: report to the breaker, decide the body handling.
	router.Report(up, 200, now)
	rt := aiformat.NewResponseTranslator(req, up, now)
	head := rt.Headers(200, "text/event-stream")
	fmt.Println(head.Status, head.ContentType, head.Buffer) // set them; remove content-length

	// on_response_body, chunk by chunk: translate and replace each chunk.
	chunks := []string{
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel",
		"lo\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	}
	for i, c := range chunks {
		fmt.Print(string(rt.Write([]byte(c), i == len(chunks)-1)))
	}
	u := rt.Usage() // settle the token buckets
	fmt.Println(u.Prompt, u.Completion)

	// Output:
	// openai true
	// gpt-4o true 8
	// :path /v1/messages
	// :authority api.anthropic.com
	// x-stepgate-cluster anthropic
	// content-type application/json
	// anthropic-version 2023-06-01
	// true {"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":"Hi"}],"stream":true}
	// 200 text/event-stream false
	// data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"claude-sonnet-4-5","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}
	//
	// data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"claude-sonnet-4-5","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}
	//
	// data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"claude-sonnet-4-5","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}
	//
	// data: [DONE]
	//
	// 9 2
}
