package aiformat

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

var fuzzPaths = []string{"/v1/chat/completions", "/v1/messages", "/v1beta/models/to-openai:generateContent",
	"/v1beta/models/to-anthropic:streamGenerateContent?alt=sse", "/v1/embeddings", "/v1/messages/count_tokens"}

func addFiles(f *testing.F, dir string, add func(name string, b []byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			add(filepath.Base(file), b)
		}
	}
}

// FuzzRequest runs arbitrary bodies through every inbound decoder (OpenAI inspection,
// Anthropic and Gemini to hub) and every outbound encoder: nothing may panic, and whatever is
// accepted must come out as valid JSON for every provider.
func FuzzRequest(f *testing.F) {
	addFiles(f, "requests", func(name string, b []byte) {
		sel := uint8(0)
		switch {
		case strings.HasPrefix(name, "anthropic_"):
			sel = 1
		case strings.HasPrefix(name, "gemini_"):
			sel = 2
		}
		f.Add(sel, b)
	})
	f.Add(uint8(0), []byte(`{"model":"to-openai","messages":[{"role":"tool","tool_call_id":"x","content":[{"type":"text","text":"a"}]}]}`))
	addFiles(f, "embeddings", func(_ string, b []byte) { f.Add(uint8(4), b) })
	r := testRouter(f)
	f.Fuzz(func(t *testing.T, sel uint8, body []byte) {
		path := fuzzPaths[int(sel)%len(fuzzPaths)]
		req, perr := r.Config().ParseRequest("POST", path, "", body)
		if perr != nil {
			if perr.Status < 400 || perr.Status > 499 || !gjson.ValidBytes(perr.Body) {
				t.Fatalf("bad error %d %s", perr.Status, perr.Body)
			}
			return
		}
		if !gjson.ValidBytes(req.Hub) {
			t.Fatalf("hub is not JSON: %s", req.Hub)
		}
		for _, p := range providerNames {
			req.SetModel("to-" + p)
			up, rerr := r.Route(req, 0, uint32(sel))
			if rerr != nil {
				if rerr.Status != 400 || !gjson.ValidBytes(rerr.Body) {
					t.Fatalf("%s: bad route error %d %s", p, rerr.Status, rerr.Body)
				}
				continue
			}
			if !gjson.ValidBytes(up.Body) {
				t.Fatalf("%s: upstream body is not JSON:\n%s\nfrom\n%s", p, up.Body, body)
			}
		}
	})
}

var fuzzWires = []wireFormat{wireOpenAI, wireAnthropic, wireGemini, wireOllama, wireBedrock}

// FuzzResponse runs arbitrary bodies through every response and error decoder and every client
// encoder: the output must always be JSON.
func FuzzResponse(f *testing.F) {
	addFiles(f, "responses", func(name string, b []byte) { f.Add(uint8(wireIndex(wireOf(name))), uint16(200), b) })
	addFiles(f, "errors", func(name string, b []byte) {
		f.Add(uint8(wireIndex(wireOf(name))), uint16(gjson.Parse(strings.SplitN(name, "_", 3)[1]).Int()), b)
	})
	f.Fuzz(func(t *testing.T, sel uint8, status uint16, body []byte) {
		wire := fuzzWires[int(sel)%len(fuzzWires)]
		for _, c := range clients {
			tr := newTranslator(c.dialect, wire, false, c.wantUsage, testNow, "m")
			tr.Headers(int(status%600), "application/json")
			_, out := tr.Finish(append([]byte(nil), body...))
			if c.dialect.wire() == wire && bytes.Equal(out, body) {
				continue // passed through untouched
			}
			if !gjson.ValidBytes(out) {
				t.Fatalf("%s from %d: output is not JSON:\n%s", c.name, wire, out)
			}
		}
	})
}

func wireIndex(d wireFormat) int {
	for i, w := range fuzzWires {
		if w == d {
			return i
		}
	}
	return 0
}

// FuzzStream runs arbitrary streams through every stream decoder and client encoder: nothing
// may panic, every data line written must be JSON (or [DONE]), and splitting the input must
// not change the output.
func FuzzStream(f *testing.F) {
	addFiles(f, "streams", func(name string, b []byte) {
		if strings.HasSuffix(name, ".events") {
			b = eventFramesOf(f, b)
		}
		f.Add(uint8(wireIndex(wireOf(name))), uint16(len(b)/3), b)
	})
	f.Fuzz(func(t *testing.T, sel uint8, split uint16, in []byte) {
		wire := fuzzWires[int(sel)%len(fuzzWires)]
		k := int(split) % (len(in) + 1)
		for _, c := range clients {
			whole, _ := runStream(c, wire, [][]byte{in})
			parts, _ := runStream(c, wire, [][]byte{in[:k], in[k:]})
			if !bytes.Equal(whole, parts) {
				t.Fatalf("%s: split at %d changes the output", c.name, k)
			}
			if c.dialect.wire() == wire {
				continue // passthrough repeats what came in
			}
			for _, line := range strings.Split(string(whole), "\n") {
				line = strings.TrimSuffix(line, "\r")
				if d, ok := strings.CutPrefix(line, "data: "); ok && d != "[DONE]" && !gjson.Valid(d) {
					t.Fatalf("%s: data line is not JSON: %q", c.name, d)
				}
			}
		}
	})
}

// FuzzEmbeddingAnswer runs arbitrary Gemini and Ollama embeddings answers through the
// translation to OpenAI's shape: nothing may panic, and the client gets either a 502 or valid
// JSON with one embedding per input and usage.
func FuzzEmbeddingAnswer(f *testing.F) {
	addFiles(f, "embedding-answers", func(name string, b []byte) {
		sel := uint8(0)
		if strings.HasPrefix(name, "ollama_") {
			sel = 1
		}
		f.Add(sel, b)
		f.Add(sel|2, b)
		f.Add(sel|4, b)
	})
	r := testRouter(f)
	f.Fuzz(func(t *testing.T, sel uint8, answer []byte) {
		model, format, input, n := "to-gemini", "float", `"one"`, 1
		if sel&1 != 0 {
			model = "to-ollama"
		}
		if sel&2 != 0 {
			format = "base64"
		}
		if sel&4 != 0 {
			input, n = `["one","two"]`, 2
		}
		req, perr := r.Config().ParseRequest("POST", "/v1/embeddings", "",
			[]byte(`{"model":"`+model+`","input":`+input+`,"encoding_format":"`+format+`"}`))
		if perr != nil {
			t.Fatal(perr.Message)
		}
		up, rerr := r.Route(req, 0, 0)
		if rerr != nil {
			t.Fatal(rerr.Message)
		}
		rt := NewResponseTranslator(req, up, 0)
		rt.Headers(200, "application/json")
		status, out := rt.Finish(answer)
		switch {
		case !gjson.ValidBytes(out):
			t.Fatalf("not JSON: %s", out)
		case status == 502:
			if rt.Failure() == "" {
				t.Fatalf("502 without a failure: %s", out)
			}
		case status != 200 || len(gjson.GetBytes(out, "data").Array()) != n || rt.Usage().Prompt < 0:
			t.Fatalf("%d %s", status, out)
		}
	})
}
