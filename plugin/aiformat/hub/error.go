package hub

import "strconv"

// ErrorKind classifies an error independently of any dialect's type names.
type ErrorKind uint8

// Error kinds, each with a natural HTTP status (see StatusFor).
const (
	KindInvalidRequest ErrorKind = iota // 400
	KindAuthentication                  // 401
	KindPermission                      // 403
	KindNotFound                        // 404
	KindTooLarge                        // 413
	KindRateLimit                       // 429
	KindServer                          // 500
	KindOverloaded                      // 503 (Anthropic: 529)
	KindTimeout                         // 504
)

// Error is an error in neutral form: our own validation errors and provider errors decoded
// from their dialect. Message is plain text (not a JSON literal).
type Error struct {
	Status  int
	Kind    ErrorKind
	Message string
	Param   string // the offending request field, when known
	Code    string // a machine-readable code for dialects that have one (OpenAI's "model_not_found")
}

func (e *Error) Error() string { return strconv.Itoa(e.Status) + " " + e.Message }

// Invalid returns a 400 invalid-request error naming the field.
func Invalid(param, msg string) *Error {
	m := msg
	if param != "" {
		m = param + ": " + msg
	}
	return &Error{Status: 400, Kind: KindInvalidRequest, Message: m, Param: param}
}

// KindForStatus classifies an HTTP status.
func KindForStatus(status int) ErrorKind {
	switch {
	case status == 401:
		return KindAuthentication
	case status == 403:
		return KindPermission
	case status == 404:
		return KindNotFound
	case status == 413:
		return KindTooLarge
	case status == 429:
		return KindRateLimit
	case status == 503 || status == 529:
		return KindOverloaded
	case status == 504:
		return KindTimeout
	case status >= 500:
		return KindServer
	}
	return KindInvalidRequest
}

// StatusFor is the neutral status of a kind (dialects may adjust it, as Anthropic's 529).
func StatusFor(k ErrorKind) int {
	switch k {
	case KindAuthentication:
		return 401
	case KindPermission:
		return 403
	case KindNotFound:
		return 404
	case KindTooLarge:
		return 413
	case KindRateLimit:
		return 429
	case KindServer:
		return 500
	case KindOverloaded:
		return 503
	case KindTimeout:
		return 504
	}
	return 400
}
