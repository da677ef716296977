package prompts

import (
	"fmt"
	"strings"

	"github.com/stepgate/stepgate/plugin/calllog"
)

// template is a compiled template: literal runs, already JSON-escaped (without quotes), between
// variable references.
type template struct {
	parts []part
}

type part struct {
	lit string // JSON-escaped text, written as is
	v   int    // index of the variable to insert after lit; -1 for none
}

// compile splits src at {{name}} placeholders. vars maps a variable name to its index; a
// placeholder naming no variable is an error.
func compile(src string, vars map[string]int, p string) (template, error) {
	var t template
	for {
		open := strings.Index(src, "{{")
		if open < 0 {
			t.parts = append(t.parts, part{lit: escape(src), v: -1})
			return t, nil
		}
		end := strings.Index(src[open:], "}}")
		if end < 0 {
			return t, fmt.Errorf("%s: unclosed {{ at byte %d", p, open)
		}
		name := strings.TrimSpace(src[open+2 : open+end])
		i, ok := vars[name]
		if !ok {
			return t, fmt.Errorf("%s: {{%s}} names no variable", p, name)
		}
		t.parts = append(t.parts, part{lit: escape(src[:open]), v: i})
		src = src[open+end+2:]
	}
}

// escape is s as JSON string content, without the quotes.
func escape(s string) string {
	b := calllog.AppendString(nil, s)
	return string(b[1 : len(b)-1])
}

// size is an upper bound of the rendered length for values of the given lengths, before
// escaping grows them.
func (t *template) size(values []string) int {
	n := 0
	for _, p := range t.parts {
		n += len(p.lit)
		if p.v >= 0 {
			n += len(values[p.v]) + len(values[p.v])/8
		}
	}
	return n
}

// render appends the template as a JSON string, quotes included, with values JSON-escaped.
func (t *template) render(dst []byte, values []string) []byte {
	dst = append(dst, '"')
	for _, p := range t.parts {
		dst = append(dst, p.lit...)
		if p.v >= 0 {
			s := calllog.AppendString(dst, values[p.v])
			// AppendString quoted the value: drop its quotes in place.
			q := len(dst)
			copy(s[q:], s[q+1:len(s)-1])
			dst = s[:len(s)-2]
		}
	}
	return append(dst, '"')
}
