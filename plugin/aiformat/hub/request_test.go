package hub

import (
	"testing"

	"github.com/stepgate/stepgate/plugin/aiformat/internal/jsonx"
)

func root(t *testing.T, src string) jsonx.Value {
	t.Helper()
	d := new(jsonx.Doc)
	if !d.Parse(src) {
		t.Fatalf("invalid JSON: %s", src)
	}
	return d.Root()
}

func TestEachSystem(t *testing.T) {
	msgs := root(t, `[{"role":"system","content":"a"},{"role":"user","content":"u"},{"role":"developer","content":"b"}]`)
	var got []string
	err := EachSystem(msgs, func(i int, c jsonx.Value) *Error {
		got = append(got, c.Raw())
		if i != 0 && i != 2 {
			t.Errorf("index %d is not an instruction message", i)
		}
		return nil
	})
	if err != nil || len(got) != 2 || got[0] != `"a"` || got[1] != `"b"` {
		t.Fatalf("got %v, %v", got, err)
	}
	stop := Invalid("x", "stop here")
	n := 0
	if err := EachSystem(msgs, func(int, jsonx.Value) *Error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("the first error must end the walk: %v after %d calls", err, n)
	}
}

func TestMaxTokens(t *testing.T) {
	for _, c := range []struct {
		body string
		cap  int64
		want int64
	}{
		{`{}`, 0, 0},
		{`{}`, 100, 100},
		{`{"max_tokens":50}`, 100, 50},
		{`{"max_tokens":500}`, 100, 100},
		{`{"max_completion_tokens":70,"max_tokens":500}`, 0, 70},
		{`{"max_completion_tokens":700,"max_tokens":5}`, 100, 100},
	} {
		r := root(t, c.body)
		got := Target{MaxTokens: c.cap}.ClampMaxTokens(RequestedMaxTokens(r.Get("max_completion_tokens"), r.Get("max_tokens")))
		if got != c.want {
			t.Errorf("%s cap %d: got %d, want %d", c.body, c.cap, got, c.want)
		}
	}
}

func TestWriteStop(t *testing.T) {
	for body, want := range map[string]string{
		`{"stop":"END"}`:        `["END"]`,
		`{"stop":["a","b"]}`:    `["a","b"]`,
		`{"stop":null}`:         ``,
		`{"temperature":0.5}`:   ``,
		`{"stop":["only one"]}`: `["only one"]`,
	} {
		s := root(t, body).Get("stop")
		var w jsonx.Writer
		if HasStop(s) {
			WriteStop(&w, s)
		}
		if string(w.Buf) != want {
			t.Errorf("%s: got %s, want %s", body, w.Buf, want)
		}
	}
}
