package mockprovider

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// imageTokens is what one image adds to the prompt token count.
const imageTokens = 85

// turn is the last user (or tool-result) turn of a conversation: what the mock replies to.
type turn struct {
	text    string   // text parts joined with "\n"
	images  int      // images in this turn
	results []string // tool results, when the turn answers tool calls
}

// toolChoice is the provider-neutral form of tool_choice / functionCallingConfig.
type toolChoice struct {
	mode  string   // "auto" (or ""), "none", "required" (call some tool)
	names []string // when not empty, the tools that may be called (one name forces that tool)
}

// conversation is a validated request reduced to what the deterministic reply needs.
type conversation struct {
	texts     []string // every text of the request, counted for prompt tokens
	images    int
	last      turn
	tools     []string // offered function names, in order
	choice    toolChoice
	maxTokens int // 0: no limit
	stop      []string
}

func (cv *conversation) addText(s string) {
	if s != "" {
		cv.texts = append(cv.texts, s)
	}
}

// tokens is the mock's tokenizer: one token per started 4 bytes of UTF-8.
func tokens(s string) int { return (len(s) + 3) / 4 }

func (cv *conversation) promptTokens() int {
	n := cv.images * imageTokens
	for _, t := range cv.texts {
		n += tokens(t)
	}
	return n
}

type finish int

const (
	finishStop    finish = iota // natural end
	finishLength                // max tokens reached
	finishTools                 // tool calls
	finishStopSeq               // a stop sequence matched
)

type toolCall struct {
	name string
	args string // compact JSON object
}

// reply is the deterministic answer to a conversation, before any provider framing.
type reply struct {
	text             string
	calls            []toolCall
	finish           finish
	stopSeq          string
	promptTokens     int
	completionTokens int // for one choice
}

// reply computes the answer to cv; see the package documentation for the rules.
func (cv *conversation) reply(c *call) reply {
	r := reply{promptTokens: cv.promptTokens()}
	if calls := cv.toolCalls(); len(calls) > 0 {
		r.calls, r.finish = calls, finishTools
		for _, tc := range calls {
			r.completionTokens += tokens(tc.name) + tokens(tc.args)
		}
		return r
	}
	r.text = cv.replyText()
	if i, seq := firstStop(r.text, cv.stop); i >= 0 {
		r.text, r.finish, r.stopSeq = r.text[:i], finishStopSeq, seq
	}
	if cv.maxTokens > 0 && tokens(r.text) > cv.maxTokens {
		r.text, r.finish, r.stopSeq = truncateUTF8(r.text, 4*cv.maxTokens), finishLength, ""
	}
	r.completionTokens = tokens(r.text)
	return r
}

func (cv *conversation) replyText() string {
	if len(cv.last.results) > 0 {
		return "mock reply to tool result: " + strings.Join(cv.last.results, "\n")
	}
	s := "mock reply to: " + cv.last.text
	if cv.last.images > 0 {
		s += " [images: " + strconv.Itoa(cv.last.images) + "]"
	}
	return s
}

// toolCalls applies the "call tool NAME {args}" trigger and forced tool choices.
func (cv *conversation) toolCalls() []toolCall {
	if len(cv.tools) == 0 || cv.choice.mode == "none" || len(cv.last.results) > 0 {
		return nil
	}
	allowed := func(name string) bool {
		return slices.Contains(cv.tools, name) && (len(cv.choice.names) == 0 || slices.Contains(cv.choice.names, name))
	}
	var calls []toolCall
	for _, tc := range parseToolTrigger(cv.last.text) {
		if allowed(tc.name) {
			calls = append(calls, tc)
		}
	}
	if len(calls) == 0 && cv.choice.mode == "required" {
		name := cv.tools[0]
		if len(cv.choice.names) > 0 {
			name = cv.choice.names[0]
		}
		calls = []toolCall{{name: name, args: "{}"}}
	}
	return calls
}

// parseToolTrigger reads "call tool NAME [json object]" lines; the first line must be one.
func parseToolTrigger(text string) []toolCall {
	var calls []toolCall
	for i, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "call tool ")
		if !ok {
			if i == 0 {
				return nil
			}
			continue
		}
		name, args, _ := strings.Cut(strings.TrimSpace(rest), " ")
		args = strings.TrimSpace(args)
		var obj map[string]any
		if args == "" || json.Unmarshal([]byte(args), &obj) != nil || obj == nil {
			args = "{}"
		}
		calls = append(calls, toolCall{name: name, args: compactJSON(args)})
	}
	return calls
}

func firstStop(text string, stops []string) (int, string) {
	at, seq := -1, ""
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
			at, seq = i, s
		}
	}
	return at, seq
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// words splits s after each space: the chunks a stream sends.
func words(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// halves splits tool arguments into two stream pieces.
func halves(s string) []string {
	if len(s) < 2 {
		return []string{s}
	}
	m := len(s) / 2
	for m > 0 && !utf8.RuneStart(s[m]) {
		m--
	}
	return []string{s[:m], s[m:]}
}
