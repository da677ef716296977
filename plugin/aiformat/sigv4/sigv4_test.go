package sigv4

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

type suiteCase struct {
	Name, Method, Path, Query, Body string
	Headers                         [][2]string
	Creq, Sts, Authz                string
}

type suite struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	Region, Service string
	Date            string
	Cases           []suiteCase
}

// signParts signs r and returns the canonical request and string to sign as well.
func signParts(s *Signer, r *Request, amzDate string) (auth, creq, sts string) {
	auth, n := s.sign(r, amzDate)
	return auth, string(s.buf[:n]), string(s.buf[n:])
}

// TestSuite checks the canonical request, string to sign and Authorization header against
// the published test suite.
func TestSuite(t *testing.T) {
	raw, err := os.ReadFile("testdata/suite.json")
	if err != nil {
		t.Fatal(err)
	}
	var s suite
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	signer := &Signer{Creds: Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey}, Region: s.Region, Service: s.Service}
	for _, c := range s.Cases {
		r := &Request{Method: c.Method, Path: c.Path, Query: c.Query, Headers: c.Headers, PayloadHash: PayloadHash([]byte(c.Body))}
		auth, creq, sts := signParts(signer, r, s.Date)
		if creq != c.Creq {
			t.Errorf("%s: canonical request\n%q\nwant\n%q", c.Name, creq, c.Creq)
		}
		if c.Sts != "" && sts != c.Sts {
			t.Errorf("%s: string to sign\n%q\nwant\n%q", c.Name, sts, c.Sts)
		}
		if auth != c.Authz {
			t.Errorf("%s: authorization\n%s\nwant\n%s", c.Name, auth, c.Authz)
		}
	}
}

// TestDoubleEncodedPath: services other than S3 sign the wire path encoded once more, so a
// Bedrock model id's ':' (sent as %3A) is signed as %253A.
func TestDoubleEncodedPath(t *testing.T) {
	got := string(AppendURI(nil, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"))
	if want := "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse"; got != want {
		t.Fatalf("canonical URI %s, want %s", got, want)
	}
}

// TestDerivedKeyCache: the key is derived again when the day changes, and only then.
func TestDerivedKeyCache(t *testing.T) {
	s := &Signer{Creds: Credentials{AccessKeyID: "AK", SecretAccessKey: "secret"}, Region: "us-east-1", Service: "bedrock"}
	r := &Request{Method: "POST", Path: "/", Headers: [][2]string{{"host", "h"}, {"x-amz-date", "20250101T000000Z"}}, PayloadHash: EmptyHash}
	s.Sign(r, "20250101T000000Z")
	k1 := &s.key[0]
	s.Sign(r, "20250101T235959Z")
	if &s.key[0] != k1 {
		t.Fatal("key derived again on the same day")
	}
	s.Sign(r, "20250102T000000Z")
	if &s.key[0] == k1 || s.keyDay != "20250102" {
		t.Fatal("key not derived again on a new day")
	}
	if want := DerivedKey("secret", "20250102", "us-east-1", "bedrock"); string(want) != string(s.key) {
		t.Fatal("cached key differs from a fresh derivation")
	}
}

// TestSessionToken: a token is one more signed header; the result is stable.
func TestSessionToken(t *testing.T) {
	s := &Signer{Creds: Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "tok"},
		Region: "us-east-1", Service: "service"}
	r := &Request{Method: "GET", Path: "/", PayloadHash: EmptyHash, Headers: [][2]string{
		{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}, {"x-amz-security-token", "tok"}}}
	_, creq, _ := signParts(s, r, "20150830T123600Z")
	want := "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:tok\n\nhost;x-amz-date;x-amz-security-token\n" + EmptyHash
	if creq != want {
		t.Fatalf("canonical request\n%q\nwant\n%q", creq, want)
	}
}

func TestAmzDate(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 999, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 1, 2, 3, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC),
	} {
		if got, want := AmzDate(tm.UnixNano()), tm.Format("20060102T150405Z"); got != want {
			t.Errorf("AmzDate(%v) = %s, want %s", tm, got, want)
		}
	}
}

func FuzzAmzDate(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(1440938160000000000))
	f.Fuzz(func(t *testing.T, n int64) {
		if n < -1e18 || n > 7e18 {
			return
		}
		if got, want := AmzDate(n), time.Unix(0, n).UTC().Format("20060102T150405Z"); got != want {
			t.Fatalf("AmzDate(%d) = %s, want %s", n, got, want)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	body := make([]byte, 1024)
	s := &Signer{Creds: Credentials{AccessKeyID: "AK", SecretAccessKey: "secret"}, Region: "us-east-1", Service: "bedrock"}
	r := &Request{Method: "POST", Path: "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", Headers: [][2]string{
		{"content-type", "application/json"}, {"host", "bedrock-runtime.us-east-1.amazonaws.com"},
		{"x-amz-content-sha256", ""}, {"x-amz-date", "20250101T000000Z"}}}
	b.ReportAllocs()
	for b.Loop() {
		r.PayloadHash = PayloadHash(body)
		r.Headers[2][1] = r.PayloadHash
		s.Sign(r, "20250101T000000Z")
	}
}
