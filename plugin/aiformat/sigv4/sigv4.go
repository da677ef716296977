// Package sigv4 signs HTTP requests with AWS Signature Version 4 (HMAC-SHA256), as AWS services
// such as Bedrock require. It is plain Go (crypto/sha256, crypto/hmac) for the filter's VM: no
// SDK, no clock of its own (the caller passes the time) and no goroutines.
//
// What it signs is what the caller lists: the request's method, its path as sent on the wire, its
// query, the headers to sign and the payload's SHA-256. The derived signing key depends only on
// the secret, the day, the region and the service, so a Signer keeps the last one and recomputes
// it once a day.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
)

// Algorithm is the name SigV4 puts in the string to sign and the Authorization header.
const Algorithm = "AWS4-HMAC-SHA256"

// EmptyHash is the hex SHA-256 of an empty payload.
const EmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Credentials are an AWS access key pair and, for temporary credentials, a session token.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // sent as x-amz-security-token (signed) when set
}

// Request is what a signature covers.
type Request struct {
	Method string
	// Path is the path as it goes on the wire (already percent-encoded where needed). Services
	// other than S3 sign it encoded once more, so "%3A" is signed as "%253A".
	Path  string
	Query string // without '?'; pairs are sorted for signing
	// Headers are the headers to sign, host included. Names are matched case-insensitively;
	// values are trimmed and their inner runs of spaces folded, as SigV4 requires.
	Headers [][2]string
	// PayloadHash is the lower-case hex SHA-256 of the body (EmptyHash for none).
	PayloadHash string
}

// Signer signs for one set of credentials, region and service, caching the derived key of the
// last day it signed on. It is not safe for concurrent use (one per VM).
type Signer struct {
	Creds   Credentials
	Region  string
	Service string

	keyDay string
	key    []byte
	mac    hash.Hash // HMAC with the derived key, reset per signature
	sum    hash.Hash
	buf    []byte
}

// Sign returns the Authorization header value for r at amzDate, the request's x-amz-date
// ("20060102T150405Z", which must also be among r.Headers).
func (s *Signer) Sign(r *Request, amzDate string) string {
	auth, _ := s.sign(r, amzDate)
	return auth
}

// sign also returns where the string to sign starts in s.buf, after the canonical request
// (for tests); both stay in s.buf until the next call.
func (s *Signer) sign(r *Request, amzDate string) (auth string, creqLen int) {
	if len(amzDate) < 8 {
		amzDate = "00000000T000000Z"
	}
	day := amzDate[:8]
	s.deriveKey(day)
	b, signed := appendCanonical(s.buf[:0], r)
	creqLen = len(b)
	if s.sum == nil {
		s.sum = sha256.New()
	}
	s.sum.Reset()
	s.sum.Write(b)
	var digest [sha256.Size]byte
	b = append(b, Algorithm+"\n"...)
	b = append(b, amzDate...)
	b = append(b, '\n')
	scope := len(b)
	b = append(b, day...)
	b = append(b, '/')
	b = append(b, s.Region...)
	b = append(b, '/')
	b = append(b, s.Service...)
	b = append(b, "/aws4_request"...)
	scopeEnd := len(b)
	b = append(b, '\n')
	b = hex.AppendEncode(b, s.sum.Sum(digest[:0]))
	s.mac.Reset()
	s.mac.Write(b[creqLen:])
	sig := s.mac.Sum(digest[:0])
	out := make([]byte, 0, 64+len(s.Creds.AccessKeyID)+scopeEnd-scope+len(signed)+2*sha256.Size)
	out = append(out, Algorithm+" Credential="...)
	out = append(out, s.Creds.AccessKeyID...)
	out = append(out, '/')
	out = append(out, b[scope:scopeEnd]...)
	out = append(out, ", SignedHeaders="...)
	out = append(out, signed...)
	out = append(out, ", Signature="...)
	out = hex.AppendEncode(out, sig)
	s.buf = b
	return string(out), creqLen
}

// deriveKey computes HMAC("AWS4"+secret, day) → region → service → "aws4_request", once a day.
func (s *Signer) deriveKey(day string) {
	if s.key != nil && s.keyDay == day {
		return
	}
	k := hmacSum([]byte("AWS4"+s.Creds.SecretAccessKey), day)
	k = hmacSum(k, s.Region)
	k = hmacSum(k, s.Service)
	k = hmacSum(k, "aws4_request")
	s.key, s.keyDay = k, day
	s.mac = hmac.New(sha256.New, k)
}

func hmacSum(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// DerivedKey is the signing key of secret for day ("20060102"), region and service.
func DerivedKey(secret, day, region, service string) []byte {
	var s Signer
	s.Creds.SecretAccessKey, s.Region, s.Service = secret, region, service
	s.deriveKey(day)
	return s.key
}

// appendCanonical appends the canonical request of r and returns the signed-headers list
// (a sub-slice of the result).
func appendCanonical(b []byte, r *Request) ([]byte, []byte) {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = AppendURI(b, r.Path)
	b = append(b, '\n')
	b = appendQuery(b, r.Query)
	b = append(b, '\n')
	hs := sortedHeaders(r.Headers)
	for _, h := range hs {
		b = appendLower(b, h[0])
		b = append(b, ':')
		b = appendValue(b, h[1])
		b = append(b, '\n')
	}
	b = append(b, '\n')
	start := len(b)
	for i, h := range hs {
		if i > 0 {
			b = append(b, ';')
		}
		b = appendLower(b, h[0])
	}
	end := len(b)
	b = append(b, '\n')
	b = append(b, r.PayloadHash...)
	return b, b[start:end:end]
}

// sortedHeaders returns hs ordered by lower-cased name; a list already in order (the filter's
// own) is returned as it is, without allocating.
func sortedHeaders(hs [][2]string) [][2]string {
	less := func(a, b [2]string) int { return strings.Compare(strings.ToLower(a[0]), strings.ToLower(b[0])) }
	if slices.IsSortedFunc(hs, less) {
		return hs
	}
	out := slices.Clone(hs)
	slices.SortStableFunc(out, less)
	return out
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendValue appends a header value trimmed, with runs of spaces folded to one.
func appendValue(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	return b
}

// AppendURI appends path with every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~) and '/'
// percent-encoded, as SigV4 encodes the canonical URI; an empty path is "/".
func AppendURI(b []byte, path string) []byte {
	if path == "" {
		return append(b, '/')
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '/' || unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return b
}

const upperHex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// appendQuery appends the query's pairs sorted by name, then value ("k" alone becomes "k=").
// Names and values are taken as already encoded.
func appendQuery(b []byte, q string) []byte {
	if q == "" {
		return b
	}
	pairs := strings.Split(q, "&")
	for i, p := range pairs {
		if !strings.Contains(p, "=") {
			pairs[i] = p + "="
		}
	}
	slices.SortFunc(pairs, func(x, y string) int {
		xk, xv, _ := strings.Cut(x, "=")
		yk, yv, _ := strings.Cut(y, "=")
		if c := strings.Compare(xk, yk); c != 0 {
			return c
		}
		return strings.Compare(xv, yv)
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p...)
	}
	return b
}

// PayloadHash returns the lower-case hex SHA-256 of body.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// AmzDate formats a time in nanoseconds since the Unix epoch as x-amz-date ("20060102T150405Z").
// It is written by hand: time.Format is several times slower inside the VM.
func AmzDate(nanos int64) string {
	secs := nanos / 1e9
	if nanos < 0 && nanos%1e9 != 0 {
		secs--
	}
	days := secs / 86400
	rem := secs % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	y, m, d := civil(days)
	var out [16]byte
	put := func(i, n, w int) {
		for j := i + w - 1; j >= i; j-- {
			out[j] = byte('0' + n%10)
			n /= 10
		}
	}
	put(0, int(y), 4)
	put(4, m, 2)
	put(6, d, 2)
	out[8] = 'T'
	put(9, int(rem/3600), 2)
	put(11, int(rem/60%60), 2)
	put(13, int(rem%60), 2)
	out[15] = 'Z'
	return string(out[:])
}

// civil converts days since 1970-01-01 to a Gregorian date (Howard Hinnant's algorithm).
func civil(z int64) (y int64, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}
