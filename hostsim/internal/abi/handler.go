package abi

import (
	"github.com/stepgate/stepgate/hostsim/internal/buffer"
	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// Handler gives meaning to the host functions of one VM. The abi layer has already checked
// enum ranges and guest memory; byte slices passed in alias guest memory and are valid only
// until the method returns (copy what you keep), and data returned is copied into the guest.
// Methods run on the VM's goroutine, one at a time.
type Handler interface {
	// Count records one call of the host function numbered id (see Instantiate).
	Count(id int)
	// Allowed reports whether module.name may be called now (cpp-host's restricted callbacks).
	Allowed(module, name string) bool
	// Malloc asks the module's allocator for size bytes; false when it fails or traps.
	Malloc(size uint32) (addr uint32, ok bool)

	Log(level LogLevel, msg []byte) Status
	GetLogLevel() uint32
	GetStatus() (code uint32, msg string)
	GetProperty(path []byte) ([]byte, Status)
	SetProperty(path, value []byte) Status

	SendLocalResponse(code uint32, details, body []byte, headers []headermap.Pair, grpcStatus int32) Status
	ContinueStream(t StreamType) Status
	CloseStream(t StreamType) Status

	GetSharedData(key []byte) ([]byte, uint32, Status)
	SetSharedData(key, value []byte, cas uint32) Status
	RegisterSharedQueue(name []byte) (uint32, Status)
	ResolveSharedQueue(vmID, name []byte) (uint32, Status)
	DequeueSharedQueue(token uint32) ([]byte, Status)
	EnqueueSharedQueue(token uint32, value []byte) Status

	GetHeaderMapValue(t MapType, key []byte) (string, Status)
	AddHeaderMapValue(t MapType, key, value []byte) Status
	ReplaceHeaderMapValue(t MapType, key, value []byte) Status
	RemoveHeaderMapValue(t MapType, key []byte) Status
	GetHeaderMapPairs(t MapType) ([]headermap.Pair, Status)
	SetHeaderMapPairs(t MapType, pairs []headermap.Pair) Status
	GetHeaderMapSize(t MapType) (uint32, Status)

	// GetBuffer returns the buffer of type t, or false when the context has none (NOT_FOUND).
	GetBuffer(t BufferType) (buffer.Buffer, bool)

	HTTPCall(cluster []byte, headers []headermap.Pair, body []byte, trailers []headermap.Pair, timeoutMillis uint32) (uint32, Status)
	SetTickPeriod(millis uint32) Status
	CurrentTimeNanos() uint64

	DefineMetric(t uint32, name []byte) (uint32, Status)
	IncrementMetric(id uint32, offset int64) Status
	RecordMetric(id uint32, value uint64) Status
	GetMetric(id uint32) (uint64, Status)

	SetEffectiveContext(id uint32) Status
	Done() Status
	// CallForeignFunction runs a host-registered function; found is false for unknown names.
	CallForeignFunction(name, args []byte) (result []byte, st Status, found bool)
	// ResolveDNS is Envoy's own env.envoy_resolve_dns.
	ResolveDNS(address []byte) (uint32, Status)
}
