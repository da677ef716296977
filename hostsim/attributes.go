package hostsim

import (
	"net"
	"strconv"
	"strings"

	"github.com/stepgate/stepgate/hostsim/internal/abi"
	p "github.com/stepgate/stepgate/hostsim/internal/properties"
)

// getProperty evaluates a property path in context c as Envoy's Context::getProperty: first
// the stream attributes (request, response, connection, upstream, source, destination,
// metadata, filter_state, upstream_filter_state, xds), then plugin_name, plugin_root_id,
// plugin_vm_id and connection_id, then filter state "wasm.<name>" written by
// proxy_set_property. A stream's WithProperty overrides win over all of them.
func (v *vm) getProperty(c *pctx, path []byte) ([]byte, abi.Status) {
	s := c.stream
	if s != nil && s.overrides != nil {
		if val, ok := s.overrides[string(path)]; ok {
			return val, abi.OK
		}
	}
	return p.Get(path, func(name string) (p.Value, bool) { return v.attribute(s, name) })
}

func (v *vm) attribute(s *Stream, name string) (p.Value, bool) {
	switch name {
	case "xds":
		return p.MapValue(v.xds(s)), true
	case "plugin_name":
		return p.String(v.pluginOf(v.active()).Name), true
	case "plugin_root_id":
		return p.String(v.pluginOf(v.active()).RootID), true
	case "plugin_vm_id":
		return p.String(v.h.cfg.VMID), true
	}
	if s == nil { // no stream info outside streams
		return p.Value{}, false
	}
	switch name {
	case "request":
		return p.MapValue(s.requestAttributes()), true
	case "response":
		return p.MapValue(s.responseAttributes()), true
	case "connection":
		return p.MapValue(s.connectionAttributes()), true
	case "upstream":
		return p.MapValue(p.Fields{
			{Name: "address", Get: nonEmpty(s.info.UpstreamAddress)},
			{Name: "port", Get: port(s.info.UpstreamAddress)},
		}), true
	case "source":
		return p.MapValue(peer(s.info.SourceAddress)), true
	case "destination":
		return p.MapValue(peer(s.info.DestinationAddress)), true
	case "filter_state":
		return p.MapValue(filterState(s.filterState)), true
	case "connection_id":
		return p.Uint(s.info.ConnectionID), true
	}
	if val, ok := s.filterState["wasm."+name]; ok {
		return p.Bytes(val), true
	}
	return p.Value{}, false
}

func (v *vm) xds(s *Stream) p.Fields {
	fields := p.Fields{}
	if s == nil {
		return fields
	}
	return p.Fields{
		{Name: "cluster_name", Get: nonEmpty(s.info.ClusterName)},
		{Name: "route_name", Get: nonEmpty(s.info.RouteName)},
		{Name: "virtual_host_name", Get: nonEmpty(s.info.VirtualHostName)},
		{Name: "filter_chain_name", Get: always(p.String(s.info.FilterChainName))},
		{Name: "listener_direction", Get: always(p.Int(0))},
	}
}

func (s *Stream) requestAttributes() p.Fields {
	h := s.requestHeadersForAttributes()
	header := func(key string) func() (p.Value, bool) {
		return func() (p.Value, bool) {
			if h == nil {
				return p.Value{}, false
			}
			val, ok := h.Get(key)
			return p.String(val), ok
		}
	}
	pathValue := func() (string, bool) {
		if h == nil {
			return "", false
		}
		return h.Get(":path")
	}
	return p.Fields{
		{Name: "headers", Get: func() (p.Value, bool) { return p.MapValue(p.Pairs(h.Pairs())), true }},
		{Name: "time", Get: always(p.Timestamp(s.startWall))},
		{Name: "size", Get: func() (p.Value, bool) {
			if h != nil {
				if cl, ok := h.Get("content-length"); ok {
					n, err := strconv.ParseInt(cl, 10, 64)
					return p.Int(n), err == nil
				}
			}
			return p.Int(s.bytesReceived), true
		}},
		{Name: "total_size", Get: func() (p.Value, bool) { return p.Int(s.bytesReceived + int64(h.ByteSize())), true }},
		{Name: "duration", Get: func() (p.Value, bool) { return p.Duration(s.duration), s.done }},
		{Name: "protocol", Get: always(p.String(s.info.Protocol))},
		{Name: "path", Get: header(":path")},
		{Name: "url_path", Get: func() (p.Value, bool) {
			path, ok := pathValue()
			if i := strings.IndexByte(path, '?'); i >= 0 {
				path = path[:i]
			}
			return p.String(path), ok
		}},
		{Name: "host", Get: header(":authority")},
		{Name: "scheme", Get: header(":scheme")},
		{Name: "method", Get: header(":method")},
		{Name: "referer", Get: header("referer")},
		{Name: "id", Get: header("x-request-id")},
		{Name: "useragent", Get: header("user-agent")},
		{Name: "query", Get: func() (p.Value, bool) {
			path, ok := pathValue()
			if !ok {
				return p.Value{}, false
			}
			i := strings.IndexByte(path, '?')
			if i < 0 {
				return p.String(""), true
			}
			q := path[i+1:]
			if j := strings.IndexByte(q, '#'); j >= 0 {
				q = q[:j]
			}
			return p.String(q), true
		}},
	}
}

func (s *Stream) responseAttributes() p.Fields {
	h, t := s.responseHeadersForAttributes()
	return p.Fields{
		{Name: "code", Get: func() (p.Value, bool) { return p.Int(int64(s.responseCode)), s.responseCode != 0 }},
		{Name: "code_details", Get: func() (p.Value, bool) { return p.String(s.details), s.details != "" }},
		{Name: "flags", Get: always(p.Int(0))},
		{Name: "headers", Get: func() (p.Value, bool) { return p.MapValue(p.Pairs(h.Pairs())), true }},
		{Name: "trailers", Get: func() (p.Value, bool) { return p.MapValue(p.Pairs(t.Pairs())), true }},
		{Name: "size", Get: func() (p.Value, bool) { return p.Int(s.bytesSent), true }},
		{Name: "total_size", Get: func() (p.Value, bool) {
			return p.Int(s.bytesSent + int64(h.ByteSize()+t.ByteSize())), true
		}},
	}
}

func (s *Stream) connectionAttributes() p.Fields {
	return p.Fields{
		{Name: "mtls", Get: always(p.Bool(false))},
		{Name: "requested_server_name", Get: always(p.String(s.info.RequestedServerName))},
		{Name: "id", Get: always(p.Uint(s.info.ConnectionID))},
	}
}

func peer(addr string) p.Fields {
	return p.Fields{
		{Name: "address", Get: nonEmpty(addr)},
		{Name: "port", Get: port(addr)},
	}
}

func port(addr string) func() (p.Value, bool) {
	return func() (p.Value, bool) {
		_, portStr, err := net.SplitHostPort(addr)
		if err != nil {
			return p.Value{}, false
		}
		n, err := strconv.ParseInt(portStr, 10, 64)
		return p.Int(n), err == nil
	}
}

func nonEmpty(s string) func() (p.Value, bool) {
	return func() (p.Value, bool) { return p.String(s), s != "" }
}

func always(v p.Value) func() (p.Value, bool) { return func() (p.Value, bool) { return v, true } }

// filterState exposes a stream's filter state; wasm-written values are bytes.
type filterState map[string][]byte

func (f filterState) Get(key string) (p.Value, bool) {
	v, ok := f[key]
	return p.Bytes(v), ok
}

// Entries is empty: Envoy's filter state map cannot be listed.
func (f filterState) Entries() []p.Entry { return nil }
