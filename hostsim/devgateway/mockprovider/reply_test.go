package mockprovider

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

func TestTokens(t *testing.T) {
	for s, want := range map[string]int{"": 0, "a": 1, "abcd": 1, "abcde": 2, "héllo": 2, "mock reply to: hi": 5} {
		if got := tokens(s); got != want {
			t.Errorf("tokens(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestWordsAndHalves(t *testing.T) {
	if got := words("mock reply  to: x"); !reflect.DeepEqual(got, []string{"mock ", "reply ", " ", "to: ", "x"}) {
		t.Errorf("words %q", got)
	}
	if got := strings.Join(words("a b c "), ""); got != "a b c " {
		t.Errorf("words lose text: %q", got)
	}
	if words("") != nil {
		t.Error("words of empty")
	}
	for _, s := range []string{"", "{", "{}", `{"city":"Zürich"}`, "ééé"} {
		h := halves(s)
		if strings.Join(h, "") != s {
			t.Errorf("halves(%q) = %q", s, h)
		}
		for _, p := range h {
			if !utf8.ValidString(p) {
				t.Errorf("halves(%q) split a rune: %q", s, h)
			}
		}
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{{"hello", 10, "hello"}, {"hello", 3, "hel"}, {"héllo", 2, "h"}, {"héllo", 3, "hé"}, {"é", 0, ""}} {
		if got := truncateUTF8(tc.s, tc.n); got != tc.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestParseToolTrigger(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []toolCall
	}{
		{"call tool f", []toolCall{{"f", "{}"}}},
		{`call tool f {"a": 1,  "b":[1, 2]}`, []toolCall{{"f", `{"a":1,"b":[1,2]}`}}},
		{"call tool f not-json", []toolCall{{"f", "{}"}}},
		{`call tool f [1]`, []toolCall{{"f", "{}"}}},
		{"call tool f\ncall tool g {\"x\":true}\nthanks", []toolCall{{"f", "{}"}, {"g", `{"x":true}`}}},
		{"please call tool f", nil},
		{"hello\ncall tool f", nil},
	} {
		if got := parseToolTrigger(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseToolTrigger(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestReplyRules(t *testing.T) {
	base := func() conversation {
		return conversation{texts: []string{"be nice", "call tool f"}, last: turn{text: "call tool f"}, tools: []string{"f", "g"}}
	}
	for _, tc := range []struct {
		name   string
		edit   func(*conversation)
		text   string
		calls  []toolCall
		finish finish
	}{
		{"trigger", func(*conversation) {}, "", []toolCall{{"f", "{}"}}, finishTools},
		{"tool choice none", func(c *conversation) { c.choice.mode = "none" }, "mock reply to: call tool f", nil, finishStop},
		{"tool not offered", func(c *conversation) { c.tools = []string{"g"} }, "mock reply to: call tool f", nil, finishStop},
		{"not allowed", func(c *conversation) { c.choice.names = []string{"g"} }, "mock reply to: call tool f", nil, finishStop},
		{"forced", func(c *conversation) {
			c.last.text = "hi"
			c.choice = toolChoice{mode: "required", names: []string{"g"}}
		},
			"", []toolCall{{"g", "{}"}}, finishTools},
		{"required picks the first tool", func(c *conversation) { c.last.text = "hi"; c.choice.mode = "required" },
			"", []toolCall{{"f", "{}"}}, finishTools},
		{"tool results", func(c *conversation) { c.last = turn{results: []string{"a", "b"}} },
			"mock reply to tool result: a\nb", nil, finishStop},
		{"images", func(c *conversation) { c.tools = nil; c.last = turn{text: "see", images: 2} },
			"mock reply to: see [images: 2]", nil, finishStop},
		{"stop sequence", func(c *conversation) { c.tools = nil; c.stop = []string{"tool", "reply"} },
			"mock ", nil, finishStopSeq},
		{"max tokens", func(c *conversation) { c.tools = nil; c.maxTokens = 2 }, "mock rep", nil, finishLength},
		{"max tokens not reached", func(c *conversation) { c.tools = nil; c.maxTokens = 7 },
			"mock reply to: call tool f", nil, finishStop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := base()
			tc.edit(&cv)
			r := cv.reply(&call{n: 1})
			if r.text != tc.text || !reflect.DeepEqual(r.calls, tc.calls) || r.finish != tc.finish {
				t.Errorf("reply %+v", r)
			}
			if r.promptTokens != cv.promptTokens() {
				t.Errorf("prompt tokens %d", r.promptTokens)
			}
			want := tokens(r.text)
			for _, c := range r.calls {
				want += tokens(c.name) + tokens(c.args)
			}
			if r.completionTokens != want {
				t.Errorf("completion tokens %d, want %d", r.completionTokens, want)
			}
		})
	}
}

// TestPromptTokensAcrossProviders: the same conversation counts the same prompt tokens at every
// provider, which is what lets gateway tests compare usage across translations.
func TestPromptTokensAcrossProviders(t *testing.T) {
	reqs := map[Kind]string{
		OpenAI:    `{"model":"m","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Name three rivers"}]}`,
		Azure:     `{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Name three rivers"}]}`,
		Anthropic: `{"model":"m","max_tokens":99,"system":"You are terse.","messages":[{"role":"user","content":"Name three rivers"}]}`,
		Gemini:    `{"systemInstruction":{"parts":[{"text":"You are terse."}]},"contents":[{"role":"user","parts":[{"text":"Name three rivers"}]}]}`,
		Ollama:    `{"model":"m","stream":false,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Name three rivers"}]}`,
		Bedrock:   `{"system":[{"text":"You are terse."}],"messages":[{"role":"user","content":[{"text":"Name three rivers"}]}]}`,
	}
	paths := map[Kind]string{OpenAI: "/v1/chat/completions", Azure: azurePath, Anthropic: "/v1/messages", Gemini: geminiPath, Ollama: "/api/chat"}
	headers := map[Kind][]string{OpenAI: hOpenAI, Azure: hAzure, Anthropic: hAnthropic, Gemini: hGemini, Ollama: hOllama}
	usage := map[Kind]string{OpenAI: "usage.prompt_tokens", Azure: "usage.prompt_tokens", Anthropic: "usage.input_tokens",
		Gemini: "usageMetadata.promptTokenCount", Ollama: "prompt_eval_count", Bedrock: "usage.inputTokens"}
	want := tokens("You are terse.") + tokens("Name three rivers")
	for _, k := range Kinds() {
		w := httptest.NewRecorder()
		var r *http.Request
		if k == Bedrock {
			r = brRequest(brPath("m", false), reqs[k], fixedClock())
		} else {
			r = post(paths[k], reqs[k], headers[k]...)
		}
		New(k, testOptions()).ServeHTTP(w, r)
		if got := gjson.Get(w.Body.String(), usage[k]).Int(); w.Code != 200 || int(got) != want {
			t.Errorf("%s: %d prompt tokens (status %d), want %d", k, got, w.Code, want)
		}
	}
}
