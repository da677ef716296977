package openai

import (
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

// Policy is how one OpenAI-compatible server departs from OpenAI's request schema. Servers
// such as Mistral reject fields they do not know (422), name some differently (random_seed)
// or only accept one of the two max-token fields.
type Policy struct {
	Drop           []string    // top-level fields removed before sending
	Rename         [][2]string // top-level fields renamed {from, to}
	MaxTokensField string      // "max_tokens" or "max_completion_tokens": the other is renamed to it; "" keeps both
	NoStreamUsage  bool        // do not add stream_options (the server rejects it or reports usage anyway)
}

// Preset is what is known of one OpenAI-compatible service: where its API lives and its
// field policy. Host and BasePath are the defaults of a provider's "host" and "base_path"
// ("" host: the provider must name one, as for a self-hosted server).
type Preset struct {
	Host, BasePath string
	Policy
}

// Presets are the built-in presets of known OpenAI-compatible servers, selected by a
// provider's "compat" setting and extended by its own drop/rename lists. Every one of them
// takes its key as "authorization: Bearer".
var Presets = map[string]Preset{
	"": {BasePath: "/v1"},
	// Mistral rejects unknown fields (422), calls the seed random_seed, and always sends usage
	// in the last stream chunk.
	"mistral": {Host: "api.mistral.ai", BasePath: "/v1", Policy: Policy{
		Drop:           []string{"user", "logit_bias", "logprobs", "top_logprobs", "store", "metadata", "service_tier", "stream_options", "modalities", "audio", "reasoning_effort"},
		Rename:         [][2]string{{"seed", "random_seed"}},
		MaxTokensField: "max_tokens",
		NoStreamUsage:  true,
	}},
	// Groq serves its OpenAI-compatible API under /openai/v1 and documents logprobs,
	// logit_bias and top_logprobs as unsupported (400).
	"groq": {Host: "api.groq.com", BasePath: "/openai/v1", Policy: Policy{
		Drop:           []string{"logit_bias", "logprobs", "top_logprobs", "store", "metadata", "service_tier"},
		MaxTokensField: "max_completion_tokens",
	}},
	// DeepSeek answers at the root and under /v1 alike; it has no seed and no n.
	"deepseek": {Host: "api.deepseek.com", BasePath: "/v1", Policy: Policy{
		Drop:           []string{"store", "metadata", "service_tier", "seed", "n"},
		MaxTokensField: "max_tokens",
	}},
	// Together documents max_tokens and an integer logprobs (a count of top tokens, not
	// OpenAI's boolean), and none of OpenAI's platform fields.
	"together": {Host: "api.together.xyz", BasePath: "/v1", Policy: Policy{
		Drop:           []string{"logprobs", "top_logprobs", "store", "metadata", "service_tier"},
		MaxTokensField: "max_tokens",
	}},
	// OpenRouter lives under /api/v1 and names models "vendor/model" (a route's backend
	// "openrouter/openai/gpt-4o" splits at the first '/'); it documents max_tokens and
	// none of OpenAI's platform fields.
	"openrouter": {Host: "openrouter.ai", BasePath: "/api/v1", Policy: Policy{
		Drop:           []string{"store", "metadata", "service_tier"},
		MaxTokensField: "max_tokens",
	}},
	// vLLM (self-hosted: no default host; a key only when started with --api-key) accepts
	// the OpenAI schema, including stream_options.
	"vllm": {BasePath: "/v1", Policy: Policy{MaxTokensField: "max_tokens"}},
	// LM Studio's local server (no key) lists max_tokens among its chat parameters, not
	// max_completion_tokens, and has none of OpenAI's platform fields.
	"lmstudio": {Host: "localhost:1234", BasePath: "/v1", Policy: Policy{
		Drop:           []string{"store", "metadata", "service_tier"},
		MaxTokensField: "max_tokens",
	}},
}

// Rewrite appends the hub request body, adjusted for one OpenAI-compatible upstream, to dst in
// a single pass: the model is replaced by the upstream name, max tokens capped, fields
// dropped or renamed by the policy, and for streams stream_options.include_usage is set so the
// filter can count tokens. Unknown fields pass through untouched.
func Rewrite(dst []byte, body string, t hub.Target, p *Policy) []byte {
	d := jsonx.GetDoc()
	defer jsonx.PutDoc(d)
	d.Parse(body)
	return RewriteDoc(dst, d.Root(), t, p)
}

// RewriteDoc is Rewrite for a parsed hub body.
func RewriteDoc(dst []byte, root jsonx.Value, t hub.Target, p *Policy) []byte {
	w := jsonx.Writer{Buf: dst}
	w.Obj()
	sawMax := false
	for it := root.Iter(); it.Next(); {
		key, v := it.Key(), it.Value()
		switch key {
		case "model":
			if t.Model != "" {
				w.StrField("model", t.Model)
				continue
			}
		case "messages":
			if v.IsArray() && needsCleanHistory(v) {
				w.Key("messages")
				writeCleanHistory(&w, v)
				continue
			}
		case "stream_options":
			if !t.Stream || !p.NoStreamUsage {
				continue // only valid with stream; replaced below when we ask for usage
			}
		case "max_tokens", "max_completion_tokens":
			if sawMax && p.MaxTokensField != "" {
				continue // both present: keep the first, renamed
			}
			sawMax = true
			n := v.Int()
			if t.MaxTokens > 0 && (n == 0 || n > t.MaxTokens) {
				n = t.MaxTokens
			}
			if p.MaxTokensField != "" {
				key = p.MaxTokensField
			}
			w.KeyEsc(key)
			w.Int(n)
			continue
		}
		if dropped(p, key) {
			continue
		}
		for _, r := range p.Rename {
			if r[0] == key {
				key = r[1]
			}
		}
		w.KeyEsc(key)
		w.Raw(v.Raw())
	}
	if t.MaxTokens > 0 && !sawMax {
		f := p.MaxTokensField
		if f == "" {
			f = "max_tokens"
		}
		w.IntField(f, t.MaxTokens)
	}
	if t.Stream && !p.NoStreamUsage {
		w.Key("stream_options")
		w.Raw(`{"include_usage":true}`)
	}
	w.End()
	return w.Buf
}

func dropped(p *Policy, key string) bool {
	for _, d := range p.Drop {
		if d == key {
			return true
		}
	}
	return false
}
