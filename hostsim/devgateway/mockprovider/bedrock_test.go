package mockprovider

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

const brHost = "bedrock-runtime.us-east-1.amazonaws.com"

// brPath is the Converse path of model, its id escaped as AWS's SDKs send it.
func brPath(model string, stream bool) string {
	p := "/model/" + strings.ReplaceAll(url.PathEscape(model), ":", "%3A") + "/converse"
	if stream {
		p += "-stream"
	}
	return p
}

// brRequest is a Converse request signed with DefaultKey / DefaultAWSSecret at now.
func brRequest(path, body string, now time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Host = brHost
	r.Header.Set("Content-Type", "application/json")
	signRequest(r, body, DefaultKey, DefaultAWSSecret, "us-east-1", now)
	return r
}

// signRequest signs r (content-type, host, x-amz-date) as a SigV4 client does.
func signRequest(r *http.Request, body, keyID, secret, region string, now time.Time) {
	date := now.UTC().Format("20060102T150405Z")
	r.Header.Set("X-Amz-Date", date)
	names := []string{"content-type", "host", "x-amz-date"}
	signed := strings.Join(names, ";")
	creq := canonicalRequest(r, names, signed, []byte(body))
	scope := date[:8] + "/" + region + "/bedrock/aws4_request"
	sum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, p := range strings.Split(scope, "/") {
		key = hmacSHA256(key, p)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+keyID+"/"+scope+", SignedHeaders="+signed+
		", Signature="+hex.EncodeToString(hmacSHA256(key, sts)))
}

// TestSigV4Suite: the verifier accepts the published SigV4 test suite's signatures (AKIDEXAMPLE,
// service "service", 20150830T123600Z) and refuses them altered.
func TestSigV4Suite(t *testing.T) {
	s := New(Bedrock, Options{AWSSecrets: map[string]string{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
		Clock: func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) }})
	for _, c := range []struct{ method, target, body, ctype, sig string }{
		{"GET", "/", "", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"GET", "/?Param2=value2&Param1=value1", "", "", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"POST", "/", "", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		{"POST", "/", "Param1=value1", "application/x-www-form-urlencoded", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
	} {
		for _, alter := range []bool{false, true} {
			r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
			r.Host = "example.amazonaws.com"
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			signed := "host;x-amz-date"
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
				signed = "content-type;" + signed
			}
			sig := c.sig
			if alter {
				sig = "0" + sig[1:]
			}
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders="+signed+", Signature="+sig)
			err := verifySigV4(r, []byte(c.body), s, "service")
			if (err == nil) == alter {
				t.Errorf("%s %s altered=%v: %v", c.method, c.target, alter, err)
			}
		}
	}
}

func TestBedrockConverse(t *testing.T) {
	model := "anthropic.claude-3-haiku-20240307-v1:0"
	body := `{"messages":[{"role":"user","content":[{"text":"call tool get_weather {\"city\":\"Paris\"}"}]}],
		"system":[{"text":"be brief"}],"inferenceConfig":{"maxTokens":100,"temperature":0.5},
		"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"auto":{}}}}`
	w := serve(t, Bedrock, brRequest(brPath(model, false), body, fixedClock()))
	out := gjson.Parse(w.Body.String())
	if w.Code != 200 || out.Get("stopReason").Str != "tool_use" || out.Get("output.message.content.0.toolUse.input.city").Str != "Paris" ||
		out.Get("usage.inputTokens").Int() == 0 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	reqs := New(Bedrock, testOptions())
	rec := httptest.NewRecorder()
	reqs.ServeHTTP(rec, brRequest(brPath(model, true), `{"messages":[{"role":"user","content":[{"text":"Hello there"}]}]}`, fixedClock()))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("stream: %d %s", rec.Code, rec.Body)
	}
	if got := reqs.Requests()[0].Path; got != "/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream" {
		t.Errorf("recorded path %q", got)
	}
	var text []string
	var types []string
	for b := rec.Body.Bytes(); len(b) > 0; {
		total := int(binary.BigEndian.Uint32(b))
		hl := int(binary.BigEndian.Uint32(b[4:]))
		if crc32.ChecksumIEEE(b[:8]) != binary.BigEndian.Uint32(b[8:]) || crc32.ChecksumIEEE(b[:total-4]) != binary.BigEndian.Uint32(b[total-4:]) {
			t.Fatal("bad CRC")
		}
		hs := string(b[12 : 12+hl])
		i := strings.Index(hs, ":event-type")
		n := int(binary.BigEndian.Uint16([]byte(hs[i+12 : i+14])))
		types = append(types, hs[i+14:i+14+n])
		if t := gjson.GetBytes(b[12+hl:total-4], "delta.text"); t.Exists() {
			text = append(text, t.Str)
		}
		b = b[total:]
	}
	if strings.Join(text, "") != "mock reply to: Hello there" || types[0] != "messageStart" || types[len(types)-1] != "metadata" ||
		types[len(types)-2] != "messageStop" {
		t.Errorf("stream events %v, text %q", types, text)
	}
}

func TestBedrockRefusals(t *testing.T) {
	path := brPath("m", false)
	ok := `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`
	expired := brRequest(path, ok, fixedClock().Add(-time.Hour))
	tampered := brRequest(path, ok, fixedClock())
	tampered.Body = http.NoBody
	tampered.Body = httptest.NewRequest("POST", path, strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"ho"}]}]}`)).Body
	unknownKey := httptest.NewRequest("POST", path, strings.NewReader(ok))
	unknownKey.Host = brHost
	unknownKey.Header.Set("Content-Type", "application/json")
	signRequest(unknownKey, ok, "AKIDUNKNOWN", "x", "us-east-1", fixedClock())
	wrongSecret := httptest.NewRequest("POST", path, strings.NewReader(ok))
	wrongSecret.Host = brHost
	wrongSecret.Header.Set("Content-Type", "application/json")
	signRequest(wrongSecret, ok, DefaultKey, "not-the-secret", "us-east-1", fixedClock())
	unsigned := httptest.NewRequest("POST", path, strings.NewReader(ok))
	for name, c := range map[string]struct {
		r        *http.Request
		status   int
		errType  string
		contains string
	}{
		"unsigned":                {unsigned, 403, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		"wrong secret":            {wrongSecret, 403, "InvalidSignatureException", "signature we calculated does not match"},
		"body changed":            {tampered, 403, "InvalidSignatureException", "signature we calculated does not match"},
		"unknown key":             {unknownKey, 403, "UnrecognizedClientException", "security token included in the request is invalid"},
		"expired":                 {expired, 403, "InvalidSignatureException", "Signature expired"},
		"unknown field":           {brRequest(path, `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"model":"m"}`, fixedClock()), 400, "ValidationException", "extraneous key [model]"},
		"assistant first":         {brRequest(path, `{"messages":[{"role":"assistant","content":[{"text":"hi"}]}]}`, fixedClock()), 400, "ValidationException", "must start with a user message"},
		"blank text":              {brRequest(path, `{"messages":[{"role":"user","content":[{"text":""}]}]}`, fixedClock()), 400, "ValidationException", "is blank"},
		"temperature":             {brRequest(path, `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"temperature":2}}`, fixedClock()), 400, "ValidationException", "inferenceConfig.temperature"},
		"tool use without config": {brRequest(path, `{"messages":[{"role":"user","content":[{"text":"hi"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"t","name":"f","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":"x"}]}}]}]}`, fixedClock()), 400, "ValidationException", "toolConfig field must be defined"},
	} {
		w := serve(t, Bedrock, c.r)
		if w.Code != c.status || !strings.HasPrefix(w.Header().Get("X-Amzn-Errortype"), c.errType+":") || !strings.Contains(gjson.Get(w.Body.String(), "message").Str, c.contains) {
			t.Errorf("%s: %d %s %s", name, w.Code, w.Header().Get("X-Amzn-Errortype"), w.Body)
		}
	}
}
