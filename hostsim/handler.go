package hostsim

import (
	"bytes"
	"compress/zlib"
	"io"
	"strings"
	"time"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/buffer"
	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// This file gives the host functions their meaning: vm implements abi.Handler and wasi.Env,
// dispatching each call to the active context as Envoy's Context does.

// Logging.

func (v *vm) Log(level abi.LogLevel, msg []byte) abi.Status {
	c := v.active()
	v.h.addLog(LogEntry{Level: LogLevel(level), Message: string(msg), Worker: v.worker, ContextID: c.id, RootID: v.pluginOf(c).RootID})
	return abi.OK
}

// Stdio implements wasi.Env: stdout and stderr lines are plugin log lines.
func (v *vm) Stdio(level abi.LogLevel, msg string) bool {
	c := v.active()
	v.h.addLog(LogEntry{Level: LogLevel(level), Message: msg, Worker: v.worker, ContextID: c.id, RootID: v.pluginOf(c).RootID})
	return true
}

// Trace implements wasi.Env: what cpp-host reports with context->error(), which Envoy logs at
// trace level.
func (v *vm) Trace(msg string) { v.hostLog(LevelTrace, msg) }

func (v *vm) hostLog(level LogLevel, msg string) {
	c := v.vmCtx
	if v.current != nil {
		c = v.current
	}
	v.h.addLog(LogEntry{Level: level, Message: msg, Worker: v.worker, ContextID: c.id, RootID: v.pluginOf(c).RootID, Host: true})
}

// GetLogLevel is Envoy's wasm logger level: Config.LogLevel, or info, Envoy's default, when it
// keeps every line.
func (v *vm) GetLogLevel() uint32 {
	if l := v.h.cfg.LogLevel; l > LevelTrace {
		return uint32(l)
	}
	return uint32(abi.LogInfo)
}

func (v *vm) GetStatus() (uint32, string) {
	r := v.rootOf(v.active())
	return r.statusCode, r.statusMsg
}

// rootOf is a context's root context: itself, a stream's plugin, or (for the VM context,
// which has none) the first plugin's.
func (v *vm) rootOf(c *pctx) *pctx {
	switch {
	case c.kind == rootContextKind || v.root == nil:
		return c
	case c.parent != nil:
		return c.parent
	}
	return v.root
}

// Time.

func (v *vm) Realtime() uint64         { return uint64(v.h.clock.Now().UnixNano()) }
func (v *vm) Monotonic() uint64        { return uint64(v.h.clock.Monotonic()) }
func (v *vm) CurrentTimeNanos() uint64 { return v.Realtime() }
func (v *vm) Environ() []string        { return v.environ() }

func (v *vm) SetTickPeriod(millis uint32) abi.Status {
	v.setTick(v.rootOf(v.active()), time.Duration(millis)*time.Millisecond)
	return abi.OK
}

// Properties.

func (v *vm) GetProperty(path []byte) ([]byte, abi.Status) {
	return v.getProperty(v.active(), path)
}

// SetProperty stores the value as filter state "wasm.<path>" (Envoy's CelState, bytes); only a
// stream has filter state.
func (v *vm) SetProperty(path, value []byte) abi.Status {
	c := v.active()
	if c.stream == nil {
		return abi.NotFound
	}
	c.stream.setFilterState("wasm."+string(path), append([]byte(nil), value...))
	return abi.OK
}

// Stream control.

func (v *vm) SendLocalResponse(code uint32, details, body []byte, headers []headermap.Pair, grpcStatus int32) abi.Status {
	c := v.active()
	if c.stream != nil {
		s := c.stream
		lr := LocalReply{Status: code, Headers: fromPairs(headers), Body: append([]byte(nil), body...),
			Details: replaceWhitespace(string(details)), GRPCStatus: grpcStatus}
		v.addAfter(func() { s.sendLocalReply(lr) })
	}
	v.stopIteration = true
	return abi.OK
}

// replaceWhitespace is Envoy's StringUtil::replaceAllEmptySpace for response code details.
func replaceWhitespace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\f', '\v', '\n', '\r':
			return '_'
		}
		return r
	}, s)
}

func (v *vm) ContinueStream(t abi.StreamType) abi.Status {
	c := v.active()
	s := c.stream
	switch t {
	case abi.StreamRequest, abi.StreamResponse:
		if s != nil {
			d := &s.req
			if t == abi.StreamResponse {
				d = &s.resp
			}
			v.addAfter(func() { s.resume(d) })
		}
	case abi.StreamDownstream:
		return abi.OK
	case abi.StreamUpstream:
		return abi.Unimplemented
	}
	// Envoy's continueStream forgets the request maps whichever direction continues.
	if s != nil {
		s.req.headersPtr, s.req.bodyPtr, s.req.trailersPtr = false, false, false
	}
	return abi.OK
}

func (v *vm) CloseStream(t abi.StreamType) abi.Status {
	c := v.active()
	if s := c.stream; s != nil && (t == abi.StreamRequest || t == abi.StreamResponse) {
		if s.details == "" {
			s.details = "wasm_close_stream"
		}
		v.addAfter(func() { s.resetStream() })
	}
	return abi.OK
}

func (v *vm) SetEffectiveContext(id uint32) abi.Status {
	if v.contexts[id] == nil {
		return abi.BadArgument
	}
	v.effective = id
	return abi.OK
}

// Done finishes a root context whose on_done answered false; the delete runs after the
// current call.
func (v *vm) Done() abi.Status {
	root := v.rootOf(v.active())
	if !root.pendingDone || root.deleted {
		return abi.NotFound
	}
	root.pendingDone = false
	v.addAfter(func() { v.onRootDelete(root) })
	return abi.OK
}

// Shared data and queues.

func (v *vm) GetSharedData(key []byte) ([]byte, uint32, abi.Status) {
	return v.h.shared.Get(v.h.cfg.VMID, string(key))
}

func (v *vm) SetSharedData(key, value []byte, cas uint32) abi.Status {
	return v.h.shared.Set(v.h.cfg.VMID, string(key), value, cas)
}

func (v *vm) RegisterSharedQueue(name []byte) (uint32, abi.Status) {
	root := v.rootOf(v.active())
	rootID := root.id
	tok := v.h.queues.Register(v.h.cfg.VMID, string(name), func(token uint32) {
		v.post(func() { v.onQueueReady(rootID, token) })
	})
	return tok, abi.OK
}

func (v *vm) ResolveSharedQueue(vmID, name []byte) (uint32, abi.Status) {
	id := string(vmID)
	if id == "" {
		id = v.h.cfg.VMID
	}
	tok := v.h.queues.Resolve(id, string(name))
	if v.failed || tok == 0 {
		return 0, abi.NotFound
	}
	return tok, abi.OK
}

func (v *vm) DequeueSharedQueue(token uint32) ([]byte, abi.Status) {
	return v.h.queues.Dequeue(token)
}

func (v *vm) EnqueueSharedQueue(token uint32, value []byte) abi.Status {
	return v.h.queues.Enqueue(token, value)
}

// Header maps.

func (v *vm) GetHeaderMapValue(t abi.MapType, key []byte) (string, abi.Status) {
	m, accessLog := v.constMap(t)
	if m == nil {
		if accessLog {
			return "", abi.NotFound
		}
		return "", abi.BadArgument
	}
	val, ok := m.Get(string(key))
	if !ok {
		return "", abi.NotFound
	}
	return val, abi.OK
}

func (v *vm) GetHeaderMapPairs(t abi.MapType) ([]headermap.Pair, abi.Status) {
	m, _ := v.constMap(t)
	return m.Pairs(), abi.OK
}

func (v *vm) AddHeaderMapValue(t abi.MapType, key, value []byte) abi.Status {
	m := v.mutableMap(t)
	if m == nil {
		return abi.BadArgument
	}
	m.Add(string(key), string(value))
	return abi.OK
}

func (v *vm) ReplaceHeaderMapValue(t abi.MapType, key, value []byte) abi.Status {
	m := v.mutableMap(t)
	if m == nil {
		return abi.BadArgument
	}
	m.Set(string(key), string(value))
	return abi.OK
}

func (v *vm) RemoveHeaderMapValue(t abi.MapType, key []byte) abi.Status {
	m := v.mutableMap(t)
	if m == nil {
		return abi.BadArgument
	}
	m.Remove(string(key))
	return abi.OK
}

func (v *vm) SetHeaderMapPairs(t abi.MapType, pairs []headermap.Pair) abi.Status {
	m := v.mutableMap(t)
	if m == nil {
		return abi.BadArgument
	}
	m.Reset(pairs)
	return abi.OK
}

func (v *vm) GetHeaderMapSize(t abi.MapType) (uint32, abi.Status) {
	m := v.mutableMap(t)
	if m == nil {
		return 0, abi.BadArgument
	}
	return uint32(m.ByteSize()), abi.OK
}

// mutableMap is Envoy's Context::getMap: only a stream's maps, only while Envoy holds them.
func (v *vm) mutableMap(t abi.MapType) *headermap.Map {
	if s := v.active().stream; s != nil {
		return s.mutableMap(t)
	}
	return nil
}

// constMap is Envoy's Context::getConstMap; accessLog reports the on_log phase.
func (v *vm) constMap(t abi.MapType) (*headermap.Map, bool) {
	c := v.active()
	switch t {
	case abi.HttpCallResponseHeaders, abi.HttpCallResponseTrailers:
		r := v.rootOf(c).httpResponse
		if r == nil {
			return nil, false
		}
		if t == abi.HttpCallResponseHeaders {
			return r.headers, false
		}
		return r.trailers, false
	case abi.GrpcReceiveInitialMetadata, abi.GrpcReceiveTrailingMetadata:
		return nil, false
	}
	if c.stream == nil {
		return nil, false
	}
	return c.stream.constMap(t)
}

// Buffers.

func (v *vm) GetBuffer(t abi.BufferType) (buffer.Buffer, bool) {
	c := v.active()
	switch t {
	case abi.CallData, abi.NetworkDownstreamData, abi.NetworkUpstreamData, abi.GrpcReceiveBuffer:
		return buffer.Buffer{}, true
	case abi.VMConfiguration:
		return buffer.ReadOnly(v.h.cfg.VMConfig), true
	case abi.PluginConfiguration:
		if c.pluginConfig {
			return buffer.ReadOnly(c.plugin.Config), true
		}
		return buffer.Buffer{}, false
	case abi.HttpRequestBody, abi.HttpResponseBody:
		if c.stream == nil {
			return buffer.Buffer{}, true
		}
		return c.stream.bodyBuffer(t == abi.HttpResponseBody), true
	case abi.HttpCallResponseBody:
		if r := v.rootOf(c).httpResponse; r != nil {
			return buffer.ReadOnly(r.body), true
		}
	}
	return buffer.Buffer{}, false
}

// Metrics.

func (v *vm) DefineMetric(t uint32, name []byte) (uint32, abi.Status) {
	if t > uint32(abi.Histogram) {
		return 0, abi.BadArgument
	}
	return v.metrics.Define(abi.MetricType(t), string(name))
}

func (v *vm) IncrementMetric(id uint32, offset int64) abi.Status {
	return v.metrics.Increment(id, offset)
}
func (v *vm) RecordMetric(id uint32, value uint64) abi.Status { return v.metrics.Record(id, value) }
func (v *vm) GetMetric(id uint32) (uint64, abi.Status)        { return v.metrics.Get(id) }

// Foreign functions: Envoy registers compress, uncompress, clear_route_cache,
// set_envoy_filter_state, declare_property, sign, verify_signature and (with the CEL parser)
// expr_create/expr_evaluate/expr_delete. hostsim implements the first three.

func (v *vm) CallForeignFunction(name, args []byte) ([]byte, abi.Status, bool) {
	switch string(name) {
	case "compress":
		// Valid zlib, not zlib's compress() byte for byte (see the package documentation).
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write(args)
		w.Close()
		return b.Bytes(), abi.OK, true
	case "uncompress":
		r, err := zlib.NewReader(bytes.NewReader(args))
		if err != nil {
			return nil, abi.SerializationFailure, true
		}
		out, err := io.ReadAll(r)
		if err != nil {
			return nil, abi.SerializationFailure, true
		}
		return out, abi.OK, true
	case "clear_route_cache":
		return nil, abi.OK, true
	case "set_envoy_filter_state", "declare_property", "sign", "verify_signature",
		"expr_create", "expr_evaluate", "expr_delete":
		return nil, abi.Unimplemented, true
	}
	return nil, abi.NotFound, false
}

// ResolveDNS (Envoy's envoy_resolve_dns) is not provided by hostsim.
func (v *vm) ResolveDNS([]byte) (uint32, abi.Status) { return 0, abi.Unimplemented }
