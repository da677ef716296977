package aiformat

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim/hostsimtest"
	"github.com/stepgate/stepgate/plugin/shareddata"
	"github.com/tidwall/gjson"
	"github.com/tidwall/pretty"
	"github.com/tidwall/sjson"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testConfig routes "to-<provider>" to one provider of each kind.
const testConfig = `{
  "providers": {
    "openai":    {"type": "openai", "cluster": "openai", "api_keys": ["sk-o1", "sk-o2"]},
    "mistral":   {"type": "openai_compatible", "compat": "mistral", "cluster": "mistral", "host": "api.mistral.ai", "api_key": "mk"},
    "azure":     {"type": "azure", "cluster": "azure", "host": "res.openai.azure.com", "api_key": "ak", "api_version": "2024-10-21"},
    "anthropic": {"type": "anthropic", "cluster": "anthropic", "api_key": "an", "default_max_tokens": 1024},
    "gemini":    {"type": "gemini", "cluster": "gemini", "api_key": "gk"},
    "ollama":    {"type": "ollama", "cluster": "ollama", "host": "localhost:11434"},
    "bedrock":   {"type": "bedrock", "cluster": "bedrock", "region": "us-east-1",
                  "access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
  },
  "models": {
    "routes": {
      "to-openai": "openai/gpt-4o",
      "to-mistral": "mistral/mistral-large-latest",
      "to-azure": "azure/gpt4o-deploy",
      "to-anthropic": "anthropic/claude-sonnet-4-5",
      "to-gemini": "gemini/gemini-2.5-flash",
      "to-ollama": "ollama/llama3.2",
      "to-bedrock": {"provider": "bedrock", "model": "anthropic.claude-3-5-haiku-20241022-v1:0"}
    }
  }
}`

var providerNames = []string{"openai", "mistral", "azure", "anthropic", "gemini", "ollama", "bedrock"}

func testRouter(t testing.TB) *Router {
	t.Helper()
	cfg, err := ParseConfig(gjson.Parse(testConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	return NewRouter(cfg, shareddata.NewMemory())
}

// golden compares got with the file, or writes it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	hostsimtest.Golden(t, path, got, *update)
}

func prettyJSON(b []byte) []byte {
	if !gjson.ValidBytes(b) {
		return b
	}
	return pretty.PrettyOptions(b, &pretty.Options{Width: 100, Indent: "  "})
}

func readInputs(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs in testdata/%s", dir)
	}
	return files
}

// inboundRequest builds the client request of an input file for the given model.
func inboundRequest(t *testing.T, file, model string) (method, path string, body []byte) {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(file)
	switch {
	case strings.HasPrefix(name, "anthropic_"):
		body, _ = sjson.SetBytes(body, "model", model)
		return "POST", "/v1/messages", body
	case strings.HasPrefix(name, "gemini_"):
		if strings.Contains(name, "_stream") {
			return "POST", "/v1beta/models/" + model + ":streamGenerateContent?alt=sse", body
		}
		return "POST", "/v1beta/models/" + model + ":generateContent", body
	}
	body, _ = sjson.SetBytes(body, "model", model)
	return "POST", "/v1/chat/completions", body
}

// TestGoldenRequests translates every client request in testdata/requests to every provider.
func TestGoldenRequests(t *testing.T) {
	r := testRouter(t)
	for _, file := range readInputs(t, "requests") {
		base := strings.TrimSuffix(filepath.Base(file), ".json")
		for _, prov := range providerNames {
			t.Run(base+"/"+prov, func(t *testing.T) {
				method, path, body := inboundRequest(t, file, "to-"+prov)
				got := routeForGolden(r, method, path, body)
				golden(t, filepath.Join("testdata", "golden", "requests", base+"."+prov+".txt"), got)
			})
		}
	}
}

func routeForGolden(r *Router, method, path string, body []byte) []byte {
	req, perr := r.Config().ParseRequest(method, path, "", body)
	if perr != nil {
		return append([]byte("ERROR "+itoa(perr.Status)+"\n"), prettyJSON(perr.Body)...)
	}
	up, rerr := r.Route(req, 0, 0)
	if rerr != nil {
		return append([]byte("ERROR "+itoa(rerr.Status)+"\n"), prettyJSON(rerr.Body)...)
	}
	var b bytes.Buffer
	for _, h := range up.SetHeaders {
		b.WriteString(h[0] + ": " + h[1] + "\n")
	}
	b.WriteString("remove: " + strings.Join(up.RemoveHeaders, ", ") + "\n")
	b.WriteString("usage-to-client: " + boolStr(req.WantsUsage) + ", prompt-estimate: " + itoa(int(req.PromptTokens)) + "\n\n")
	b.Write(prettyJSON(up.Body))
	return b.Bytes()
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// wireOf tells a test file's provider format from its name prefix.
func wireOf(name string) wireFormat {
	switch {
	case strings.HasPrefix(name, "anthropic_"):
		return wireAnthropic
	case strings.HasPrefix(name, "gemini_"):
		return wireGemini
	case strings.HasPrefix(name, "ollama_"):
		return wireOllama
	case strings.HasPrefix(name, "bedrock_"):
		return wireBedrock
	}
	return wireOpenAI
}

type clientCase struct {
	name      string
	dialect   Dialect
	wantUsage bool
}

var clients = []clientCase{
	{"openai", DialectOpenAI, false},
	{"openai_usage", DialectOpenAI, true},
	{"anthropic", DialectAnthropic, true},
	{"gemini", DialectGemini, true},
}

const testNow = 1_700_000_000_000_000_000

// TestGoldenResponses translates every provider response to every client dialect.
func TestGoldenResponses(t *testing.T) {
	for _, file := range readInputs(t, "responses") {
		base := strings.TrimSuffix(filepath.Base(file), ".json")
		body, _ := os.ReadFile(file)
		for _, c := range clients[1:] {
			t.Run(base+"/"+c.name, func(t *testing.T) {
				tr := newTranslator(c.dialect, wireOf(base), false, c.wantUsage, testNow, "fallback-model")
				head := tr.Headers(200, "application/json")
				status, out := tr.Finish(append([]byte(nil), body...))
				u := tr.Usage()
				got := []byte("HTTP " + itoa(status) + " " + head.ContentType + "\nusage: prompt=" + itoa(int(u.Prompt)) + " completion=" + itoa(int(u.Completion)) + "\n\n")
				got = append(got, prettyJSON(out)...)
				golden(t, filepath.Join("testdata", "golden", "responses", base+".to_"+c.name+".txt"), got)
			})
		}
	}
}

// TestGoldenStreams translates every provider stream to every client dialect, and checks that
// splitting the input at every byte boundary, or feeding it byte by byte, gives the same output.
func TestGoldenStreams(t *testing.T) {
	for _, file := range readInputs(t, "streams") {
		base, in := streamInput(t, file)
		for _, c := range clients {
			t.Run(base+"/"+c.name, func(t *testing.T) {
				whole, usage := runStream(c, wireOf(base), [][]byte{in})
				got := append([]byte("usage: prompt="+itoa(int(usage.Prompt))+" completion="+itoa(int(usage.Completion))+"\n\n"), whole...)
				golden(t, filepath.Join("testdata", "golden", "streams", base+".to_"+c.name+".txt"), got)
				for k := 1; k < len(in); k++ {
					out, u := runStream(c, wireOf(base), [][]byte{in[:k], in[k:]})
					if !bytes.Equal(out, whole) || u != usage {
						t.Fatalf("split at byte %d changes the output:\n%s\nwant\n%s", k, out, whole)
					}
				}
				var bytewise [][]byte
				for k := range in {
					bytewise = append(bytewise, in[k:k+1])
				}
				if out, _ := runStream(c, wireOf(base), bytewise); !bytes.Equal(out, whole) {
					t.Fatalf("byte-by-byte feeding changes the output:\n%s", out)
				}
			})
		}
	}
}

func runStream(c clientCase, wire wireFormat, chunks [][]byte) ([]byte, Usage) {
	tr := newTranslator(c.dialect, wire, true, c.wantUsage, testNow, "fallback-model")
	ct := "text/event-stream"
	switch wire {
	case wireOllama:
		ct = "application/x-ndjson"
	case wireBedrock:
		ct = "application/vnd.amazon.eventstream"
	}
	tr.Headers(200, ct)
	var out []byte
	for i, ch := range chunks {
		out = append(out, tr.Write(append([]byte(nil), ch...), i == len(chunks)-1)...)
	}
	return out, tr.Usage()
}

// TestGoldenErrors normalises every provider error to every client dialect.
func TestGoldenErrors(t *testing.T) {
	for _, file := range readInputs(t, "errors") {
		base := strings.TrimSuffix(filepath.Base(file), ".json")
		parts := strings.SplitN(base, "_", 3)
		status := int(gjson.Parse(parts[1]).Int())
		body, _ := os.ReadFile(file)
		for _, c := range clients[1:] {
			t.Run(base+"/"+c.name, func(t *testing.T) {
				tr := newTranslator(c.dialect, wireOf(base), true, c.wantUsage, testNow, "m")
				head := tr.Headers(status, "application/json")
				if !head.Buffer {
					t.Fatal("errors must be buffered")
				}
				st, out := tr.Finish(append([]byte(nil), body...))
				if st != head.Status {
					t.Errorf("Finish status %d, Headers status %d", st, head.Status)
				}
				got := append([]byte("HTTP "+itoa(st)+"\n\n"), prettyJSON(out)...)
				golden(t, filepath.Join("testdata", "golden", "errors", base+".to_"+c.name+".txt"), got)
			})
		}
	}
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i < 0 {
		b = append(b, '-')
		i = -i
	}
	var d [20]byte
	n := len(d)
	for {
		n--
		d[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return append(b, d[n:]...)
}
