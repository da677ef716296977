package abi

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// Func describes one host function of module "env".
type Func struct {
	Name    string
	Params  []api.ValueType
	Results []api.ValueType
	fn      func(c call, s []uint64)
}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func ints(n int) []api.ValueType {
	p := make([]api.ValueType, n)
	for i := range p {
		p[i] = i32
	}
	return p
}

var status = []api.ValueType{i32}

// Stack slots hold i32 arguments in their low 32 bits only: wazero leaves the upper bits
// undefined, so every i32 argument goes through u32 before it is compared or used.

// call is one host function invocation: the handler and the guest memory.
type call struct {
	h   Handler
	mem api.Memory
}

func u32(v uint64) uint32 { return uint32(v) }

func (c call) read(ptr, size uint64) ([]byte, bool) { return c.mem.Read(u32(ptr), u32(size)) }

// copyOut copies data into memory the module allocates and stores address and size in the
// two return slots; empty data writes zeros without allocating (cpp-host's copyToPointerSize).
func (c call) copyOut(data []byte, ptrPtr, sizePtr uint64) bool {
	var addr uint32
	if len(data) > 0 {
		a, ok := c.h.Malloc(uint32(len(data)))
		if !ok || !c.mem.Write(a, data) {
			return false
		}
		addr = a
	}
	return c.mem.WriteUint32Le(u32(ptrPtr), addr) && c.mem.WriteUint32Le(u32(sizePtr), uint32(len(data)))
}

func (c call) copyOutString(data string, ptrPtr, sizePtr uint64) bool {
	var addr uint32
	if len(data) > 0 {
		a, ok := c.h.Malloc(uint32(len(data)))
		if !ok || !c.mem.WriteString(a, data) {
			return false
		}
		addr = a
	}
	return c.mem.WriteUint32Le(u32(ptrPtr), addr) && c.mem.WriteUint32Le(u32(sizePtr), uint32(len(data)))
}

func set(s []uint64, st Status) { s[0] = uint64(st) }

// Funcs lists module "env" for a module of ABI version v, as cpp-host's registerCallbacks
// does, plus Envoy's envoy_resolve_dns.
func Funcs(v Version) []Func {
	out := append([]Func(nil), common...)
	switch v {
	case Version020:
		out = append(out, continueStream, closeStream)
	case Version021:
		out = append(out, continueStream, closeStream, getLogLevel)
	}
	return out
}

// Instantiate registers module "env" for ABI version v in r; handlerOf finds the calling VM.
// Every call is counted (Handler.Count) under first + the function's index in Funcs(v).
func Instantiate(ctx context.Context, r wazero.Runtime, v Version, first int, handlerOf func(context.Context) Handler) error {
	b := r.NewHostModuleBuilder("env")
	for i, f := range Funcs(v) {
		f, id := f, first+i
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(
			func(ctx context.Context, mod api.Module, stack []uint64) {
				h := handlerOf(ctx)
				h.Count(id)
				if !h.Allowed("env", f.Name) {
					panic(RestrictedCallback("env." + f.Name))
				}
				f.fn(call{h, mod.Memory()}, stack)
			}), f.Params, f.Results).Export(f.Name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

var (
	continueStream = Func{"proxy_continue_stream", ints(1), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxStreamType) {
			set(s, BadArgument)
			return
		}
		set(s, c.h.ContinueStream(StreamType(s[0])))
	}}
	closeStream = Func{"proxy_close_stream", ints(1), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxStreamType) {
			set(s, BadArgument)
			return
		}
		set(s, c.h.CloseStream(StreamType(s[0])))
	}}
	getLogLevel = Func{"proxy_get_log_level", ints(1), status, func(c call, s []uint64) {
		if !c.mem.WriteUint32Le(u32(s[0]), c.h.GetLogLevel()) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}}
)

var common = []Func{
	{"pthread_equal", ints(2), status, func(_ call, s []uint64) {
		if u32(s[0]) == u32(s[1]) {
			s[0] = 1
		} else {
			s[0] = 0
		}
	}},
	{"emscripten_notify_memory_growth", ints(1), nil, func(call, []uint64) {}},
	{"proxy_log", ints(3), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(LogCritical) {
			set(s, BadArgument)
			return
		}
		msg, ok := c.read(s[1], s[2])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, c.h.Log(LogLevel(s[0]), msg))
	}},
	{"proxy_get_status", ints(3), status, func(c call, s []uint64) {
		code, msg := c.h.GetStatus()
		if !c.mem.WriteUint32Le(u32(s[0]), code) || !c.copyOutString(msg, s[1], s[2]) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_set_property", ints(4), status, func(c call, s []uint64) {
		path, ok1 := c.read(s[0], s[1])
		value, ok2 := c.read(s[2], s[3])
		if !ok1 || !ok2 {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, c.h.SetProperty(path, value))
	}},
	{"proxy_get_property", ints(4), status, func(c call, s []uint64) {
		path, ok := c.read(s[0], s[1])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		v, st := c.h.GetProperty(path)
		if st != OK {
			set(s, st)
			return
		}
		if !c.copyOut(v, s[2], s[3]) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_send_local_response", ints(8), status, func(c call, s []uint64) {
		details, ok1 := c.read(s[1], s[2])
		body, ok2 := c.read(s[3], s[4])
		pairs, ok3 := c.read(s[5], s[6])
		if !ok1 || !ok2 || !ok3 {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, c.h.SendLocalResponse(u32(s[0]), details, body, headermap.Unmarshal(pairs), int32(u32(s[7]))))
	}},
	{"proxy_get_shared_data", ints(5), status, func(c call, s []uint64) {
		key, ok := c.read(s[0], s[1])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		v, cas, st := c.h.GetSharedData(key)
		if st != OK {
			set(s, st)
			return
		}
		if !c.copyOut(v, s[2], s[3]) || !c.mem.WriteUint32Le(u32(s[4]), cas) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_set_shared_data", ints(5), status, func(c call, s []uint64) {
		key, ok1 := c.read(s[0], s[1])
		value, ok2 := c.read(s[2], s[3])
		if !ok1 || !ok2 {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, c.h.SetSharedData(key, value, u32(s[4])))
	}},
	{"proxy_register_shared_queue", ints(3), status, func(c call, s []uint64) {
		name, ok := c.read(s[0], s[1])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		tok, st := c.h.RegisterSharedQueue(name)
		if st != OK {
			set(s, st)
			return
		}
		if !c.mem.WriteUint32Le(u32(s[2]), tok) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_resolve_shared_queue", ints(5), status, func(c call, s []uint64) {
		vmID, ok1 := c.read(s[0], s[1])
		name, ok2 := c.read(s[2], s[3])
		if !ok1 || !ok2 {
			set(s, InvalidMemoryAccess)
			return
		}
		tok, st := c.h.ResolveSharedQueue(vmID, name)
		if st != OK {
			set(s, st)
			return
		}
		if !c.mem.WriteUint32Le(u32(s[4]), tok) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_dequeue_shared_queue", ints(3), status, func(c call, s []uint64) {
		v, st := c.h.DequeueSharedQueue(u32(s[0]))
		if st != OK {
			set(s, st)
			return
		}
		if !c.copyOut(v, s[1], s[2]) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_enqueue_shared_queue", ints(3), status, func(c call, s []uint64) {
		v, ok := c.read(s[1], s[2])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, c.h.EnqueueSharedQueue(u32(s[0]), v))
	}},
	{"proxy_get_header_map_value", ints(5), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxMapType) {
			set(s, BadArgument)
			return
		}
		key, ok := c.read(s[1], s[2])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		v, st := c.h.GetHeaderMapValue(MapType(s[0]), key)
		if st != OK {
			set(s, st)
			return
		}
		if !c.copyOutString(v, s[3], s[4]) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_add_header_map_value", ints(5), status, mapKeyValue(Handler.AddHeaderMapValue)},
	{"proxy_replace_header_map_value", ints(5), status, mapKeyValue(Handler.ReplaceHeaderMapValue)},
	{"proxy_remove_header_map_value", ints(3), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxMapType) {
			set(s, BadArgument)
			return
		}
		key, ok := c.read(s[1], s[2])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, c.h.RemoveHeaderMapValue(MapType(s[0]), key))
	}},
	{"proxy_get_header_map_pairs", ints(3), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxMapType) {
			set(s, BadArgument)
			return
		}
		pairs, st := c.h.GetHeaderMapPairs(MapType(s[0]))
		if st != OK {
			set(s, st)
			return
		}
		if len(pairs) == 0 {
			if !c.copyOut(nil, s[1], s[2]) {
				set(s, InvalidMemoryAccess)
				return
			}
			set(s, OK)
			return
		}
		size := headermap.Size(pairs)
		addr, ok := c.h.Malloc(uint32(size))
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		dst, ok := c.mem.Read(addr, uint32(size))
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		headermap.MarshalTo(dst, pairs) // straight into guest memory, no intermediate copy
		if !c.mem.WriteUint32Le(u32(s[1]), addr) || !c.mem.WriteUint32Le(u32(s[2]), uint32(size)) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_set_header_map_pairs", ints(3), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxMapType) {
			set(s, BadArgument)
			return
		}
		data, ok := c.read(s[1], s[2])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, c.h.SetHeaderMapPairs(MapType(s[0]), headermap.Unmarshal(data)))
	}},
	{"proxy_get_header_map_size", ints(2), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxMapType) {
			set(s, BadArgument)
			return
		}
		n, st := c.h.GetHeaderMapSize(MapType(s[0]))
		if st != OK {
			set(s, st)
			return
		}
		if !c.mem.WriteUint32Le(u32(s[1]), n) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_get_buffer_status", ints(3), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxBufferType) {
			set(s, BadArgument)
			return
		}
		buf, ok := c.h.GetBuffer(BufferType(s[0]))
		if !ok {
			set(s, NotFound)
			return
		}
		if !c.mem.WriteUint32Le(u32(s[1]), uint32(buf.Len())) || !c.mem.WriteUint32Le(u32(s[2]), 0) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_get_buffer_bytes", ints(5), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxBufferType) {
			set(s, BadArgument)
			return
		}
		buf, ok := c.h.GetBuffer(BufferType(s[0]))
		if !ok {
			set(s, NotFound)
			return
		}
		// Start and length are 32-bit, so cpp-host's overflow check (start > start+length in
		// 64 bits) can never fire here.
		if !c.copyOut(buf.Slice(uint64(u32(s[1])), uint64(u32(s[2]))), s[3], s[4]) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_set_buffer_bytes", ints(5), status, func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxBufferType) {
			set(s, BadArgument)
			return
		}
		buf, ok := c.h.GetBuffer(BufferType(s[0]))
		if !ok {
			set(s, NotFound)
			return
		}
		data, ok := c.read(s[3], s[4])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		if !buf.Write(uint64(u32(s[1])), uint64(u32(s[2])), data) {
			set(s, BadArgument)
			return
		}
		set(s, OK)
	}},
	{"proxy_http_call", ints(10), status, func(c call, s []uint64) {
		cluster, ok1 := c.read(s[0], s[1])
		headers, ok2 := c.read(s[2], s[3])
		body, ok3 := c.read(s[4], s[5])
		trailers, ok4 := c.read(s[6], s[7])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			set(s, InvalidMemoryAccess)
			return
		}
		// cpp-host writes a zero token first to validate the slot before starting the call,
		// then writes the token whatever the result.
		if !c.mem.WriteUint32Le(u32(s[9]), 0) {
			set(s, InvalidMemoryAccess)
			return
		}
		tok, st := c.h.HTTPCall(cluster, headermap.Unmarshal(headers), body, headermap.Unmarshal(trailers), u32(s[8]))
		c.mem.WriteUint32Le(u32(s[9]), tok)
		set(s, st)
	}},
	{"proxy_grpc_call", ints(12), status, unimplemented},
	{"proxy_grpc_stream", ints(9), status, unimplemented},
	{"proxy_grpc_close", ints(1), status, unimplemented},
	{"proxy_grpc_cancel", ints(1), status, unimplemented},
	{"proxy_grpc_send", ints(4), status, unimplemented},
	{"proxy_set_tick_period_milliseconds", ints(1), status, func(c call, s []uint64) {
		set(s, c.h.SetTickPeriod(u32(s[0])))
	}},
	{"proxy_get_current_time_nanoseconds", ints(1), status, func(c call, s []uint64) {
		if !c.mem.WriteUint64Le(u32(s[0]), c.h.CurrentTimeNanos()) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_define_metric", ints(4), status, func(c call, s []uint64) {
		name, ok := c.read(s[1], s[2])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		id, st := c.h.DefineMetric(u32(s[0]), name)
		if st != OK {
			set(s, st)
			return
		}
		if !c.mem.WriteUint32Le(u32(s[3]), id) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_increment_metric", []api.ValueType{i32, i64}, status, func(c call, s []uint64) {
		set(s, c.h.IncrementMetric(u32(s[0]), int64(s[1])))
	}},
	{"proxy_record_metric", []api.ValueType{i32, i64}, status, func(c call, s []uint64) {
		set(s, c.h.RecordMetric(u32(s[0]), s[1]))
	}},
	{"proxy_get_metric", ints(2), status, func(c call, s []uint64) {
		v, st := c.h.GetMetric(u32(s[0]))
		if st != OK {
			set(s, st)
			return
		}
		if !c.mem.WriteUint64Le(u32(s[1]), v) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
	{"proxy_set_effective_context", ints(1), status, func(c call, s []uint64) {
		set(s, c.h.SetEffectiveContext(u32(s[0])))
	}},
	{"proxy_done", nil, status, func(c call, s []uint64) { set(s, c.h.Done()) }},
	{"proxy_call_foreign_function", ints(6), status, func(c call, s []uint64) {
		name, ok1 := c.read(s[0], s[1])
		args, ok2 := c.read(s[2], s[3])
		if !ok1 || !ok2 {
			set(s, InvalidMemoryAccess)
			return
		}
		result, st, found := c.h.CallForeignFunction(name, args)
		if !found {
			set(s, NotFound)
			return
		}
		var addr uint32
		if len(result) > 0 && u32(s[4]) != 0 {
			a, ok := c.h.Malloc(uint32(len(result)))
			if !ok || !c.mem.Write(a, result) {
				set(s, InvalidMemoryAccess)
				return
			}
			addr = a
		}
		if u32(s[4]) != 0 && !c.mem.WriteUint32Le(u32(s[4]), addr) {
			set(s, InvalidMemoryAccess)
			return
		}
		if u32(s[5]) != 0 && !c.mem.WriteUint32Le(u32(s[5]), uint32(len(result))) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, st)
	}},
	{"envoy_resolve_dns", ints(3), status, func(c call, s []uint64) {
		addr, ok := c.read(s[0], s[1])
		if !ok {
			set(s, InvalidMemoryAccess)
			return
		}
		tok, st := c.h.ResolveDNS(addr)
		if st != OK {
			set(s, st)
			return
		}
		if !c.mem.WriteUint32Le(u32(s[2]), tok) {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, OK)
	}},
}

func mapKeyValue(op func(Handler, MapType, []byte, []byte) Status) func(call, []uint64) {
	return func(c call, s []uint64) {
		if u32(s[0]) > uint32(maxMapType) {
			set(s, BadArgument)
			return
		}
		key, ok1 := c.read(s[1], s[2])
		value, ok2 := c.read(s[3], s[4])
		if !ok1 || !ok2 {
			set(s, InvalidMemoryAccess)
			return
		}
		set(s, op(c.h, MapType(s[0]), key, value))
	}
}

// unimplemented answers the gRPC host functions, which hostsim does not provide.
func unimplemented(_ call, s []uint64) { set(s, Unimplemented) }
