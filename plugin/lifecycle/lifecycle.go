// Package lifecycle is the version and state of a published API (a route, a prompt): active,
// deprecated (answers carry Deprecation, Sunset and successor Link headers) or retired (answered
// 410 naming the successor). It parses the fields from the configuration and renders the headers;
// it knows neither the SDK nor the routes it describes.
package lifecycle

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
)

// State of a published API.
type State uint8

// States.
const (
	Active State = iota
	Deprecated
	Retired
)

var stateNames = [...]string{"active", "deprecated", "retired"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Fields are the configuration fields Parse reads; a section that embeds a lifecycle allows them.
var Fields = []string{"version", "state", "deprecated_at", "sunset", "successor"}

// Lifecycle is the version and state of one published API.
type Lifecycle struct {
	Version   string
	State     State
	Successor string // a path or URL of the API replacing this one
	// Headers are the response headers of a deprecated API, rendered once at configuration time.
	Headers [][2]string
}

// Parse reads the lifecycle fields of v, an object at path p. Dates are RFC 3339 timestamps.
func Parse(v gjson.Result, p string) (Lifecycle, error) {
	var l Lifecycle
	var err error
	if l.Version, err = str(v, p, "version"); err != nil {
		return l, err
	}
	if l.Successor, err = str(v, p, "successor"); err != nil {
		return l, err
	}
	st, err := str(v, p, "state")
	if err != nil {
		return l, err
	}
	if st != "" {
		if l.State, err = parseState(st, p+".state"); err != nil {
			return l, err
		}
	}
	dep, err := date(v, p, "deprecated_at")
	if err != nil {
		return l, err
	}
	sunset, err := date(v, p, "sunset")
	if err != nil {
		return l, err
	}
	if l.State == Active && (!dep.IsZero() || !sunset.IsZero()) {
		return l, fmt.Errorf("%s.state: \"active\" takes no deprecated_at or sunset (want \"deprecated\" or \"retired\")", p)
	}
	if l.State == Deprecated {
		l.Headers = headers(dep, sunset, l.Successor)
	}
	return l, nil
}

func parseState(s, p string) (State, error) {
	for i, name := range stateNames {
		if s == name {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("%s: unknown state %q (want active, deprecated or retired)", p, s)
}

// headers renders the deprecation headers: Deprecation is an RFC 9745 structured date
// ("@" and Unix seconds; "?1"-style booleans are not part of the RFC), Sunset an RFC 8594 HTTP
// date, Link the successor (RFC 8288 rel="successor-version").
func headers(dep, sunset time.Time, successor string) [][2]string {
	var h [][2]string
	if dep.IsZero() {
		dep = time.Unix(0, 0)
	}
	h = append(h, [2]string{"deprecation", "@" + strconv.FormatInt(dep.Unix(), 10)})
	if !sunset.IsZero() {
		h = append(h, [2]string{"sunset", sunset.UTC().Format(time.RFC1123[:len(time.RFC1123)-3] + "GMT")})
	}
	if successor != "" {
		h = append(h, [2]string{"link", "<" + successor + `>; rel="successor-version"`})
	}
	return h
}

// RetiredMessage is the text of a retired API's 410 answer.
func (l *Lifecycle) RetiredMessage(name string) string {
	msg := name + " is retired"
	if l.Version != "" {
		msg = name + " " + l.Version + " is retired"
	}
	if l.Successor != "" {
		msg += "; use " + l.Successor
	}
	return msg
}

func str(v gjson.Result, p, name string) (string, error) {
	f := v.Get(name)
	if !f.Exists() {
		return "", nil
	}
	if f.Type != gjson.String {
		return "", fmt.Errorf("%s.%s: must be a string, got %s", p, name, f.Raw)
	}
	return f.Str, nil
}

func date(v gjson.Result, p, name string) (time.Time, error) {
	s, err := str(v, p, name)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, errors.New(p + "." + name + ": want an RFC 3339 time like 2027-01-31T00:00:00Z, got " + strconv.Quote(s))
	}
	return t, nil
}
