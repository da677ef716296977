package mcp

import (
	"strings"
	"unicode/utf8"
)

// Kind is what a JSON-RPC message is.
type Kind uint8

const (
	Invalid      Kind = iota // not a valid JSON-RPC 2.0 message: answered with InvalidRequest
	Request                  // a method call with an id: it expects an answer
	Notification             // a method call without an id: nothing answers it
	Response                 // a result or error, sent by the client to a server's request
)

var kindNames = [...]string{"invalid", "request", "notification", "response"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(?)"
}

// The methods the gateway looks into.
const (
	MethodToolsCall = "tools/call"
	MethodToolsList = "tools/list"
)

// Message is one JSON-RPC message of a request body.
type Message struct {
	Kind Kind
	// ID is the raw JSON of the id (a string with its quotes, or a number), nil when absent or
	// unreadable; answers echo it byte for byte.
	ID     []byte
	Method string
	// Tool is params.name of a tools/call request ("" when absent).
	Tool string
	// Raw is the message's bytes within the body, to forward it unchanged.
	Raw []byte
	// Reason says why an Invalid message is invalid, for the error's message.
	Reason string
}

// Body is a parsed POST body: one message or a batch.
type Body struct {
	Batch    bool
	Messages []Message
}

// Parse reads a request body. A body that is not JSON is a parse error (the gateway answers
// ParseError); a well-formed body whose messages break JSON-RPC yields Invalid messages. An empty
// batch is a batch with no messages (JSON-RPC answers it with one InvalidRequest). Parse reuses
// dst's storage.
func Parse(body []byte, dst []Message) (Body, error) {
	s := scanner{b: body}
	s.ws()
	out := Body{Messages: dst[:0]}
	if s.peek() == '[' {
		out.Batch = true
		s.i++
		s.ws()
		if s.peek() == ']' {
			s.i++
		} else {
			for {
				s.ws()
				m, err := parseMessage(&s)
				if err != nil {
					return Body{}, err
				}
				out.Messages = append(out.Messages, m)
				s.ws()
				if s.peek() == ',' {
					s.i++
					continue
				}
				if s.peek() != ']' {
					return Body{}, errSyntax
				}
				s.i++
				break
			}
		}
	} else {
		m, err := parseMessage(&s)
		if err != nil {
			return Body{}, err
		}
		out.Messages = append(out.Messages, m)
	}
	s.ws()
	if s.i != len(body) {
		return Body{}, errSyntax
	}
	return out, nil
}

// members of a message the parser reads; a name equal to one of these but for case, or a member
// given twice, makes the message ambiguous.
const (
	mJSONRPC = 1 << iota
	mID
	mMethod
	mParams
	mResult
	mError
)

var memberNames = [...]string{"jsonrpc", "id", "method", "params", "result", "error"}

// parseMessage reads one message at s.i. Only a JSON syntax error is an error; anything else
// that is wrong gives an Invalid message.
func parseMessage(s *scanner) (Message, error) {
	start := s.i
	if s.peek() != '{' {
		if err := s.value(0); err != nil {
			return Message{}, err
		}
		return Message{Kind: Invalid, Raw: s.b[start:s.i], Reason: "a message must be an object"}, nil
	}
	var (
		seen                 int
		reason               string
		version, id, method  []byte
		methodEsc, versionOK bool
		params               []byte
	)
	err := s.object(0, func(key []byte, esc bool, vs, ve int) {
		if esc {
			key = []byte(unescape(key))
		}
		bit, exact := memberBit(key)
		if bit == 0 {
			return
		}
		if !exact || seen&bit != 0 {
			reason = "member " + quote(string(key)) + " is ambiguous (repeated, or differs only by case)"
			return
		}
		seen |= bit
		v := s.b[vs:ve]
		switch bit {
		case mJSONRPC:
			version = v
		case mID:
			id = v
		case mMethod:
			method = v
			methodEsc = len(v) > 0 && v[0] == '"' && hasEscape(v)
		case mParams:
			params = v
		}
	})
	if err != nil {
		return Message{}, err
	}
	m := Message{Raw: s.b[start:s.i]}
	versionOK = string(version) == `"2.0"`
	if id != nil && (id[0] == '"' || id[0] == '-' || id[0] >= '0' && id[0] <= '9') {
		m.ID = id
	}
	switch {
	case reason != "":
	case !versionOK:
		reason = `"jsonrpc" must be "2.0"`
	case id != nil && m.ID == nil:
		reason = `"id" must be a string or a number`
	case method != nil && method[0] != '"':
		reason = `"method" must be a string`
	case method != nil:
		m.Method = methodName(method, methodEsc)
		m.Kind = Notification
		if id != nil {
			m.Kind = Request
		}
		if !utf8.ValidString(m.Method) {
			reason, m.Kind = `"method" is not valid UTF-8`, Invalid
		}
	case seen&(mResult|mError) != 0 && id != nil && seen&(mResult|mError) != mResult|mError:
		m.Kind = Response
	default:
		reason = `a message needs a "method", or an "id" with a "result" or an "error"`
	}
	if reason == "" && m.Method == MethodToolsCall { // a notification too: a server might run it
		reason = m.readTool(params)
	}
	if reason != "" {
		m.Kind, m.Reason = Invalid, reason
	}
	return m, nil
}

// readTool reads params.name of a tools/call; it returns why it cannot.
func (m *Message) readTool(params []byte) string {
	if len(params) == 0 || params[0] != '{' {
		return `tools/call needs "params" with the tool's "name"`
	}
	// params was validated with the message: its members are walked without validating again
	// (arguments can be large).
	s := scanner{b: params, i: 1}
	var name []byte
	var nameEsc bool
	reason := ""
	for {
		s.ws()
		if s.peek() != '"' {
			break // '}'
		}
		key, esc, _ := s.str()
		s.ws()
		s.i++ // ':'
		s.ws()
		vs := s.i
		s.skip()
		k := string(key) // compared only: no allocation
		if esc {
			k = unescape(key)
		}
		if len(k) >= 4 && len(k) <= 12 && strings.EqualFold(k, "name") {
			if k != "name" || name != nil {
				reason = `member "params.name" is ambiguous (repeated, or differs only by case)`
			}
			name, nameEsc = params[vs:s.i], hasEscape(params[vs:s.i])
		}
		s.ws()
		if s.peek() != ',' {
			break
		}
		s.i++
	}
	switch {
	case reason != "":
		return reason
	case len(name) == 0 || name[0] != '"':
		return `tools/call needs "params" with the tool's "name" as a string`
	}
	m.Tool = stringValue(name, nameEsc)
	if !utf8.ValidString(m.Tool) {
		m.Tool = ""
		return `"params.name" is not valid UTF-8`
	}
	return ""
}

func memberBit(name []byte) (bit int, exact bool) {
	switch string(name) { // no allocation: the common, exact names first
	case "jsonrpc":
		return mJSONRPC, true
	case "id":
		return mID, true
	case "method":
		return mMethod, true
	case "params":
		return mParams, true
	case "result":
		return mResult, true
	case "error":
		return mError, true
	}
	for i, n := range memberNames {
		// EqualFold folds as encoding/json does, "ſ" and "K" (Kelvin) included.
		if len(name) >= len(n) && len(name) <= 3*len(n) && strings.EqualFold(string(name), n) {
			return 1 << i, false
		}
	}
	return 0, false
}

// knownMethods are returned without allocating a string each time.
var knownMethods = [...]string{MethodToolsCall, MethodToolsList, "initialize", "ping",
	"notifications/initialized", "resources/read", "prompts/get", "resources/list", "prompts/list"}

// methodName is the text of a validated "method" value.
func methodName(v []byte, escaped bool) string {
	if !escaped {
		inner := v[1 : len(v)-1]
		for _, k := range knownMethods {
			if string(inner) == k {
				return k
			}
		}
	}
	return stringValue(v, escaped)
}

// stringValue is the text of a validated JSON string value (with its quotes).
func stringValue(v []byte, escaped bool) string {
	inner := v[1 : len(v)-1]
	if escaped {
		return unescape(inner)
	}
	return string(inner)
}

func hasEscape(v []byte) bool {
	for _, c := range v {
		if c == '\\' {
			return true
		}
	}
	return false
}

// quote renders a name for a message, short and printable.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
