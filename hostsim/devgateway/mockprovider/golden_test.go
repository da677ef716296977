package mockprovider

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden serves every request of testdata/cases and compares the answer (status, content
// type, body) with testdata/golden. Run with -update after an intended change.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var tc testCase
			if err := json.Unmarshal(raw, &tc); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			w := serve(t, tc.Kind, tc.request())
			if w.Code != 200 {
				t.Errorf("status %d, want 200: %s", w.Code, w.Body)
			}
			got := renderAnswer(w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
			hostsimtest.Golden(t, filepath.Join("testdata", "golden", name+".golden"), got, *update)
		})
	}
}

// renderAnswer is the golden form: JSON bodies indented for reading, streams verbatim.
func renderAnswer(status int, contentType string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d\nContent-Type: %s\n\n", status, contentType)
	var indented bytes.Buffer
	if strings.HasPrefix(contentType, "application/json") && json.Indent(&indented, body, "", "  ") == nil {
		b.Write(indented.Bytes())
		b.WriteByte('\n')
	} else {
		b.Write(body)
	}
	return b.Bytes()
}
