package aiformat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stepgate/stepgate/plugin/aiformat/anthropic"
	"github.com/stepgate/stepgate/plugin/aiformat/bedrock"
	"github.com/stepgate/stepgate/plugin/aiformat/gemini"
	"github.com/stepgate/stepgate/plugin/aiformat/ollama"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
	"github.com/tidwall/gjson"
)

// ProviderType is the API a provider speaks.
type ProviderType uint8

// Provider types, as spelled in the configuration's "type".
const (
	ProviderOpenAI           ProviderType = iota + 1 // api.openai.com
	ProviderOpenAICompatible                         // Mistral, DeepSeek, Groq, vLLM...: OpenAI's API with a field policy
	ProviderAzure                                    // Azure OpenAI: deployment path, api-version, api-key header
	ProviderAnthropic                                // Anthropic Messages
	ProviderGemini                                   // Google Gemini API
	ProviderOllama                                   // Ollama /api/chat
	ProviderBedrock                                  // AWS Bedrock Converse, SigV4-signed
	providerTypeEnd
)

// providerKind is what one provider type adds to its wire format's codec: where requests go
// and how they are authenticated. Several types share a format (OpenAI, OpenAI-compatible
// servers and Azure all speak OpenAI's) and differ only here.
type providerKind struct {
	name        string
	wire        wireFormat
	host, base  string // defaults of "host" and "base_path" ("" host: required)
	authHeader  string // the header carrying the key
	authPrefix  string // before the key in that header ("Bearer ")
	keyOptional bool   // local and self-hosted servers often need no key
	modelInPath bool   // the model is a path segment, so its name must be PathSegmentSafe
	// modelSafe replaces PathSegmentSafe for a type whose path escapes the model (nil: that).
	modelSafe func(model string) bool
	// defaultHost is the default "host" computed from the provider's other fields (nil: host).
	defaultHost func(v gjson.Result) string
	// signs: requests carry a SigV4 signature (Provider.aws) instead of a key header.
	signs bool
	// keepsBeta: a client of the same format keeps anthropic-beta (beta features it opted into).
	keepsBeta bool
	// presetEndpoint: the "compat" preset supplies the default host and base path.
	presetEndpoint bool
	// path is the upstream path for model.
	path func(pr *Provider, model string, stream bool) string
	// embeddingsPath is the upstream path of the type's embeddings API for model (batch: for
	// several inputs); nil: the type serves none.
	embeddingsPath func(pr *Provider, model string, batch bool) string
	// countTokensPath is the upstream path of the type's count_tokens API for clients of
	// Anthropic's; nil: the filter answers with its estimate.
	countTokensPath func(pr *Provider) string
	// fields are the configuration fields only this type reads; parse reads them.
	fields []string
	parse  func(pr *Provider, v gjson.Result, path string) error
}

// providerKinds is the table of provider types, indexed by ProviderType. A provider of a new
// wire format adds its codec (codecs) and an entry here; nothing else switches on the type.
var providerKinds = [providerTypeEnd]providerKind{
	ProviderOpenAI: {
		name: "openai", wire: wireOpenAI, host: "api.openai.com", base: "/v1",
		authHeader: "authorization", authPrefix: "Bearer ",
		path: chatCompletionsPath, embeddingsPath: embeddingsPath, fields: policyFields, parse: parsePolicy,
	},
	ProviderOpenAICompatible: {
		name: "openai_compatible", wire: wireOpenAI, base: "/v1",
		authHeader: "authorization", authPrefix: "Bearer ", keyOptional: true, presetEndpoint: true,
		path: chatCompletionsPath, embeddingsPath: embeddingsPath, fields: policyFields, parse: parsePolicy,
	},
	ProviderAzure: {
		name: "azure", wire: wireOpenAI,
		authHeader: "api-key", modelInPath: true,
		path: func(pr *Provider, model string, _ bool) string {
			return pr.BasePath + "/openai/deployments/" + model + "/chat/completions?api-version=" + pr.APIVersion
		},
		embeddingsPath: func(pr *Provider, model string, _ bool) string {
			return pr.BasePath + "/openai/deployments/" + model + "/embeddings?api-version=" + pr.APIVersion
		},
		fields: append(slices.Clip(policyFields), "api_version"), parse: parseAzure,
	},
	ProviderAnthropic: {
		name: "anthropic", wire: wireAnthropic, host: "api.anthropic.com", base: "/v1",
		authHeader: "x-api-key", keepsBeta: true,
		path:            func(pr *Provider, _ string, _ bool) string { return pr.BasePath + "/messages" },
		countTokensPath: func(pr *Provider) string { return pr.BasePath + anthropic.CountTokensPath },
		fields:          []string{"anthropic_version", "default_max_tokens"}, parse: parseAnthropic,
	},
	ProviderGemini: {
		name: "gemini", wire: wireGemini, host: "generativelanguage.googleapis.com", base: "/v1beta",
		authHeader: "x-goog-api-key", modelInPath: true,
		path: func(pr *Provider, model string, stream bool) string { return gemini.Path(pr.BasePath, model, stream) },
		embeddingsPath: func(pr *Provider, model string, batch bool) string {
			return gemini.EmbedPath(pr.BasePath, model, batch)
		},
	},
	ProviderOllama: {
		name: "ollama", wire: wireOllama,
		authHeader: "authorization", authPrefix: "Bearer ", keyOptional: true,
		path:           func(pr *Provider, _ string, _ bool) string { return pr.BasePath + ollama.Path },
		embeddingsPath: func(pr *Provider, _ string, _ bool) string { return pr.BasePath + ollama.EmbedPath },
	},
	ProviderBedrock: {
		name: "bedrock", wire: wireBedrock, keyOptional: true, signs: true,
		modelInPath: true, modelSafe: bedrock.ModelIDSafe,
		defaultHost: func(v gjson.Result) string {
			if r := v.Get("region"); r.Type == gjson.String && r.Str != "" {
				return "bedrock-runtime." + r.Str + ".amazonaws.com"
			}
			return ""
		},
		path:   func(pr *Provider, model string, stream bool) string { return bedrock.Path(pr.BasePath, model, stream) },
		fields: bedrockFields, parse: parseBedrock,
	},
}

func (t ProviderType) String() string {
	if t > 0 && t < providerTypeEnd {
		return providerKinds[t].name
	}
	return "unknown"
}

func (t ProviderType) kind() *providerKind { return &providerKinds[t] }

// wire is the format a provider of type t answers in.
func (t ProviderType) wire() wireFormat { return providerKinds[t].wire }

// providerTypeNamed is the type spelled name in the configuration (0 if none is).
func providerTypeNamed(name string) ProviderType {
	for t := ProviderType(1); t < providerTypeEnd; t++ {
		if providerKinds[t].name == name {
			return t
		}
	}
	return 0
}

// providerTypeNames lists the type names for an error message: "a, b or c".
func providerTypeNames() string {
	var names []string
	for t := ProviderType(1); t < providerTypeEnd; t++ {
		names = append(names, providerKinds[t].name)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// typeFields is every type-specific field, in table order: a field no type reads is unknown,
// a field another type reads is "not used by" this one.
func typeFields() []string {
	var all []string
	for t := ProviderType(1); t < providerTypeEnd; t++ {
		for _, f := range providerKinds[t].fields {
			if !slices.Contains(all, f) {
				all = append(all, f)
			}
		}
	}
	return all
}

// endpointDefaults are the host and base path of a provider configured as v that names
// neither: its type's, or those of its "compat" preset (an unknown preset is reported by
// parsePolicy).
func (t ProviderType) endpointDefaults(v gjson.Result) (host, base string) {
	k := t.kind()
	if k.defaultHost != nil {
		return k.defaultHost(v), k.base
	}
	if k.presetEndpoint {
		if p, ok := openai.Presets[v.Get("compat").String()]; ok {
			return p.Host, p.BasePath
		}
	}
	return k.host, k.base
}

func chatCompletionsPath(pr *Provider, _ string, _ bool) string {
	return pr.BasePath + "/chat/completions"
}

func embeddingsPath(pr *Provider, _ string, _ bool) string { return pr.BasePath + "/embeddings" }

// policyFields adjust requests for one OpenAI-compatible server (parsePolicy).
var policyFields = []string{"compat", "drop_fields", "rename_fields", "max_tokens_field", "stream_usage"}

func parseAzure(pr *Provider, v gjson.Result, path string) error {
	var err error
	if pr.APIVersion, err = str(v, path, "api_version", "2024-10-21"); err != nil {
		return err
	}
	return parsePolicy(pr, v, path)
}

func parseAnthropic(pr *Provider, v gjson.Result, path string) error {
	var err error
	if pr.AnthropicVersion, err = str(v, path, "anthropic_version", anthropic.Version); err != nil {
		return err
	}
	if pr.DefaultMaxTokens, err = posInt(v, path, "default_max_tokens", anthropic.DefaultMaxTokens); err != nil {
		return err
	}
	if pr.DefaultMaxTokens == 0 {
		return fmt.Errorf("%s.default_max_tokens: must be at least 1", path)
	}
	pr.fixedHeaders = [][2]string{{"anthropic-version", pr.AnthropicVersion}}
	return nil
}
