package lifecycle

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestParseDeprecatedHeaders(t *testing.T) {
	l, err := Parse(gjson.Parse(`{"version":"v1","state":"deprecated","deprecated_at":"2026-11-01T00:00:00Z",
		"sunset":"2027-03-01T00:00:00Z","successor":"/v1/prompts/summarize-v2"}`), "prompts.s")
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"deprecation", "@1793491200"},
		{"sunset", "Mon, 01 Mar 2027 00:00:00 GMT"},
		{"link", `</v1/prompts/summarize-v2>; rel="successor-version"`},
	}
	if len(l.Headers) != len(want) {
		t.Fatalf("headers %q, want %q", l.Headers, want)
	}
	for i := range want {
		if l.Headers[i] != want[i] {
			t.Errorf("header %d = %q, want %q", i, l.Headers[i], want[i])
		}
	}
	if got := l.RetiredMessage("summarize"); got != "summarize v1 is retired; use /v1/prompts/summarize-v2" {
		t.Errorf("message %q", got)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	for doc, want := range map[string]string{
		`{"state":"gone"}`:                           `r.state: unknown state "gone"`,
		`{"state":"deprecated","sunset":"tomorrow"}`: "r.sunset: want an RFC 3339 time",
		`{"version":2}`:                              "r.version: must be a string",
		`{"sunset":"2027-03-01T00:00:00Z"}`:          `r.state: "active" takes no`,
	} {
		_, err := Parse(gjson.Parse(doc), "r")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", doc, err, want)
		}
	}
}

func TestActiveHasNoHeaders(t *testing.T) {
	l, err := Parse(gjson.Parse(`{"version":"v2"}`), "r")
	if err != nil || l.State != Active || l.Headers != nil {
		t.Fatalf("%+v %v", l, err)
	}
}
