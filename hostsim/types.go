package hostsim

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// Headers is an ordered list of header entries, keys and values, as the SDK's [][2]string.
// A key may repeat. Pseudo-headers (":method", ":path", ":authority", ":status") are entries.
type Headers [][2]string

// Get returns the first value of key, compared case-insensitively.
func (h Headers) Get(key string) string {
	v, _ := h.Lookup(key)
	return v
}

// Lookup returns the first value of key and whether it is present.
func (h Headers) Lookup(key string) (string, bool) {
	for _, p := range h {
		if strings.EqualFold(p[0], key) {
			return p[1], true
		}
	}
	return "", false
}

// Values returns every value of key.
func (h Headers) Values(key string) []string {
	var vs []string
	for _, p := range h {
		if strings.EqualFold(p[0], key) {
			vs = append(vs, p[1])
		}
	}
	return vs
}

// fromPairs copies pairs into Headers (the same layout).
func fromPairs(p []headermap.Pair) Headers {
	if p == nil {
		return nil
	}
	return append(Headers(nil), p...)
}

// HTTPDoer performs HTTP requests (an *http.Client).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// LogLevel is a proxy-wasm log level.
type LogLevel uint32

// Log levels.
const (
	LevelTrace    = LogLevel(abi.LogTrace)
	LevelDebug    = LogLevel(abi.LogDebug)
	LevelInfo     = LogLevel(abi.LogInfo)
	LevelWarn     = LogLevel(abi.LogWarn)
	LevelError    = LogLevel(abi.LogError)
	LevelCritical = LogLevel(abi.LogCritical)
)

func (l LogLevel) String() string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	case LevelCritical:
		return "critical"
	}
	return fmt.Sprintf("LogLevel(%d)", uint32(l))
}

// LogEntry is one log line: from the plugin (proxy_log, or stdout/stderr through WASI) or from
// the host about the plugin (a failed VM, a restricted call).
type LogEntry struct {
	// Time is when the line was written, on the host's clock.
	Time  time.Time
	Level LogLevel
	// Message is the plugin's text, without Envoy's "wasm log <name> <root_id> <vm_id>: " prefix.
	Message string
	// Worker is the worker index of the VM, -1 for the configuration canary and base VM.
	Worker int
	// ContextID is the active context when the line was written (0 for the VM context).
	ContextID uint32
	// RootID is the root_id of the plugin that context belongs to (the first plugin's for the
	// VM context).
	RootID string
	// Host is true for lines hostsim (standing for Envoy) wrote about the plugin.
	Host bool
}

// FilterStatus is what Envoy makes of a plugin callback's return value; NotCalled means the
// plugin was not called for that input (it was queued behind a pause, the stream had ended,
// or the filter is bypassed).
type FilterStatus int

// Filter statuses (Envoy's Http::Filter*Status values a wasm filter can produce).
const (
	NotCalled FilterStatus = iota
	Continue
	// StopIteration is a trailers callback's pause, and a headers callback's Stop under
	// Config.AllowOnHeadersStopIteration.
	StopIteration
	// StopAllIterationAndBuffer is a headers callback's 3.
	StopAllIterationAndBuffer
	// StopAllIterationAndWatermark is a headers callback's pause (the SDK's types.ActionPause).
	StopAllIterationAndWatermark
	// StopIterationAndBuffer is a body callback's pause: Envoy buffers, the next call sees all.
	StopIterationAndBuffer
	StopIterationAndWatermark
	StopIterationNoBuffer
)

var filterStatusNames = [...]string{"NotCalled", "Continue", "StopIteration",
	"StopAllIterationAndBuffer", "StopAllIterationAndWatermark", "StopIterationAndBuffer",
	"StopIterationAndWatermark", "StopIterationNoBuffer"}

func (s FilterStatus) String() string {
	if int(s) < len(filterStatusNames) {
		return filterStatusNames[s]
	}
	return fmt.Sprintf("FilterStatus(%d)", int(s))
}

// Message is one direction of a stream as it left the filter: what the upstream received
// (request) or what the client received (response).
type Message struct {
	Headers  Headers
	Body     []byte
	Trailers Headers
	// End reports that the end of the stream passed the filter.
	End bool
}

// LocalReply is a response the filter generated instead of the upstream's.
type LocalReply struct {
	Status  uint32
	Headers Headers
	Body    []byte
	// Details is Envoy's response code details ("wasm_fail_stream", "request_payload_too_large",
	// or the plugin's own, with whitespace replaced by underscores).
	Details    string
	GRPCStatus int32
}

// Callback records one call into the plugin.
type Callback struct {
	Name   string
	Args   []uint32
	Result uint32
	// Trapped reports that the call failed (the VM is now broken).
	Trapped bool
}

func (c Callback) String() string {
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteByte('(')
	for i, a := range c.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, a)
	}
	b.WriteByte(')')
	if c.Trapped {
		b.WriteString(" trapped")
	}
	return b.String()
}
