package mockprovider

import (
	"net/http"
	"slices"

	"github.com/tidwall/gjson"
)

// Anthropic's token counting (POST /v1/messages/count_tokens): a Messages request without the
// generation parameters, validated like one and answered {"input_tokens": N} with the mock's
// prompt count.

// antCountTopLevel are the members count_tokens takes (its API reference): no max_tokens, no
// stream, no sampling parameters.
var antCountTopLevel = []string{"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers",
	"context_management"}

// tokenCounter is implemented by dialects that count a request's tokens.
type tokenCounter interface {
	countTokens(r *http.Request, body []byte, s *Server) ([]byte, *apiError)
}

func (d anthropicDialect) countTokens(r *http.Request, body []byte, s *Server) ([]byte, *apiError) {
	if !isJSON(r) || !gjson.ValidBytes(body) {
		return nil, antInvalid("There was an error parsing the body of your request: the body is not valid JSON.")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, antInvalid("Input should be a valid dictionary")
	}
	for _, k := range []string{"messages", "model"} {
		if !field(root, k).Exists() {
			return nil, antInvalid("%s: Field required", k)
		}
	}
	if err := antOnlyKeys("", root, antCountTopLevel...); err != nil {
		return nil, err
	}
	v := &antValidator{c: &call{n: 1}}
	for _, m := range members(root) {
		if err := v.param(m.key, m.val); err != nil {
			return nil, err
		}
	}
	if name := v.c.conv.choice.names; len(name) == 1 && !slices.Contains(v.c.conv.tools, name[0]) {
		return nil, antInvalid("tool_choice.tool.name: Tool '%s' not found in provided tools", name[0])
	}
	if aerr := s.checkModel(v.c, route{}); aerr != nil {
		return nil, aerr
	}
	return marshal(map[string]int{"input_tokens": v.c.conv.promptTokens()}), nil
}
