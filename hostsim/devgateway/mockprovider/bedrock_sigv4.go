package mockprovider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The Bedrock emulation checks AWS Signature Version 4 as AWS does, written here from AWS's
// signing documentation (the mock imports nothing of the filter's): the canonical request is
// rebuilt from the request as received — its escaped path encoded once more (services other
// than S3 sign it so), the sorted query, the signed headers' values, the SHA-256 of the body —
// and signed with the secret of the access key the Credential names.

// DefaultAWSSecret is the secret of every access key in Options.Keys when Options.AWSSecrets
// does not name the key.
const DefaultAWSSecret = "mock-aws-secret-key"

// maxSkew is how far x-amz-date may be from the server's clock.
const maxSkew = 15 * time.Minute

// sigError is a refused signature: Bedrock answers 403 with its exception name in
// x-amzn-ErrorType.
func sigError(exception, msg string) *apiError {
	e := brErr(http.StatusForbidden, exception, msg)
	return e
}

const sigMismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// verifySigV4 checks r's signature over body for service, accepting the access keys of s.
func verifySigV4(r *http.Request, body []byte, s *Server, service string) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return sigError("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	cred, signed, sig, ok := parseAuthorization(auth)
	if !ok {
		return sigError("IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization="+auth)
	}
	scope := strings.Split(cred, "/") // AKID/20150830/us-east-1/service/aws4_request
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return sigError("IncompleteSignatureException", "Credential should be scoped to a valid region. ")
	}
	secret, known := s.awsSecret(scope[0])
	if !known {
		return sigError("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if scope[3] != service {
		return sigError("InvalidSignatureException", "Credential should be scoped to correct service: '"+service+"'. ")
	}
	date := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", date)
	if err != nil || !strings.HasPrefix(date, scope[1]) {
		return sigError("IncompleteSignatureException", "Date must be in ISO-8601 'basic format'. Got '"+date+"'.")
	}
	if now := s.opts.Clock(); t.Before(now.Add(-maxSkew)) || t.After(now.Add(maxSkew)) {
		return sigError("InvalidSignatureException", "Signature expired: "+date+" is now earlier than "+now.UTC().Add(-maxSkew).Format("20060102T150405Z"))
	}
	names := strings.Split(signed, ";")
	if !slices.Contains(names, "host") || !slices.Contains(names, "x-amz-date") ||
		r.Header.Get("X-Amz-Security-Token") != "" && !slices.Contains(names, "x-amz-security-token") {
		return sigError("InvalidSignatureException", sigMismatch)
	}
	creq := canonicalRequest(r, names, signed, body)
	sum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + date + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, part := range scope[1:] {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, sts))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return sigError("InvalidSignatureException", sigMismatch+"\n\nThe Canonical String for this request should have been\n'"+creq+
			"'\n\nThe String-to-Sign should have been\n'"+sts+"'\n")
	}
	return nil
}

func (s *Server) awsSecret(keyID string) (string, bool) {
	if sec, ok := s.opts.AWSSecrets[keyID]; ok {
		return sec, true
	}
	if s.keys[keyID] {
		return DefaultAWSSecret, true
	}
	return "", false
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// parseAuthorization splits "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…".
func parseAuthorization(h string) (cred, signed, sig string, ok bool) {
	rest, found := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !found {
		return "", "", "", false
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	return cred, signed, sig, cred != "" && signed != "" && sig != ""
}

func canonicalRequest(r *http.Request, names []string, signed string, body []byte) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(uriEncode(r.URL.EscapedPath()) + "\n")
	b.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, n := range names {
		v := strings.Join(r.Header.Values(n), ",")
		if n == "host" {
			v = r.Host
		}
		b.WriteString(n + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	sum := sha256.Sum256(body)
	b.WriteString("\n" + signed + "\n" + hex.EncodeToString(sum[:]))
	return b.String()
}

// uriEncode percent-encodes every byte but A-Z a-z 0-9 - . _ ~ and '/'.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || c == '-' || c == '.' || c == '_' || c == '~' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

func canonicalQuery(q string) string {
	if q == "" {
		return ""
	}
	pairs := strings.Split(q, "&")
	for i, p := range pairs {
		if !strings.Contains(p, "=") {
			pairs[i] = p + "="
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}
