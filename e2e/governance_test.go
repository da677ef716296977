package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/sjson"

	"github.com/stepgate/stepgate/plugin/governance"
)

// restrictedKey belongs to a consumer added to the example configuration whose tenant may call
// gpt-4o-mini only.
const restrictedKey = "sk-e2e-restricted-0123456789abcdef"

func governedGateway(t *testing.T) *gateway {
	t.Helper()
	cfg := exampleConfig(t)
	var err error
	for path, value := range map[string]string{
		"tenants.restricted":   `{"allowed_models": ["gpt-4o-mini"], "allowed_prompts": ["summarize-v1"]}`,
		"consumers.restricted": `{"tenant": "restricted", "keys": [` + governance.HashLine("restricted-1", restrictedKey) + `]}`,
	} {
		if cfg, err = sjson.SetRawBytes(cfg, path, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	return startGateway(t, cfg)
}

// errText is an error with the message of the gateway's answer (openai.Error leaves it out).
func errText(err error) string {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.Message
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func statusOf(err error) int {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.StatusCode
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

func TestKeysWithTheOpenAIClient(t *testing.T) {
	t.Parallel()
	g := governedGateway(t)
	ctx := context.Background()
	text := "governed " + nonce(t)
	demo := openaiClient(g)
	res, err := demo.Chat.Completions.New(ctx, userText("gpt-4o-mini", text))
	if err != nil || res.Choices[0].Message.Content != replyTo(text) {
		t.Fatalf("demo key: %v %+v", err, res)
	}
	unknown := openaiClient(g, option.WithAPIKey("sk-not-a-configured-key"))
	_, err = unknown.Chat.Completions.New(ctx, userText("gpt-4o-mini", "x"))
	if statusOf(err) != 401 || !strings.Contains(errText(err), "invalid API key") {
		t.Errorf("unknown key: %v", err)
	}
	restricted := openaiClient(g, option.WithAPIKey(restrictedKey))
	_, err = restricted.Chat.Completions.New(ctx, userText("claude-sonnet-4", "x"))
	if statusOf(err) != 403 || !strings.Contains(errText(err), "model claude-sonnet-4 is not allowed for tenant restricted") {
		t.Errorf("denied model: %v", err)
	}
	page, err := restricted.Models.List(ctx)
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "gpt-4o-mini" {
		t.Errorf("restricted models: %v %+v", err, page)
	}
}

func TestKeysWithTheAnthropicClient(t *testing.T) {
	t.Parallel()
	g := governedGateway(t)
	ctx := context.Background()
	text := "governed " + nonce(t)
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))}}
	demo := anthropicClient(g)
	msg, err := demo.Messages.New(ctx, params)
	if err != nil || len(msg.Content) == 0 || msg.Content[0].Text != replyTo(text) {
		t.Fatalf("demo key: %v %+v", err, msg)
	}
	restricted := anthropicClient(g, aoption.WithAPIKey(restrictedKey))
	_, err = restricted.Messages.New(ctx, params)
	if statusOf(err) != 403 || !strings.Contains(err.Error(), "model claude-sonnet-4 is not allowed") {
		t.Errorf("denied model: %v", err)
	}
	unknown := anthropicClient(g, aoption.WithAPIKey("sk-ant-not-configured"))
	_, err = unknown.Messages.New(ctx, params)
	if statusOf(err) != 401 || !strings.Contains(err.Error(), "authentication_error") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestPromptEndpointWithTheOpenAIClient(t *testing.T) {
	t.Parallel()
	g := governedGateway(t)
	ctx := context.Background()
	text := "a long text " + nonce(t)
	var compact struct {
		Result string
		Usage  struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	demo, restricted := openaiClient(g), openaiClient(g, option.WithAPIKey(restrictedKey))
	err := demo.Post(ctx, "prompts/summarize", map[string]any{"text": text, "language": "fr"}, &compact)
	if err != nil || compact.Result != replyTo(text) || compact.Usage.TotalTokens == 0 {
		t.Fatalf("summarize: %v %+v", err, compact)
	}
	// The deprecated version still answers, saying so.
	var resp *http.Response
	var full openai.ChatCompletion
	err = restricted.Post(ctx, "prompts/summarize-v1", map[string]any{"text": text},
		&full, option.WithResponseInto(&resp))
	if err != nil || !strings.Contains(full.Choices[0].Message.Content, text) {
		t.Fatalf("summarize-v1: %v %+v", err, full)
	}
	if resp.Header.Get("Deprecation") == "" || !strings.Contains(resp.Header.Get("Link"), `rel="successor-version"`) {
		t.Errorf("summarize-v1 headers %v", resp.Header)
	}
	err = restricted.Post(ctx, "prompts/summarize", map[string]any{"text": text}, &compact)
	if statusOf(err) != 403 {
		t.Errorf("restricted summarize: %v", err)
	}
	err = demo.Post(ctx, "prompts/summarize", map[string]any{"text": text, "language": "tlh"}, &compact)
	if statusOf(err) != 400 || !strings.Contains(errText(err), `variable "language": must be one of`) {
		t.Errorf("bad variable: %v", err)
	}
}
