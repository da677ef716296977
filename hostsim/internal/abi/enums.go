package abi

import "strconv"

// Status is a proxy-wasm WasmResult, the value every host function returns.
type Status uint32

// The statuses Envoy returns (proxy-wasm-cpp-host's WasmResult).
const (
	OK                   Status = 0
	NotFound             Status = 1
	BadArgument          Status = 2
	SerializationFailure Status = 3
	ParseFailure         Status = 4
	BadExpression        Status = 5
	InvalidMemoryAccess  Status = 6
	Empty                Status = 7
	CasMismatch          Status = 8
	ResultMismatch       Status = 9
	InternalFailure      Status = 10
	BrokenConnection     Status = 11
	Unimplemented        Status = 12
)

var statusNames = [...]string{"OK", "NOT_FOUND", "BAD_ARGUMENT", "SERIALIZATION_FAILURE",
	"PARSE_FAILURE", "BAD_EXPRESSION", "INVALID_MEMORY_ACCESS", "EMPTY", "CAS_MISMATCH",
	"RESULT_MISMATCH", "INTERNAL_FAILURE", "BROKEN_CONNECTION", "UNIMPLEMENTED"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Status(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// MapType selects a header map (WasmHeaderMapType).
type MapType uint32

// Header map types.
const (
	RequestHeaders              MapType = 0
	RequestTrailers             MapType = 1
	ResponseHeaders             MapType = 2
	ResponseTrailers            MapType = 3
	GrpcReceiveInitialMetadata  MapType = 4
	GrpcReceiveTrailingMetadata MapType = 5
	HttpCallResponseHeaders     MapType = 6
	HttpCallResponseTrailers    MapType = 7
	maxMapType                          = HttpCallResponseTrailers
)

// BufferType selects a buffer (WasmBufferType).
type BufferType uint32

// Buffer types.
const (
	HttpRequestBody       BufferType = 0
	HttpResponseBody      BufferType = 1
	NetworkDownstreamData BufferType = 2
	NetworkUpstreamData   BufferType = 3
	HttpCallResponseBody  BufferType = 4
	GrpcReceiveBuffer     BufferType = 5
	VMConfiguration       BufferType = 6
	PluginConfiguration   BufferType = 7
	CallData              BufferType = 8
	maxBufferType                    = CallData
)

// StreamType selects the direction proxy_continue_stream and proxy_close_stream act on.
type StreamType uint32

// Stream types.
const (
	StreamRequest    StreamType = 0
	StreamResponse   StreamType = 1
	StreamDownstream StreamType = 2
	StreamUpstream   StreamType = 3
	maxStreamType               = StreamUpstream
)

// MetricType is the kind of a custom metric.
type MetricType uint32

// Metric types.
const (
	Counter   MetricType = 0
	Gauge     MetricType = 1
	Histogram MetricType = 2
	maxMetric            = Histogram
)

// LogLevel is the proxy-wasm log level (spdlog's order).
type LogLevel uint32

// Log levels.
const (
	LogTrace    LogLevel = 0
	LogDebug    LogLevel = 1
	LogInfo     LogLevel = 2
	LogWarn     LogLevel = 3
	LogError    LogLevel = 4
	LogCritical LogLevel = 5
	// Levels above critical are BAD_ARGUMENT (the SDK enum's Max is critical).
)

// Version is the proxy-wasm ABI version a module declares by exporting a marker function.
type Version int

// ABI versions.
const (
	VersionUnknown Version = iota
	Version010
	Version020
	Version021
)

// VersionMarkers maps the marker export to its version, as cpp-host's BytecodeUtil does.
var VersionMarkers = map[string]Version{
	"proxy_abi_version_0_1_0": Version010,
	"proxy_abi_version_0_2_0": Version020,
	"proxy_abi_version_0_2_1": Version021,
}

func (v Version) String() string {
	switch v {
	case Version010:
		return "0.1.0"
	case Version020:
		return "0.2.0"
	case Version021:
		return "0.2.1"
	}
	return "unknown"
}
