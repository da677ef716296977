package aiformat

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepgate/stepgate/plugin/aiformat/eventstream"
	"github.com/stepgate/stepgate/plugin/aiformat/sigv4"
	"github.com/tidwall/gjson"
)

// eventFramesOf encodes a text description of an event stream, one message a line as
// "eventType payload" ("!exceptionType payload" for an exception), into event-stream frames.
func eventFramesOf(t testing.TB, text []byte) []byte {
	t.Helper()
	var out []byte
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		name, payload, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("event line %q: want \"type payload\"", sc.Text())
		}
		hs := [][2]string{{":event-type", name}, {":content-type", "application/json"}, {":message-type", "event"}}
		if exc, ok := strings.CutPrefix(name, "!"); ok {
			hs = [][2]string{{":exception-type", exc}, {":content-type", "application/json"}, {":message-type", "exception"}}
		}
		out = eventstream.AppendMessage(out, hs, []byte(payload))
	}
	return out
}

// streamInput reads a stream of testdata/streams: its base name and its bytes, a .events file
// encoded into event-stream frames.
func streamInput(t testing.TB, file string) (string, []byte) {
	t.Helper()
	in, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(file)
	for _, ext := range []string{".sse", ".ndjson"} {
		base = strings.TrimSuffix(base, ext)
	}
	if b, ok := strings.CutSuffix(base, ".events"); ok {
		return b, eventFramesOf(t, in)
	}
	return base, in
}

// TestBedrockStreamFailures: an exception message, a corrupted frame, an oversized frame and
// a stream cut inside a frame each end the client's stream with an error event in its
// dialect, after the text that came before.
func TestBedrockStreamFailures(t *testing.T) {
	head := eventFramesOf(t, []byte("messageStart {\"role\":\"assistant\"}\ncontentBlockDelta {\"contentBlockIndex\":0,\"delta\":{\"text\":\"Once\"}}\n"))
	exc := eventFramesOf(t, []byte(`!throttlingException {"message":"Too many requests, please wait before trying again."}`+"\n"))
	stop := eventFramesOf(t, []byte(`messageStop {"stopReason":"end_turn"}`+"\n"))
	bad := bytes.Clone(stop)
	bad[len(bad)-5] ^= 0x20 // payload byte: message CRC mismatch
	huge := bytes.Clone(stop)
	binary.BigEndian.PutUint32(huge, 64<<20)
	binary.BigEndian.PutUint32(huge[8:], crc32.ChecksumIEEE(huge[:8]))
	for name, c := range map[string]struct {
		tail []byte
		want string
	}{
		"exception": {exc, "Too many requests"},
		"bad crc":   {bad, "message CRC mismatch"},
		"oversized": {huge, "over the limit"},
		"cut":       {stop[:len(stop)-3], "ended inside a message"},
	} {
		in := append(bytes.Clone(head), c.tail...)
		for _, cl := range clients {
			out, _ := runStream(cl, wireBedrock, [][]byte{in})
			s := string(out)
			if !strings.Contains(s, "Once") || !strings.Contains(s, c.want) || strings.Contains(s, "[DONE]") || strings.Contains(s, "message_stop") {
				t.Errorf("%s to %s:\n%s", name, cl.name, s)
			}
			if cl.dialect == DialectAnthropic && !strings.Contains(s, "event: error") {
				t.Errorf("%s to %s: no error event:\n%s", name, cl.name, s)
			}
		}
	}
}

// TestBedrockSigning: a routed Bedrock request carries a SigV4 signature over its final path,
// body and host, made at the filter's clock, with the session token signed when configured.
func TestBedrockSigning(t *testing.T) {
	cfg, err := ParseConfig(gjson.Parse(`{"providers":{"br":{"type":"bedrock","cluster":"c","region":"eu-west-3",
		"access_key_id":"AKID","secret_access_key":"SECRET","session_token":"TOKEN"}},
		"models":{"routes":{"m":"br/anthropic.claude-3-haiku-20240307-v1:0"}}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(cfg, nil)
	req, perr := cfg.ParseRequest("POST", "/v1/chat/completions", "", []byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if perr != nil {
		t.Fatal(perr.Message)
	}
	now := time.Date(2025, 6, 1, 10, 20, 30, 0, time.UTC).UnixNano()
	up, rerr := r.Route(req, now, 0)
	if rerr != nil {
		t.Fatal(rerr.Message)
	}
	h := map[string]string{}
	for _, kv := range up.SetHeaders {
		h[kv[0]] = kv[1]
	}
	if h[":authority"] != "bedrock-runtime.eu-west-3.amazonaws.com" || h[":path"] != "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream" {
		t.Fatalf("headers %v", h)
	}
	if h["x-amz-date"] != "20250601T102030Z" || h["x-amz-security-token"] != "TOKEN" || h["x-amz-content-sha256"] != sigv4.PayloadHash(up.Body) {
		t.Fatalf("headers %v", h)
	}
	s := &sigv4.Signer{Creds: sigv4.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}, Region: "eu-west-3", Service: "bedrock"}
	want := s.Sign(&sigv4.Request{Method: "POST", Path: h[":path"], PayloadHash: h["x-amz-content-sha256"], Headers: [][2]string{
		{"content-type", "application/json"}, {"host", h[":authority"]}, {"x-amz-content-sha256", h["x-amz-content-sha256"]},
		{"x-amz-date", h["x-amz-date"]}, {"x-amz-security-token", "TOKEN"}}}, h["x-amz-date"])
	if h["authorization"] != want {
		t.Fatalf("authorization\n%s\nwant\n%s", h["authorization"], want)
	}
	if !strings.Contains(want, "Credential=AKID/20250601/eu-west-3/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") {
		t.Fatalf("authorization %s", want)
	}
}

func TestBedrockConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"type":"bedrock","cluster":"c","access_key_id":"a","secret_access_key":"s"}`:                                "providers.br.region: required",
		`{"type":"bedrock","cluster":"c","region":"r","secret_access_key":"s"}`:                                       "providers.br.access_key_id: required",
		`{"type":"bedrock","cluster":"c","region":"r","access_key_id":"a"}`:                                           "providers.br.secret_access_key: required",
		`{"type":"bedrock","cluster":"c","region":"r","access_key_id":"a","secret_access_key":"s","api_key":"k"}`:     "providers.br.api_keys: not used by type bedrock",
		`{"type":"openai","cluster":"c","api_key":"k","region":"r"}`:                                                  "providers.br.region: not used by type openai",
		`{"type":"bedrock","cluster":"c","region":"r","access_key_id":"a","secret_access_key":"s","session_token":1}`: "providers.br.session_token: must be a string",
	} {
		_, err := ParseConfig(gjson.Parse(`{"providers":{"br":`+cfg+`},"models":{"routes":{"m":"br"}}}`), "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", cfg, err, want)
		}
	}
}

// BenchmarkBedrockSign is what signing adds to a routed Bedrock request: the body's SHA-256,
// the canonical request, the string to sign and one HMAC with the day's cached key. The
// payload-hash case is the part SigV4 cannot do without (the body's SHA-256 alone): the floor
// of any signature of that body.
func BenchmarkBedrockSign(b *testing.B) {
	r := testRouter(b)
	cfg := r.Config()
	for _, sz := range benchSizes {
		path, body := benchBody(DialectOpenAI, sz.n)
		body = []byte(strings.Replace(string(body), "MODEL", "to-bedrock", 1))
		req, perr := cfg.ParseRequest("POST", path, "", body)
		if perr != nil {
			b.Fatal(perr.Message)
		}
		up, rerr := r.Route(req, testNow, 0)
		if rerr != nil {
			b.Fatal(rerr.Message)
		}
		headers := up.SetHeaders
		b.Run(sz.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				up.SetHeaders = headers[:4]
				r.sign(up, testNow)
			}
		})
		b.Run(sz.name+"/payload-hash", func(b *testing.B) {
			for b.Loop() {
				_ = sigv4.PayloadHash(up.Body)
			}
		})
	}
}
