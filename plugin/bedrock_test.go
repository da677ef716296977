package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/plugin/aiformat/eventstream"
	"github.com/stepgate/stepgate/plugin/aiformat/sigv4"
)

const bedrockConfig = `{
  "providers": {
    "br":  {"type": "bedrock", "cluster": "bedrock", "region": "eu-west-3", "access_key_id": "AKIDTEST",
            "secret_access_key": "test-secret", "session_token": "test-session-token"},
    "br2": {"type": "bedrock", "cluster": "bedrock", "region": "us-east-1", "access_key_id": "AKIDTWO", "secret_access_key": "two"}
  },
  "models": {"routes": {"haiku": "br/anthropic.claude-3-haiku-20240307-v1:0", "nova": "br2/amazon.nova-lite-v1:0"}}
}`

// checkSignature recomputes the SigV4 signature of an upstream request from what was sent.
func checkSignature(t *testing.T, up hostsim.Message, secret, region string) {
	t.Helper()
	h := up.Headers
	names := []string{"content-type", "host", "x-amz-content-sha256", "x-amz-date"}
	if h.Get("x-amz-security-token") != "" {
		names = append(names, "x-amz-security-token")
	}
	var hs [][2]string
	for _, n := range names {
		v := h.Get(n)
		if n == "host" {
			v = h.Get(":authority")
		}
		hs = append(hs, [2]string{n, v})
	}
	if got := h.Get("x-amz-content-sha256"); got != sigv4.PayloadHash(up.Body) {
		t.Errorf("x-amz-content-sha256 %s is not the body's", got)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(h.Get("authorization"), "AWS4-HMAC-SHA256 Credential="), "/")
	s := &sigv4.Signer{Creds: sigv4.Credentials{AccessKeyID: id, SecretAccessKey: secret}, Region: region, Service: "bedrock"}
	want := s.Sign(&sigv4.Request{Method: "POST", Path: h.Get(":path"), Headers: hs, PayloadHash: sigv4.PayloadHash(up.Body)}, h.Get("x-amz-date"))
	if got := h.Get("authorization"); got != want {
		t.Errorf("authorization\n%s\nwant\n%s", got, want)
	}
}

// TestBedrockRequestsAreSignedAtTheFiltersClock: the signature's date is hostsim's virtual
// clock, a new day signs with a new scope, the session token is signed, and a client's own
// AWS headers never reach the provider.
func TestBedrockRequestsAreSignedAtTheFiltersClock(t *testing.T) {
	h, vc := startFilter(t, bedrockConfig, 1)
	for day := 0; day < 2; day++ {
		s := chat(h, `{"model":"haiku","messages":[{"role":"user","content":"Hi"}]}`)
		if lr := s.LocalReply(); lr != nil {
			t.Fatalf("local reply %d %s", lr.Status, lr.Body)
		}
		up := s.Upstream()
		date := vc.Now().UTC().Format("20060102T150405Z")
		for name, want := range map[string]string{
			":path": "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", ":authority": "bedrock-runtime.eu-west-3.amazonaws.com",
			"x-amz-date": date, "x-amz-security-token": "test-session-token", "content-type": "application/json",
		} {
			if got := up.Headers.Get(name); got != want {
				t.Errorf("day %d: upstream %s = %q, want %q", day, name, got, want)
			}
		}
		if !strings.Contains(up.Headers.Get("authorization"), "Credential=AKIDTEST/"+date[:8]+"/eu-west-3/bedrock/aws4_request") {
			t.Errorf("day %d: authorization %s", day, up.Headers.Get("authorization"))
		}
		checkSignature(t, up, "test-secret", "eu-west-3")
		if gjson.GetBytes(up.Body, "messages.0.content.0.text").Str != "Hi" {
			t.Errorf("body %s", up.Body)
		}
		vc.Advance(25 * time.Hour)
	}

	s := h.NewStream()
	body := `{"model":"nova","messages":[{"role":"user","content":"Hi"}]}`
	s.SendRequestHeaders(post("/v1/chat/completions", [2]string{"authorization", "Bearer client-secret"},
		[2]string{"x-amz-security-token", "client-token"}, [2]string{"x-amz-date", "20000101T000000Z"},
		[2]string{"content-length", strconv.Itoa(len(body))}), false)
	s.SendRequestBody([]byte(body), true)
	up := s.Upstream()
	if v := up.Headers.Values("x-amz-security-token"); len(v) != 0 {
		t.Errorf("the client's security token reached the provider: %q", v)
	}
	if v := up.Headers.Values("x-amz-date"); len(v) != 1 || v[0] == "20000101T000000Z" {
		t.Errorf("x-amz-date %q", v)
	}
	checkSignature(t, up, "two", "us-east-1")
}

func bedrockEvents(lines ...string) []byte {
	var out []byte
	for _, l := range lines {
		name, payload, _ := strings.Cut(l, " ")
		out = eventstream.AppendMessage(out, [][2]string{{":event-type", name}, {":content-type", "application/json"},
			{":message-type", "event"}}, []byte(payload))
	}
	return out
}

// TestBedrockStreamToOpenAIClient: an event-stream answer split inside its frames reaches an
// OpenAI client as chunks, and its usage settles the call record.
func TestBedrockStreamToOpenAIClient(t *testing.T) {
	h, _ := startFilter(t, bedrockConfig, 1)
	s := chat(h, `{"model":"haiku","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
	up := s.Upstream()
	if p := up.Headers.Get(":path"); p != "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream" {
		t.Fatalf("path %s", p)
	}
	frames := bedrockEvents(`messageStart {"role":"assistant"}`,
		`contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"Hel"}}`,
		`contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"lo"}}`,
		`contentBlockStop {"contentBlockIndex":0}`,
		`messageStop {"stopReason":"end_turn"}`,
		`metadata {"usage":{"inputTokens":9,"outputTokens":2,"totalTokens":11},"metrics":{"latencyMs":5}}`)
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/vnd.amazon.eventstream"}}, false)
	s.SendResponseBody(frames[:37], false)
	s.SendResponseBody(frames[37:len(frames)-20], false)
	if got := string(s.Downstream().Body); !strings.Contains(got, `"content":"Hel"`) {
		t.Fatalf("the first complete frames did not reach the client: %q", got)
	}
	s.SendResponseBody(frames[len(frames)-20:], true)
	down := s.Downstream()
	all := string(down.Body)
	if down.Headers.Get("content-type") != "text/event-stream" || !strings.Contains(all, `"content":"lo"`) ||
		!strings.Contains(all, `"finish_reason":"stop"`) || !strings.HasSuffix(all, "data: [DONE]\n\n") {
		t.Errorf("client stream = %s", all)
	}
	rec := callRecord(t, h, up.Headers.Get("x-request-id"))
	if rec.Get("provider").Str != "br" || rec.Get("tokens_in").Int() != 9 || rec.Get("tokens_out").Int() != 2 {
		t.Errorf("call record = %s", rec.Raw)
	}
}

// TestBedrockBrokenFrameEndsTheStream: a frame with a bad CRC ends the client's stream with an
// error event in its dialect, never a panic, and the call counts as an upstream error.
func TestBedrockBrokenFrameEndsTheStream(t *testing.T) {
	h, _ := startFilter(t, bedrockConfig, 1)
	s := chat(h, `{"model":"haiku","stream":true,"messages":[{"role":"user","content":"Hi"}]}`)
	up := s.Upstream()
	frames := bedrockEvents(`messageStart {"role":"assistant"}`, `contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"Hel"}}`)
	bad := bedrockEvents(`contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"lo"}}`)
	bad[len(bad)-6] ^= 1
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}, {"content-type", "application/vnd.amazon.eventstream"}}, false)
	s.SendResponseBody(append(frames, bad...), false)
	s.SendResponseBody(bedrockEvents(`messageStop {"stopReason":"end_turn"}`), true)
	all := string(s.Downstream().Body)
	if !strings.Contains(all, `"content":"Hel"`) || !strings.Contains(all, "CRC mismatch") || strings.Contains(all, "[DONE]") {
		t.Errorf("client stream = %s", all)
	}
	if rec := callRecord(t, h, up.Headers.Get("x-request-id")); !strings.Contains(rec.Get("error").Str, "broken event stream") {
		t.Errorf("call record = %s", rec.Raw)
	}
}

// TestBedrockSignatureErrorToAnthropicClient: Bedrock's 403 reaches an Anthropic client as its
// permission error.
func TestBedrockSignatureErrorToAnthropicClient(t *testing.T) {
	h, _ := startFilter(t, bedrockConfig, 1)
	s := h.NewStream()
	body := `{"model":"haiku","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}`
	s.SendRequestHeaders(post("/v1/messages", [2]string{"x-api-key", "client-secret"}, [2]string{"anthropic-version", "2023-06-01"},
		[2]string{"content-length", strconv.Itoa(len(body))}), false)
	s.SendRequestBody([]byte(body), true)
	if b := s.Upstream().Body; !bytes.Contains(b, []byte(`"inferenceConfig":{"maxTokens":10}`)) {
		t.Errorf("upstream body %s", b)
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "403"}, {"content-type", "application/json"},
		{"x-amzn-errortype", "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/"}}, false)
	s.SendResponseBody([]byte(`{"message":"The request signature we calculated does not match the signature you provided."}`), true)
	down := s.Downstream()
	got := gjson.ParseBytes(down.Body)
	if down.Headers.Get(":status") != "403" || got.Get("type").Str != "error" || got.Get("error.type").Str != "permission_error" ||
		!strings.Contains(got.Get("error.message").Str, "signature") {
		t.Errorf("client got %s %s", down.Headers.Get(":status"), down.Body)
	}
}
