package envoy_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the plugin configuration embedded in envoy.yaml from stepgate.json")

const (
	beginMarker = "# BEGIN envoy/stepgate.json"
	endMarker   = "# END envoy/stepgate.json"
)

// embedJSON returns yamlText with the block scalar between the BEGIN and END marker comments replaced
// by doc, so that envoy.yaml carries stepgate.json byte for byte. The block is the "value: |" line
// right after BEGIN; its content is indented two spaces deeper than that line.
func embedJSON(yamlText, doc []byte) ([]byte, error) {
	lines := strings.SplitAfter(string(yamlText), "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch {
		case strings.Contains(l, beginMarker):
			if begin >= 0 {
				return nil, fmt.Errorf("%q appears twice", beginMarker)
			}
			begin = i
		case strings.Contains(l, endMarker):
			end = i
		}
	}
	if begin < 0 || end < begin+2 {
		return nil, fmt.Errorf("want %q, a \"value: |\" line and %q in that order", beginMarker, endMarker)
	}
	valueLine := lines[begin+1]
	if strings.TrimSpace(valueLine) != "value: |" {
		return nil, fmt.Errorf("line after %q is %q, want \"value: |\"", beginMarker, strings.TrimSpace(valueLine))
	}
	indent := valueLine[:len(valueLine)-len(strings.TrimLeft(valueLine, " "))] + "  "
	if !bytes.HasSuffix(doc, []byte("\n")) || bytes.HasSuffix(doc, []byte("\n\n")) {
		// A "|" block keeps exactly one final newline: anything else would not round-trip.
		return nil, fmt.Errorf("the embedded document must end with exactly one newline")
	}
	if doc[0] == ' ' || doc[0] == '\t' {
		// A block scalar takes its indentation from its first line.
		return nil, fmt.Errorf("the embedded document must not start with white space")
	}
	var out strings.Builder
	for _, l := range lines[:begin+2] {
		out.WriteString(l)
	}
	for _, l := range strings.SplitAfter(strings.TrimSuffix(string(doc), "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("the embedded document must not contain blank lines")
		}
		if !yamlPrintable(strings.TrimSuffix(l, "\n")) {
			return nil, fmt.Errorf("the embedded document must be printable UTF-8 without tabs")
		}
		out.WriteString(indent + strings.TrimSuffix(l, "\n") + "\n")
	}
	for _, l := range lines[end:] {
		out.WriteString(l)
	}
	return []byte(out.String()), nil
}

// yamlPrintable reports whether YAML carries s unchanged in a block scalar: valid UTF-8 of YAML's
// printable set, without tabs (JSON never needs raw control characters: it escapes them).
func yamlPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		ok := r >= 0x20 && r <= 0x7e || r == 0x85 || r >= 0xa0 && r <= 0xd7ff ||
			r >= 0xe000 && r <= 0xfffd && r != 0xfeff || r >= 0x10000
		if !ok {
			return false
		}
	}
	return true
}

// regenerate is what to run after editing stepgate.json (the Makefile's envoy-config target runs
// TestEmbeddedPluginConfig with -update).
const regenerate = "make envoy-config"

// TestEmbeddedPluginConfig: envoy.yaml hands the filter exactly the bytes of stepgate.json, so that
// the file users edit and the file Envoy loads cannot drift apart. Run with -update (make
// envoy-config) after editing stepgate.json.
func TestEmbeddedPluginConfig(t *testing.T) {
	doc := readFile(t, pluginJSONPath)
	if *update {
		out, err := embedJSON(readFile(t, envoyYAMLPath), doc)
		if err != nil {
			t.Fatalf("%s cannot be embedded in %s: %v", pluginJSONPath, envoyYAMLPath, err)
		}
		if err := os.WriteFile(envoyYAMLPath, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := embeddedPluginConfig(t, loadBootstrap(t))
	if msg := embedStale(got, string(doc)); msg != "" {
		t.Error(msg)
	}
}

// embedStale says in one line how the copy embedded in envoy.yaml differs from stepgate.json and how
// to bring it up to date ("" when they are equal): the documents themselves are too long for a test
// failure.
func embedStale(embedded, doc string) string {
	if embedded == doc {
		return ""
	}
	a, b := strings.Split(embedded, "\n"), strings.Split(doc, "\n")
	line := 1
	for line <= len(a) && line <= len(b) && a[line-1] == b[line-1] {
		line++
	}
	return fmt.Sprintf("%s embeds an older copy of %s (they differ from line %d of %s); run `%s` to copy it in",
		envoyYAMLPath, pluginJSONPath, line, pluginJSONPath, regenerate)
}

func TestEmbedStale(t *testing.T) {
	if msg := embedStale("{\n}\n", "{\n}\n"); msg != "" {
		t.Errorf("equal documents: %q", msg)
	}
	msg := embedStale("{\n  \"a\": 1\n}\n", "{\n  \"a\": 2\n}\n")
	if !strings.Contains(msg, "line 2") || !strings.Contains(msg, regenerate) || strings.Contains(msg, "\n") {
		t.Errorf("message %q: want one line naming line 2 and %q", msg, regenerate)
	}
}

// TestMakeEnvoyConfig: the Makefile's envoy-config target is what the message above tells users to
// run, and it runs this package's TestEmbeddedPluginConfig with -update.
func TestMakeEnvoyConfig(t *testing.T) {
	recipe := makeRecipe(t, "envoy-config")
	for _, want := range []string{"test", "TestEmbeddedPluginConfig", "./envoy", "-update"} {
		if !strings.Contains(recipe, want) {
			t.Errorf("make envoy-config runs %q, which lacks %q", recipe, want)
		}
	}
}

func TestEmbedJSONRoundTrip(t *testing.T) {
	yamlText := readFile(t, envoyYAMLPath)
	docs := []string{
		"{}\n",
		"{\n  \"log\": {\"level\": \"debug\"},\n  \"note\": \"a: b # not a comment\"\n}\n",
		string(readFile(t, pluginJSONPath)),
	}
	for _, doc := range docs {
		out, err := embedJSON(yamlText, []byte(doc))
		if err != nil {
			t.Fatalf("embed %q: %v", doc, err)
		}
		b, err := parseBootstrap(out)
		if err != nil {
			t.Fatalf("embed %q: %v", doc, err)
		}
		if got := embeddedPluginConfig(t, b); got != doc {
			t.Errorf("embed %q: read back %q", doc, got)
		}
	}
	for _, bad := range []string{"{}", "{}\n\n", "{\n\n}\n"} {
		if _, err := embedJSON(yamlText, []byte(bad)); err == nil {
			t.Errorf("embed %q: want an error", bad)
		}
	}
	if _, err := embedJSON([]byte("a: 1\n"), []byte("{}\n")); err == nil {
		t.Error("embed into a file without markers: want an error")
	}
}

// FuzzEmbedJSON: whatever embedJSON accepts reads back from the bootstrap byte for byte.
func FuzzEmbedJSON(f *testing.F) {
	yamlText := readFile(f, envoyYAMLPath)
	for _, s := range []string{"{}\n", "{\n  \"a\": \"# b\"\n}\n", "x: |\n  y\n", "- a\n-b\n", "\"\\u00e9\"\n", "a\n b\n  c\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := embedJSON(yamlText, doc)
		if err != nil {
			return
		}
		b, err := parseBootstrap(out)
		if err != nil {
			t.Fatalf("embedded %q: %v", doc, err)
		}
		if got := embeddedPluginConfig(t, b); got != string(doc) {
			t.Fatalf("embedded %q, read back %q", doc, got)
		}
	})
}
