package devgateway

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestRedactConfigHidesProviderKeys(t *testing.T) {
	doc := `{"providers":{"oa":{"type":"openai","cluster":"c","api_key":"sk-one","api_keys":["sk-two","sk-three"]},
	  "gem":{"type":"gemini","cluster":"g","api_keys":["AIza-four"]},
	  "br":{"type":"bedrock","cluster":"b","region":"us-east-1","access_key_id":"AKID","secret_access_key":"aws-secret","session_token":"aws-token"}},
	  "models":{"routes":{"m":"oa"}},"throttle":{"rules":[{"name":"r","key":"header:x-api-key","rate":"1/s","burst":1,"default_max_tokens":5}]},
	  "tenants":{"t":{"keys":[{"id":"k1","key_hash":"sha256:abc","client_secret":"s"}]}}}`
	out := string(redactConfig([]byte(doc)))
	for _, secret := range []string{"sk-one", "sk-two", "sk-three", "AIza-four", "aws-secret", "aws-token", "sha256:abc", `"s"`} {
		if strings.Contains(out, secret) {
			t.Errorf("%s shown: %s", secret, out)
		}
	}
	r := gjson.Parse(out)
	if !r.IsObject() || r.Get("providers.oa.api_keys.1").Str != "REDACTED" || r.Get("providers.oa.cluster").Str != "c" ||
		r.Get("throttle.rules.0.key").Str != "header:x-api-key" || r.Get("throttle.rules.0.default_max_tokens").Int() != 5 {
		t.Errorf("redacted config = %s", out)
	}
	if got := string(redactConfig([]byte(`{"api_key":`))); strings.Contains(got, "api_key") {
		t.Errorf("invalid JSON shown: %s", got)
	}
}
