package mockprovider

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Fault describes how a Server misbehaves for one request. Fields combine: a Delay with a Status
// answers the error late; Break or Malformed apply to an otherwise successful answer.
type Fault struct {
	// Status, when non-zero, answers this HTTP status (429, 500, 503, 529 …) with the provider's
	// own error body instead of serving the request.
	Status int `json:"status,omitempty"`
	// RetryAfter sets Retry-After (seconds, rounded up) on a Status answer; Azure also gets
	// retry-after-ms and Gemini a google.rpc.RetryInfo detail.
	RetryAfter time.Duration `json:"-"`
	// Message overrides the error message of a Status answer.
	Message string `json:"message,omitempty"`
	// Delay holds the response back before its first byte (a slow first byte).
	Delay time.Duration `json:"-"`
	// ChunkDelay pauses between the chunks of a stream (each chunk is flushed).
	ChunkDelay time.Duration `json:"-"`
	// Break cuts the connection mid-body: a stream after its first content chunk, a JSON answer
	// after half of its announced Content-Length. It panics with http.ErrAbortHandler, which a
	// net/http server turns into a dropped connection; an in-process caller of ServeHTTP (no
	// server) must recover that value itself.
	Break bool `json:"break,omitempty"`
	// Malformed sends syntactically broken JSON: half of the JSON body (with a matching
	// Content-Length), or a stream whose first content chunk carries truncated JSON.
	Malformed bool `json:"malformed,omitempty"`
	// HTML answers 200 with an HTML page instead of the answer, as a misrouted proxy or a
	// login wall does, to a streaming request as well.
	HTML bool `json:"html,omitempty"`
	// Empty answers 200 with an empty body (Content-Length: 0), to a streaming request as well.
	Empty bool `json:"empty,omitempty"`
}

// RateLimited is a 429 with Retry-After.
func RateLimited(retryAfter time.Duration) Fault { return Fault{Status: 429, RetryAfter: retryAfter} }

// ServerError is a 500 in the provider's shape.
func ServerError() Fault { return Fault{Status: 500} }

// Unavailable is a 503 in the provider's shape.
func Unavailable() Fault { return Fault{Status: 503} }

// SlowFirstByte delays the whole answer by d.
func SlowFirstByte(d time.Duration) Fault { return Fault{Delay: d} }

// BrokenStream cuts the connection in the middle of the body.
func BrokenStream() Fault { return Fault{Break: true} }

// MalformedJSON answers 200 with broken JSON.
func MalformedJSON() Fault { return Fault{Malformed: true} }

func (f Fault) isZero() bool { return f == Fault{} }

// String renders f in the ParseFault syntax.
func (f Fault) String() string {
	var parts []string
	if f.Status != 0 {
		p := strconv.Itoa(f.Status)
		if f.RetryAfter > 0 {
			p += "-retry-" + strconv.FormatInt(int64(ceilSeconds(f.RetryAfter)), 10)
		}
		parts = append(parts, p)
	}
	if f.Delay > 0 {
		parts = append(parts, "slow-"+strconv.FormatInt(f.Delay.Milliseconds(), 10))
	}
	if f.ChunkDelay > 0 {
		parts = append(parts, "drip-"+strconv.FormatInt(f.ChunkDelay.Milliseconds(), 10))
	}
	if f.Break {
		parts = append(parts, "broken")
	}
	if f.Malformed {
		parts = append(parts, "malformed")
	}
	if f.HTML {
		parts = append(parts, "html")
	}
	if f.Empty {
		parts = append(parts, "empty")
	}
	return strings.Join(parts, "+")
}

// ParseFault reads a fault spec, the form used by model names ("mock-fail-SPEC"), the x-mock-fault
// header and the "mock fault SPEC" text trigger. A spec is one or more of these, joined by "+":
//
//	NNN            answer HTTP status NNN (400-599) in the provider's error shape
//	NNN-retry-S    the same with Retry-After: S seconds
//	slow-MS        wait MS milliseconds before the first byte
//	drip-MS        wait MS milliseconds between stream chunks
//	broken         cut the connection mid-body
//	malformed      answer broken JSON
//	html           answer 200 with an HTML page
//	empty          answer 200 with an empty body
func ParseFault(spec string) (Fault, error) {
	var f Fault
	if strings.TrimSpace(spec) == "" {
		return f, fmt.Errorf("empty fault spec")
	}
	for _, part := range strings.Split(spec, "+") {
		if err := f.parsePart(strings.TrimSpace(part)); err != nil {
			return Fault{}, fmt.Errorf("fault spec %q: %w", spec, err)
		}
	}
	if f.isZero() {
		return Fault{}, fmt.Errorf("fault spec %q does nothing", spec)
	}
	return f, nil
}

func (f *Fault) parsePart(p string) error {
	switch {
	case p == "broken":
		f.Break = true
	case p == "malformed":
		f.Malformed = true
	case p == "html":
		f.HTML = true
	case p == "empty":
		f.Empty = true
	case strings.HasPrefix(p, "slow-"):
		ms, err := strconv.Atoi(p[len("slow-"):])
		if err != nil || ms < 0 {
			return fmt.Errorf("%q: want slow-MILLISECONDS", p)
		}
		f.Delay = time.Duration(ms) * time.Millisecond
	case strings.HasPrefix(p, "drip-"):
		ms, err := strconv.Atoi(p[len("drip-"):])
		if err != nil || ms < 0 {
			return fmt.Errorf("%q: want drip-MILLISECONDS", p)
		}
		f.ChunkDelay = time.Duration(ms) * time.Millisecond
	default:
		code, rest, _ := strings.Cut(p, "-")
		status, err := strconv.Atoi(code)
		if err != nil || status < 400 || status > 599 {
			return fmt.Errorf("%q: want an HTTP status 400-599, slow-MS, drip-MS, broken, malformed, html or empty", p)
		}
		f.Status = status
		if rest != "" {
			secs, ok := strings.CutPrefix(rest, "retry-")
			n, err := strconv.Atoi(secs)
			if !ok || err != nil || n < 0 {
				return fmt.Errorf("%q: want NNN-retry-SECONDS", p)
			}
			f.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return nil
}

// faultFromModel finds a "mock-fail-SPEC" trigger in a model or deployment name. SPEC runs to the
// end of the name; "+" may be spelled "_" there because model names travel in URL paths.
func faultFromModel(model string) (Fault, bool) {
	i := strings.Index(model, "mock-fail-")
	if i < 0 {
		return Fault{}, false
	}
	spec := strings.ReplaceAll(model[i+len("mock-fail-"):], "_", "+")
	f, err := ParseFault(spec)
	if err != nil {
		return Fault{}, false
	}
	return f, true
}

// faultFromText finds a "mock fault SPEC" trigger at the start of the last user text.
func faultFromText(text string) (Fault, bool) {
	rest, ok := strings.CutPrefix(text, "mock fault ")
	if !ok {
		return Fault{}, false
	}
	spec, _, _ := strings.Cut(rest, "\n")
	f, err := ParseFault(strings.TrimSpace(spec))
	if err != nil {
		return Fault{}, false
	}
	return f, true
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// merge lays o over f: a later trigger adds to an earlier one.
func (f Fault) merge(o Fault) Fault {
	if o.Status != 0 {
		f.Status, f.RetryAfter, f.Message = o.Status, o.RetryAfter, o.Message
	}
	if o.Delay > 0 {
		f.Delay = o.Delay
	}
	if o.ChunkDelay > 0 {
		f.ChunkDelay = o.ChunkDelay
	}
	f.Break = f.Break || o.Break
	f.Malformed = f.Malformed || o.Malformed
	f.HTML = f.HTML || o.HTML
	f.Empty = f.Empty || o.Empty
	return f
}
