package hostsim

import (
	"github.com/stepgate/stepgate/hostsim/internal/abi"
	"github.com/stepgate/stepgate/hostsim/internal/buffer"
	"github.com/stepgate/stepgate/hostsim/internal/headermap"
)

// What the plugin can reach (Envoy's Context pointers).

func (s *Stream) mutableMap(t abi.MapType) *headermap.Map {
	switch t {
	case abi.RequestHeaders:
		return ptrMap(s.req.headersPtr, s.req.headers)
	case abi.ResponseHeaders:
		return ptrMap(s.resp.headersPtr, s.resp.headers)
	case abi.RequestTrailers:
		return s.trailersFor(&s.req)
	case abi.ResponseTrailers:
		return s.trailersFor(&s.resp)
	}
	return nil
}

// trailersFor also lets a plugin add trailers from the last body callback, as Envoy's
// addDecodedTrailers/addEncodedTrailers.
func (s *Stream) trailersFor(d *half) *headermap.Map {
	if d.trailersPtr {
		return d.trailers
	}
	if d.bodyPtr && s.endOfStream && d.inFlight && !d.addedTrailers && d.trailers == nil {
		d.trailers = headermap.New(nil)
		d.trailersPtr, d.addedTrailers = true, true
		return d.trailers
	}
	return nil
}

func ptrMap(ok bool, m *headermap.Map) *headermap.Map {
	if ok {
		return m
	}
	return nil
}

func (s *Stream) constMap(t abi.MapType) (*headermap.Map, bool) {
	if s.accessLog {
		switch t {
		case abi.RequestHeaders:
			return s.req.headers, true
		case abi.ResponseHeaders:
			return s.resp.headers, true
		case abi.ResponseTrailers:
			return s.resp.trailers, true
		}
		return nil, true
	}
	switch t {
	case abi.RequestHeaders:
		return ptrMap(s.req.headersPtr, s.req.headers), false
	case abi.ResponseHeaders:
		return ptrMap(s.resp.headersPtr, s.resp.headers), false
	case abi.RequestTrailers:
		return ptrMap(s.req.trailersPtr, s.req.trailers), false
	case abi.ResponseTrailers:
		return ptrMap(s.resp.trailersPtr, s.resp.trailers), false
	}
	return nil, false
}

func (s *Stream) bodyBuffer(response bool) buffer.Buffer {
	d := &s.req
	if response {
		d = &s.resp
	}
	switch {
	case d.buffering:
		return buffer.Mutable(&d.held)
	case d.bodyPtr:
		return buffer.Mutable(&d.chunk)
	}
	return buffer.Buffer{}
}

func (s *Stream) requestHeadersForAttributes() *headermap.Map {
	if s.req.headersPtr || s.accessLog {
		return s.req.headers
	}
	return nil
}

func (s *Stream) responseHeadersForAttributes() (*headermap.Map, *headermap.Map) {
	var h, t *headermap.Map
	if s.resp.headersPtr || s.accessLog {
		h = s.resp.headers
	}
	if s.resp.trailersPtr || s.accessLog {
		t = s.resp.trailers
	}
	return h, t
}

func (s *Stream) setFilterState(key string, value []byte) {
	if s.filterState == nil {
		s.filterState = map[string][]byte{}
	}
	s.filterState[key] = value
}

func (s *Stream) record(name string, args []uint64, result uint32, trapped bool) {
	r := callRecord{name: name, result: result, trapped: trapped, n: uint8(len(args))}
	for i, a := range args {
		r.args[i] = uint32(a)
	}
	s.calls = append(s.calls, r)
}
