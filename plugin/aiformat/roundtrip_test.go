package aiformat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/plugin/aiformat/anthropic"
	"github.com/stepgate/stepgate/plugin/aiformat/gemini"
	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/openai"
	"github.com/tidwall/gjson"
)

// turn is what a conversation turn means, independent of how a format spells it.
type turn struct {
	Role, Text, ToolCallID string
	Calls                  []string // name + canonical arguments JSON
	Images                 int
}

// digest reduces a hub request to its meaning: system text joined, then the turns.
func digest(t *testing.T, hubBody []byte, keepIDs bool) (string, []turn) {
	t.Helper()
	var sys []string
	var turns []turn
	gjson.GetBytes(hubBody, "messages").ForEach(func(_, m gjson.Result) bool {
		role := m.Get("role").Str
		var text strings.Builder
		images := 0
		if c := m.Get("content"); c.Type == gjson.String {
			text.WriteString(c.Str)
		} else {
			c.ForEach(func(_, p gjson.Result) bool {
				text.WriteString(p.Get("text").Str)
				if p.Get("type").Str == "image_url" {
					images++
				}
				return true
			})
		}
		if role == "system" || role == "developer" {
			sys = append(sys, text.String())
			return true
		}
		tr := turn{Role: role, Text: text.String(), Images: images}
		if keepIDs {
			tr.ToolCallID = m.Get("tool_call_id").Str
		}
		m.Get("tool_calls").ForEach(func(_, c gjson.Result) bool {
			var args any
			_ = json.Unmarshal([]byte(c.Get("function.arguments").Str), &args)
			canon, _ := json.Marshal(args)
			tr.Calls = append(tr.Calls, c.Get("function.name").Str+string(canon))
			return true
		})
		turns = append(turns, tr)
		return true
	})
	return strings.Join(sys, "\n"), turns
}

// TestRequestRoundTrip sends every OpenAI request to Anthropic and Gemini and reads the result
// back as that dialect's client request: the conversation must mean the same thing.
func TestRequestRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/requests/openai_*.json")
	for _, file := range files {
		body, _ := os.ReadFile(file)
		if _, err := openai.Inspect(string(body)); err != nil {
			t.Fatal(err)
		}
		for _, back := range []struct {
			name    string
			there   func([]byte, string, hub.Target) ([]byte, *hub.Error)
			here    func([]byte, string) ([]byte, *hub.Error)
			keepIDs bool
		}{
			{"anthropic", anthropic.RequestFromHub, anthropic.RequestToHub, true},
			{"gemini", gemini.RequestFromHub, func(dst []byte, b string) ([]byte, *hub.Error) {
				return gemini.RequestToHub(dst, b, "m", false)
			}, false},
		} {
			t.Run(filepath.Base(file)+"/"+back.name, func(t *testing.T) {
				native, herr := back.there(nil, string(body), hub.Target{Model: "m"})
				if herr != nil {
					t.Fatal(herr)
				}
				again, herr := back.here(nil, string(native))
				if herr != nil {
					t.Fatalf("%v\n%s", herr, native)
				}
				s1, t1 := digest(t, body, back.keepIDs)
				s2, t2 := digest(t, again, back.keepIDs)
				if s1 != s2 || !reflect.DeepEqual(t1, t2) {
					t.Errorf("meaning changed:\n%q %+v\n%q %+v\nvia %s", s1, t1, s2, t2, native)
				}
			})
		}
	}
}

// TestResponseRoundTrip encodes every provider response in each client dialect, decodes it
// again, and checks the hub answer is unchanged.
func TestResponseRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/responses/*.json")
	for _, file := range files {
		body, _ := os.ReadFile(file)
		var r hub.Response
		if err := codecs[wireOf(filepath.Base(file))].decodeResponse(string(body), &r); err != nil {
			t.Fatal(err)
		}
		want := openai.AppendResponse(nil, &r)
		for _, c := range []struct {
			name   string
			encode func([]byte, *hub.Response) []byte
			decode func(string, *hub.Response) *hub.Error
		}{
			{"anthropic", anthropic.AppendResponse, anthropic.DecodeResponse},
			{"gemini", gemini.AppendResponse, gemini.DecodeResponse},
			{"openai", openai.AppendResponse, openai.DecodeResponse},
		} {
			var r2 hub.Response
			if err := c.decode(string(c.encode(nil, &r)), &r2); err != nil {
				t.Fatal(err)
			}
			r2.ID, r2.Model, r2.Created = r.ID, r.Model, r.Created
			if c.name == "anthropic" {
				r2.Usage.Reasoning = r.Usage.Reasoning // Anthropic counts thinking in output_tokens only
			}
			if got := openai.AppendResponse(nil, &r2); !sameJSON(t, got, want) && len(r.Choices) <= 1 {
				t.Errorf("%s via %s:\n%s\nwant\n%s", filepath.Base(file), c.name, got, want)
			}
		}
	}
}
