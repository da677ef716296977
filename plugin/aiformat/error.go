package aiformat

import "github.com/stepgate/stepgate/plugin/aiformat/hub"

// Error is a failure to answer locally: Status and a JSON Body already written in the client's
// dialect. Message is the plain text, for logs.
type Error struct {
	Status  int
	Body    []byte
	Message string
}

func (e *Error) Error() string { return e.Message }

// ContentType of every error body.
const ContentType = "application/json"

// NewError renders an error in the client's dialect with the conventional type for the status
// (for the filter's own refusals: unknown key, throttled, retired route...).
func NewError(d Dialect, status int, msg string) *Error {
	return render(d, &hub.Error{Status: status, Kind: hub.KindForStatus(status), Message: msg})
}

func render(d Dialect, he *hub.Error) *Error {
	status, body := d.codec().appendError(nil, he)
	return &Error{Status: status, Body: body, Message: he.Message}
}
