package calllog

// The values of Record.ErrorType: who failed the call.
const (
	ErrClient   = "client"   // the request was refused as the client made it (4xx)
	ErrThrottle = "throttle" // a throttle rule rejected it
	ErrProvider = "provider" // the upstream answered 429 or 5xx
	ErrGateway  = "gateway"  // the filter or the proxy failed it (local 5xx, no answer at all)
)

// Origin says where a call's status came from.
type Origin uint8

const (
	FromUpstream Origin = iota // the upstream's answer
	FromFilter                 // one of the filter's local replies
	FromThrottle               // the throttle's rejection (a local reply)
)

// ErrorType classifies a finished call by its status and origin; "" for a success. Status 0 means
// no response reached the client.
func ErrorType(status int, origin Origin) string {
	switch {
	case status == 0:
		return ErrGateway
	case status < 400:
		return ""
	case origin == FromThrottle:
		return ErrThrottle
	case origin == FromFilter && status >= 500:
		return ErrGateway
	case origin == FromFilter:
		return ErrClient
	case status == 429 || status >= 500:
		return ErrProvider
	}
	return ErrClient
}
