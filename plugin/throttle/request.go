package throttle

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"strings"

	"github.com/tidwall/gjson"
)

// Request holds the facts about one request that rules select on, build keys from and charge for.
// The glue fills what it knows; an empty field matches only a rule that does not ask for it and
// contributes an empty component to a key.
type Request struct {
	Path     string // :path; a query string is ignored
	Method   string
	Model    string
	Provider string
	Tenant   string
	KeyID    string // the id of the caller's API key, never the key itself
	Tier     string // the caller's tier
	MCPTool  string
	// MCPMethod is the JSON-RPC method of an MCP message (tools/call, tools/list …).
	MCPMethod string
	// Headers are the request's headers; a header selector uses the first value of its name.
	Headers HeaderPairs
	// PromptChars, MaxTokens and Choices feed the token estimate of LLMTokens rules:
	// ⌈PromptChars/4⌉ + MaxTokens × Choices (the rule's default_max_tokens when MaxTokens is 0;
	// one choice when Choices is 0). EstimateFromBody fills them from a request body.
	PromptChars int64
	MaxTokens   int64
	// Choices is how many completions the request asks for: OpenAI's n, Gemini's
	// generationConfig.candidateCount. Each may use the whole completion limit.
	Choices int64
	// InputPrice and OutputPrice are the model's prices, in micro-units of the currency per
	// million tokens, for the rules of unit cost: the estimate's prompt tokens at InputPrice,
	// its completion tokens at OutputPrice. Zero prices cost the minimum, one micro-unit.
	InputPrice, OutputPrice int64
	// PriceOf, when set, gives the prices of another model (same units, ok false when it has
	// none), so that a degrade step to a cheaper model is costed at that model's prices.
	PriceOf func(model string) (input, output int64, ok bool)
	// ExpectedTokens, when positive, replaces the rule's default_max_tokens for a request that
	// names no MaxTokens: the completion its model's answers were seen to use (plugin/estimate).
	ExpectedTokens int64
	// NoCompletion: the request produces no completion tokens (embeddings), so none are
	// reserved whatever MaxTokens and the rule's default say.
	NoCompletion bool
}

// maxChoices caps Choices (OpenAI allows n up to 128), keeping the estimate's products exact.
const maxChoices = 128

// EstimateFromBody sets PromptChars to the body's length and MaxTokens to the completion limit
// the body asks for: max_completion_tokens, max_tokens (OpenAI, Anthropic, Mistral) or
// generationConfig.maxOutputTokens (Gemini). Counting every byte of the JSON overestimates the
// prompt a little, which is the safe side: Settle refunds the difference.
func (q *Request) EstimateFromBody(body []byte) {
	q.PromptChars = int64(len(body))
	q.MaxTokens, q.Choices = 0, 0
	res := gjson.GetManyBytes(body, "max_completion_tokens", "max_tokens", "generationConfig.maxOutputTokens",
		"n", "generationConfig.candidateCount")
	for _, v := range res[:3] {
		if v.Type == gjson.Number && v.Int() > 0 {
			q.MaxTokens = v.Int()
			break
		}
	}
	for _, v := range res[3:] {
		if v.Type == gjson.Number && v.Int() > 0 {
			q.Choices = v.Int()
			break
		}
	}
}

// HeaderPairs are request headers as proxy-wasm hands them over: name/value pairs in arrival
// order, names in lower case.
type HeaderPairs [][2]string

// Get returns the first value of the header named name (lower case), "" when absent.
func (hs HeaderPairs) Get(name string) string {
	for _, kv := range hs {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

func (q *Request) path() string {
	if i := strings.IndexByte(q.Path, '?'); i >= 0 {
		return q.Path[:i]
	}
	return q.Path
}

// matches reports whether r selects q.
func (r *rule) matches(q *Request) bool {
	m := &r.cfg.Match
	if len(m.PathPrefixes) > 0 && r.route(q) == "" {
		return false
	}
	if !anyMatch(m.Methods, q.Method) || !anyMatch(m.Models, q.Model) || !anyMatch(m.Providers, q.Provider) ||
		!anyMatch(m.Tenants, q.Tenant) || !anyMatch(m.APIKeys, q.KeyID) || !anyMatch(m.MCPTools, q.MCPTool) ||
		!anyMatch(m.MCPMethods, q.MCPMethod) || !anyMatch(m.Tiers, q.Tier) {
		return false
	}
	for i := range m.Headers {
		h := &m.Headers[i]
		v := q.Headers.Get(h.Name)
		if v == "" || !anyMatch(h.Values, v) { // "*" matches any value of a present header

			return false
		}
	}
	return true
}

// route is the first of r's path prefixes q's path starts with ("" for none), or the path when r
// names no prefix.
func (r *rule) route(q *Request) string {
	p := q.path()
	if len(r.cfg.Match.PathPrefixes) == 0 {
		return p
	}
	for _, pre := range r.cfg.Match.PathPrefixes {
		if strings.HasPrefix(p, pre) {
			return pre
		}
	}
	return ""
}

// anyMatch: an empty list matches everything; "x*" matches by prefix.
func anyMatch(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, pat := range list {
		if pre, ok := strings.CutSuffix(pat, "*"); ok {
			if strings.HasPrefix(v, pre) {
				return true
			}
		} else if v == pat {
			return true
		}
	}
	return false
}

// appendKey appends q's key under r to dst: each selector's value, length-prefixed so that no two
// different requests can produce the same bytes ("a:b"+"c" vs "a"+"b:c"). A key longer than
// MaxKeyBytes is replaced by 0xFF and its SHA-256 (an honest key of that size cannot start with
// 0xFF: its first length would need a continuation byte and the key would be far longer).
func (r *rule) appendKey(dst []byte, q *Request) []byte {
	start := len(dst)
	for _, s := range r.cfg.Key {
		v := r.selectorValue(s, q)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	if len(dst)-start > MaxKeyBytes {
		sum := sha256.Sum256(dst[start:])
		dst = append(dst[:start], 0xFF)
		dst = append(dst, sum[:]...)
	}
	return dst
}

func (r *rule) selectorValue(s Selector, q *Request) string {
	switch s.Kind {
	case SelRoute:
		return r.route(q)
	case SelPath:
		return q.path()
	case SelMethod:
		return q.Method
	case SelModel:
		return q.Model
	case SelProvider:
		return q.Provider
	case SelTenant:
		return q.Tenant
	case SelAPIKey:
		return q.KeyID
	case SelMCPTool:
		return q.MCPTool
	case SelMCPMethod:
		return q.MCPMethod
	case SelHeader:
		return q.Headers.Get(s.Header)
	}
	return ""
}

// displayKey renders an encoded key for logs: the components joined with ':'.
func displayKey(key []byte) string {
	if len(key) > 0 && key[0] == 0xFF {
		return "sha256:" + hexString(key[1:])
	}
	var sb strings.Builder
	for i := 0; len(key) > 0; i++ {
		n, w := binary.Uvarint(key)
		if w <= 0 || uint64(len(key)-w) < n {
			break
		}
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.Write(key[w : w+int(n)])
		key = key[w+int(n):]
	}
	return sb.String()
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// TokenEstimate is what an LLMTokens rule reserves for q (before capping at the rule's burst):
// ⌈PromptChars/4⌉ prompt tokens, about four characters a token for English text and JSON, plus
// MaxTokens completion tokens, or defaultMaxTokens when the request names no limit, for each of
// the Choices it asks for.
func (q *Request) TokenEstimate(defaultMaxTokens int64) int64 {
	prompt, comp, choices := q.tokenParts(defaultMaxTokens)
	return prompt + comp*choices
}

func (q *Request) tokenParts(defaultMaxTokens int64) (prompt, comp, choices int64) {
	prompt = ceilDiv(min(max(q.PromptChars, 0), math.MaxInt64/2), 4)
	comp = q.MaxTokens
	if comp <= 0 && q.ExpectedTokens > 0 {
		comp = q.ExpectedTokens
	}
	if comp <= 0 {
		comp = defaultMaxTokens
	}
	if q.NoCompletion {
		comp = 0
	}
	return prompt, min(max(comp, 0), maxTokensLimit), min(max(q.Choices, 1), maxChoices)
}

// demandOf is what q costs under r.
func (r *rule) demandOf(q *Request) demand {
	if !r.cfg.Unit.counted() {
		return demand{cost: 1}
	}
	prompt, comp, choices := q.tokenParts(r.cfg.DefaultMaxTokens)
	if r.cfg.Unit == Cost {
		d := demand{prompt: prompt, comp: comp, choices: choices, inPrice: max(q.InputPrice, 0),
			outPrice: max(q.OutputPrice, 0), priceOf: q.PriceOf}
		d.cost = min(max(d.micros(comp), 1), r.cfg.Burst)
		return d
	}
	// A request larger than the whole bucket could never pass: it reserves the burst and Settle
	// charges the rest.
	return demand{cost: min(max(prompt+comp*choices, 1), r.cfg.Burst), prompt: prompt, comp: comp, choices: choices}
}
