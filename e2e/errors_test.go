package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// Errors reach each client in its own dialect, as the SDK's typed error with the right status:
// the filter's own refusals (unknown model, malformed JSON) and the providers' failures.

// rawResponse keeps the last response a client received, for checks the SDKs' typed errors
// cannot make (the exact error envelope, headers). One request at a time.
type rawResponse struct {
	header http.Header
	body   []byte // error bodies only: stream bodies are left alone
}

func (rr *rawResponse) middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	resp, err := next(req)
	if err != nil {
		return resp, err
	}
	rr.header = resp.Header.Clone()
	if resp.StatusCode >= 400 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		rr.body = b
	}
	return resp, nil
}

func (rr *rawResponse) openai() option.RequestOption {
	return option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		return rr.middleware(r, next)
	})
}

func (rr *rawResponse) anthropic() aoption.RequestOption {
	return aoption.WithMiddleware(func(r *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
		return rr.middleware(r, next)
	})
}

// checkOpenAIError asserts err is the OpenAI SDK's error with status and an OpenAI envelope
// {"error":{"message","type",…}} whose type is wantType (any type when empty).
func checkOpenAIError(t *testing.T, err error, rr *rawResponse, status int, wantType string) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *openai.Error %d", err, status)
	}
	if apiErr.StatusCode != status {
		t.Errorf("status %d, want %d (%s)", apiErr.StatusCode, status, rr.body)
	}
	body := gjson.ParseBytes(rr.body)
	if body.Get("error.message").Str == "" || body.Get("error.type").Type != gjson.String || body.Get("type").Exists() {
		t.Errorf("body %s is not an OpenAI error envelope", rr.body)
	}
	if wantType != "" && apiErr.Type != wantType {
		t.Errorf("error.type %q, want %q (%s)", apiErr.Type, wantType, rr.body)
	}
	return apiErr
}

// checkAnthropicError asserts err is the Anthropic SDK's error with status and an Anthropic
// envelope {"type":"error","error":{"type","message"}}.
func checkAnthropicError(t *testing.T, err error, rr *rawResponse, status int, wantType string) {
	t.Helper()
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *anthropic.Error %d", err, status)
	}
	if apiErr.StatusCode != status {
		t.Errorf("status %d, want %d (%s)", apiErr.StatusCode, status, rr.body)
	}
	body := gjson.ParseBytes(rr.body)
	if body.Get("type").Str != "error" || body.Get("error.message").Str == "" {
		t.Errorf("body %s is not an Anthropic error envelope", rr.body)
	}
	if wantType != "" && string(apiErr.Type()) != wantType {
		t.Errorf("error.type %q, want %q (%s)", apiErr.Type(), wantType, rr.body)
	}
}

// checkNothingReached asserts that no provider saw a request carrying marker.
func checkNothingReached(t *testing.T, g *gateway, marker string) {
	t.Helper()
	if kinds := g.reached(t, marker); len(kinds) > 0 {
		t.Errorf("the refused request reached %v", kinds)
	}
}

func TestUnknownModelIs404InTheClientsDialect(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	t.Run("openai", func(t *testing.T) {
		t.Parallel()
		var rr rawResponse
		marker := nonce(t)
		client := openaiClient(g, rr.openai())
		_, err := client.Chat.Completions.New(context.Background(), userText("no-such-model", "hello "+marker))
		apiErr := checkOpenAIError(t, err, &rr, 404, "invalid_request_error")
		if !strings.Contains(apiErr.Message, "no-such-model") {
			t.Errorf("message %q does not name the model", apiErr.Message)
		}
		if apiErr.Code != "model_not_found" {
			t.Errorf("code %q, want model_not_found as OpenAI sends (%s)", apiErr.Code, rr.body)
		}
		checkNothingReached(t, g, marker)
	})
	t.Run("anthropic", func(t *testing.T) {
		t.Parallel()
		var rr rawResponse
		marker := nonce(t)
		client := anthropicClient(g, rr.anthropic())
		_, err := client.Messages.New(context.Background(), anthropicParams("no-such-model", "hello "+marker))
		checkAnthropicError(t, err, &rr, 404, "not_found_error")
		if !strings.Contains(gjson.GetBytes(rr.body, "error.message").Str, "no-such-model") {
			t.Errorf("message %s does not name the model", rr.body)
		}
		checkNothingReached(t, g, marker)
	})
}

func TestBadRequestBodyIs400InTheClientsDialect(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	tests := []struct {
		name, dialect, body, wantInMessage string
	}{
		{"openai/malformed", "openai", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"MARKER"}`, ""},
		{"openai/wrong-type", "openai", `{"model":"gpt-4o-mini","messages":"MARKER"}`, "messages"},
		{"openai/no-messages", "openai", `{"model":"gpt-4o-mini","user":"MARKER"}`, "messages"},
		{"anthropic/malformed", "anthropic", `{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":"MARKER"`, ""},
		{"anthropic/wrong-type", "anthropic", `{"model":"claude-sonnet-4","max_tokens":"ten","messages":[{"role":"user","content":"MARKER"}]}`, "max_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rr rawResponse
			marker := nonce(t)
			body := []byte(strings.Replace(tt.body, "MARKER", marker, 1))
			var msg string
			if tt.dialect == "openai" {
				client := openaiClient(g, rr.openai())
				_, err := client.Chat.Completions.New(context.Background(),
					openai.ChatCompletionNewParams{}, option.WithRequestBody("application/json", body))
				msg = checkOpenAIError(t, err, &rr, 400, "invalid_request_error").Message
			} else {
				client := anthropicClient(g, rr.anthropic())
				_, err := client.Messages.New(context.Background(),
					anthropic.MessageNewParams{}, aoption.WithRequestBody("application/json", body))
				checkAnthropicError(t, err, &rr, 400, "invalid_request_error")
				msg = gjson.GetBytes(rr.body, "error.message").Str
			}
			if !strings.Contains(msg, tt.wantInMessage) {
				t.Errorf("message %q does not name %q", msg, tt.wantInMessage)
			}
			checkNothingReached(t, g, marker)
		})
	}
}

// TestProviderErrorsReachTheClientInItsDialect makes the mocks fail with the x-mock-fault
// header, which the filter forwards like any other header.
func TestProviderErrorsReachTheClientInItsDialect(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	tests := []struct {
		name, client, model, fault string
		status                     int
		wantType                   string
	}{
		// Same format both sides: the provider's error passes through.
		{"openai-to-openai-429", "openai", "gpt-4o-mini", "429-retry-7", 429, ""},
		{"anthropic-to-anthropic-529", "anthropic", "claude-sonnet-4", "529", 529, "overloaded_error"},
		// Translated errors keep the status and take the client's envelope and types.
		{"openai-to-anthropic-429", "openai", "claude-sonnet-4", "429", 429, "requests"},
		{"openai-to-gemini-500", "openai", "gemini-2.0-flash", "500", 500, "server_error"},
		{"openai-to-ollama-500", "openai", "llama3.2", "500", 500, "server_error"},
		{"anthropic-to-openai-500", "anthropic", "gpt-4o-mini", "500", 500, "api_error"},
		{"anthropic-to-openai-429", "anthropic", "gpt-4o-mini", "429", 429, "rate_limit_error"},
		// Overload is 503 for OpenAI and 529 for Anthropic.
		{"anthropic-to-openai-503", "anthropic", "gpt-4o-mini", "503", 529, "overloaded_error"},
		{"openai-to-anthropic-529", "openai", "claude-sonnet-4", "529", 503, "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rr rawResponse
			text := "hello " + nonce(t)
			if tt.client == "openai" {
				client := openaiClient(g, rr.openai(), option.WithHeader("x-mock-fault", tt.fault))
				_, err := client.Chat.Completions.New(context.Background(), userText(tt.model, text))
				checkOpenAIError(t, err, &rr, tt.status, tt.wantType)
			} else {
				client := anthropicClient(g, rr.anthropic(), aoption.WithHeader("x-mock-fault", tt.fault))
				_, err := client.Messages.New(context.Background(), anthropicParams(tt.model, text))
				checkAnthropicError(t, err, &rr, tt.status, tt.wantType)
			}
			if strings.Contains(tt.fault, "-retry-7") && rr.header.Get("Retry-After") != "7" {
				t.Errorf("Retry-After %q, want the provider's 7", rr.header.Get("Retry-After"))
			}
		})
	}
}

// TestProviderErrorOnAStream: a stream whose upstream answers 429 gives the streaming client
// the SDK's typed error, before any event.
func TestProviderErrorOnAStream(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	t.Run("openai-to-anthropic", func(t *testing.T) {
		t.Parallel()
		var rr rawResponse
		client := openaiClient(g, rr.openai(), option.WithHeader("x-mock-fault", "429"))
		stream := client.Chat.Completions.NewStreaming(context.Background(), userText("claude-sonnet-4", "hi "+nonce(t)))
		defer stream.Close()
		if stream.Next() {
			t.Fatalf("got a chunk %s, want an error", stream.Current().RawJSON())
		}
		checkOpenAIError(t, stream.Err(), &rr, 429, "requests")
	})
	t.Run("anthropic-to-openai", func(t *testing.T) {
		t.Parallel()
		var rr rawResponse
		client := anthropicClient(g, rr.anthropic(), aoption.WithHeader("x-mock-fault", "500"))
		stream := client.Messages.NewStreaming(context.Background(), anthropicParams("gpt-4o-mini", "hi "+nonce(t)))
		defer stream.Close()
		if stream.Next() {
			t.Fatalf("got an event %s, want an error", stream.Current().RawJSON())
		}
		checkAnthropicError(t, stream.Err(), &rr, 500, "api_error")
	})
}

// TestProviderFaultQueuedAtTheMock queues the fault at the mock (Gateway.Mock() in process, the
// control endpoint under docker compose). It is not parallel: a queued fault hits whichever
// request reaches that provider next, and no other test runs while sequential tests do.
func TestProviderFaultQueuedAtTheMock(t *testing.T) {
	g := exampleGateway(t)
	var rr rawResponse
	g.mocks.FailNext(t, mockprovider.Gemini, 1, "503-retry-2")
	client := openaiClient(g, rr.openai())
	_, err := client.Chat.Completions.New(context.Background(), userText("gemini-2.0-flash", "hello "+nonce(t)))
	checkOpenAIError(t, err, &rr, 503, "server_error")
	// The next request goes through again.
	text := "again " + nonce(t)
	client = openaiClient(g)
	res, err := client.Chat.Completions.New(context.Background(), userText("gemini-2.0-flash", text))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != replyTo(text) {
		t.Errorf("after the fault: %q, want %q", got, replyTo(text))
	}
}

// TestOversizedBodyIs413: a body over the configured limit (4 MiB in the example) is refused
// from its Content-Length, in the client's dialect, and goes nowhere.
func TestOversizedBodyIs413(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	limit := gjson.GetBytes(exampleConfig(t), "limits.max_request_body_bytes").Int()
	if limit <= 0 || limit > 8<<20 {
		t.Fatalf("limits.max_request_body_bytes is %d in envoy/stepgate.json", limit)
	}
	marker := nonce(t)
	big := marker + strings.Repeat("x", int(limit))
	t.Run("openai", func(t *testing.T) {
		t.Parallel()
		var rr rawResponse
		client := openaiClient(g, rr.openai())
		_, err := client.Chat.Completions.New(context.Background(), userText("gpt-4o-mini", big))
		checkOpenAIError(t, err, &rr, 413, "")
	})
	t.Run("anthropic", func(t *testing.T) {
		t.Parallel()
		var rr rawResponse
		client := anthropicClient(g, rr.anthropic())
		_, err := client.Messages.New(context.Background(), anthropicParams("claude-sonnet-4", big))
		checkAnthropicError(t, err, &rr, 413, "request_too_large")
	})
	t.Cleanup(func() { checkNothingReached(t, g, marker) })
}

// TestUnknownPathIs404InTheClientsDialect: an endpoint the gateway does not serve answers in the
// shape of the client its path belongs to.
func TestUnknownPathIs404InTheClientsDialect(t *testing.T) {
	t.Parallel()
	g := exampleGateway(t)
	var rr rawResponse
	client := anthropicClient(g, rr.anthropic())
	_, err := client.Messages.Batches.New(context.Background(), anthropic.MessageBatchNewParams{
		Requests: []anthropic.MessageBatchNewParamsRequest{{CustomID: "a", Params: anthropic.MessageBatchNewParamsRequestParams{
			Model: "claude-sonnet-4", MaxTokens: 16, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}}},
	})
	checkAnthropicError(t, err, &rr, 404, "not_found_error")
}
