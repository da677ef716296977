package aiformat

import (
	"encoding/binary"

	"github.com/stepgate/stepgate/plugin/aiformat/hub"
	"github.com/stepgate/stepgate/plugin/aiformat/sigv4"
	"github.com/stepgate/stepgate/plugin/shareddata"
)

// Router chooses backends. It holds the per-VM key rotation counters and reaches the circuit
// breaker state through a shareddata.Store, so every worker VM sees a backend trip.
type Router struct {
	cfg   *Config
	store shareddata.Store
	keyN  []uint32 // per provider (Provider.index), the next key to use
	// signers are the SigV4 signers of signing providers (Provider.index), made on first use.
	signers []*sigv4.Signer
	spare   spareBody
}

// Recycle takes back up's body, which the caller no longer uses (the host has its own copy).
func (r *Router) Recycle(up *Upstream) {
	b := up.Body
	up.Body = nil
	if up.ownBody {
		r.spare.put(b)
	}
}

// NewRouter returns a router over cfg whose breaker state lives in store.
func NewRouter(cfg *Config, store shareddata.Store) *Router {
	return &Router{cfg: cfg, store: store, keyN: make([]uint32, len(cfg.Providers)), signers: make([]*sigv4.Signer, len(cfg.Providers))}
}

// Config returns the router's configuration.
func (r *Router) Config() *Config { return r.cfg }

// ClusterHeader is the request header the filter sets so that Envoy's route picks the
// provider's cluster (a route matching on it with cluster_header, or one route per value).
const ClusterHeader = "x-stepgate-cluster"

// Upstream is a routed request: what to set on the request before it leaves.
type Upstream struct {
	Provider  *Provider
	Model     string // upstream model name
	Cluster   string
	Authority string
	Path      string
	// SetHeaders are headers to set (replace), pseudo-headers included: :path, :authority,
	// x-stepgate-cluster, content-type and the provider's credentials.
	SetHeaders [][2]string
	// RemoveHeaders are headers to remove, every value of each, before SetHeaders are set: the
	// client's credentials (all of them, the provider's own header included, so that a repeated
	// client value can never ride along), its session and hop-by-hop headers, and headers made
	// stale. Shared by every request to the provider: read it, never modify it.
	RemoveHeaders []string
	Body          []byte

	backend *Backend
	route   *Route
	tripped bool // the backend had breaker state when chosen
	ownBody bool // Body is the router's storage, which Recycle takes back
	hdr     [8][2]string
}

// Route picks a backend for the request and builds the upstream request. now is the time in
// nanoseconds (for the breaker); rnd is a random number for the weighted choice. The error,
// if any, is in the client's dialect: unknown model (404), or a request the provider cannot
// express (400).
func (r *Router) Route(req *Request, now int64, rnd uint32) (*Upstream, *Error) {
	up := new(Upstream)
	if err := r.RouteInto(up, req, now, rnd); err != nil {
		return nil, err
	}
	return up, nil
}

// RouteInto is Route into storage of the caller's: a stream's, reused from one request to the
// next, where inside the VM an allocation per request costs more than filling it.
func (r *Router) RouteInto(up *Upstream, req *Request, now int64, rnd uint32) *Error {
	if req.Endpoint != EndpointChat && req.Endpoint != EndpointEmbeddings {
		return NewError(req.Dialect, 400, "not a chat request")
	}
	rt := r.cfg.lookup(req.Model)
	if rt == nil {
		return render(req.Dialect, &hub.Error{Status: 404, Kind: hub.KindNotFound, Param: "model", Code: "model_not_found",
			Message: "model " + quote(req.Model) + " is not available"})
	}
	return r.routeTo(up, req, rt, req.Model, now, rnd)
}

// RouteFallback routes req to fallback route fb (one of Route.Fallbacks) as Route does to the
// request's own route: weighted choice, breaker, keys. A backend that names no upstream model
// gets the fallback route's name.
func (r *Router) RouteFallback(req *Request, fb *Route, now int64, rnd uint32) (*Upstream, *Error) {
	up := new(Upstream)
	if err := r.routeTo(up, req, fb, fb.Pattern, now, rnd); err != nil {
		return nil, err
	}
	return up, nil
}

// routeTo builds, in up, the upstream request for a backend of rt; model is the upstream model
// of a backend that names none.
func (r *Router) routeTo(up *Upstream, req *Request, rt *Route, model string, now int64, rnd uint32) *Error {
	b, tripped := r.choose(rt, now, rnd)
	*up = Upstream{Provider: b.Provider, Model: b.Model, backend: b, tripped: tripped, route: rt}
	if up.Model == "" {
		up.Model = model
	}
	if !up.Provider.modelSafe(up.Model) {
		return render(req.Dialect, unsafeModel(up.Model))
	}
	if req.Endpoint == EndpointEmbeddings {
		if up.Provider.Type.kind().embeddingsPath == nil {
			return render(req.Dialect, hub.Invalid("model", quote(req.Model)+" is served by a provider of type "+
				up.Provider.Type.String()+", which has no embeddings API"))
		}
		body, err := embeddingsBody(req, up)
		if err != nil {
			return render(req.Dialect, err)
		}
		up.Body = body
		r.headers(req, up)
		return nil
	}
	body, err := r.body(req, up)
	if err != nil {
		return render(req.Dialect, err)
	}
	up.Body = body
	up.ownBody = !overlaps(body, req.Body) && !overlaps(body, req.Hub) // never recycle the client's text
	r.headers(req, up)
	if up.Provider.aws != nil {
		r.sign(up, now)
	}
	return nil
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return "\"" + s + "\""
}

// choose picks among the backends not cooling down, by weight. When every backend is cooling
// down it fails open to the one whose cool-down ends first, rather than refusing the request.
func (r *Router) choose(rt *Route, now int64, rnd uint32) (*Backend, bool) {
	if len(rt.Backends) == 1 {
		b := &rt.Backends[0]
		until, fails := r.state(b)
		return b, until != 0 || fails != 0
	}
	var avail uint64 // bitmask of usable backends (routes have few backends; beyond 64 all count)
	var total uint32
	var soonest *Backend
	var soonestUntil int64
	anyState := false
	for i := range rt.Backends {
		b := &rt.Backends[i]
		until, fails := r.state(b)
		anyState = anyState || until != 0 || fails != 0
		if until > now && i < 64 {
			if soonest == nil || until < soonestUntil {
				soonest, soonestUntil = b, until
			}
			continue
		}
		if i < 64 {
			avail |= 1 << uint(i)
		}
		total += b.Weight
	}
	if total == 0 {
		if soonest == nil {
			soonest = &rt.Backends[0]
		}
		return soonest, true
	}
	pick := rnd % total
	for i := range rt.Backends {
		if i < 64 && avail&(1<<uint(i)) == 0 {
			continue
		}
		w := rt.Backends[i].Weight
		if pick < w {
			return &rt.Backends[i], anyState
		}
		pick -= w
	}
	return &rt.Backends[0], anyState
}

// Breaker state in shared data: 8 bytes cool-down end (ns, big endian) + 4 bytes consecutive
// failures.
func (r *Router) state(b *Backend) (until int64, fails uint32) {
	if r.store == nil {
		return 0, 0
	}
	v, _, err := r.store.Get(b.breakerKey)
	if err != nil || len(v) != 12 {
		return 0, 0
	}
	return int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint32(v[8:])
}

// Report tells the breaker how the chosen backend answered: 429 and 5xx count as failures
// and trip it (cool-down) after the configured number in a row; a success clears them.
func (r *Router) Report(up *Upstream, status int, now int64) {
	if r.store == nil || up == nil || up.backend == nil {
		return
	}
	failed := status == 429 || status >= 500
	if !failed && !up.tripped {
		return // nothing stored, nothing to clear: no shared-data write on the hot path
	}
	key := up.backend.breakerKey
	for attempt := 0; attempt < 4; attempt++ {
		v, cas, err := r.store.Get(key)
		var until int64
		var fails uint32
		if err == nil && len(v) == 12 {
			until, fails = int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint32(v[8:])
		} else if err != nil {
			cas = 0
		}
		if failed {
			fails++
			if fails >= r.cfg.FailuresToTrip {
				until = now + r.cfg.Cooldown
			}
		} else {
			if until == 0 && fails == 0 {
				return
			}
			until, fails = 0, 0
		}
		var buf [12]byte
		binary.BigEndian.PutUint64(buf[:], uint64(until))
		binary.BigEndian.PutUint32(buf[8:], fails)
		if r.store.Set(key, buf[:], cas) == nil {
			return
		}
	}
}

func (r *Router) target(req *Request, up *Upstream) hub.Target {
	return hub.Target{Model: up.Model, Stream: req.Stream, MaxTokens: req.maxTokensCap, DefaultMaxTokens: up.Provider.DefaultMaxTokens}
}

func (r *Router) body(req *Request, up *Upstream) ([]byte, *hub.Error) {
	t := r.target(req, up)
	pr := up.Provider
	c := &codecs[pr.Type.wire()]
	src := bstr(req.Hub)
	dst := r.spare.take(len(src) + len(src)/8 + 64)
	docs := &r.cfg.docs
	if c.rewrite != nil && c.dialect == req.Dialect { // same format both sides: adjust the client's own body
		return c.rewrite(dst, docs, bstr(req.Body), t), nil
	}
	d, _ := docs.parsed(&docs.hub, src)
	out, err := c.fromHub(dst, d.Root(), t, pr)
	docs.put(&docs.hub, d) // not deferred: inside the VM a deferred call costs more than the call
	return out, err
}

func (r *Router) headers(req *Request, up *Upstream) {
	pr := up.Provider
	up.Cluster, up.Authority = pr.Cluster, pr.Host
	switch b := up.backend; {
	case req.Endpoint == EndpointEmbeddings:
		up.Path = pr.Type.kind().embeddingsPath(pr, up.Model, req.emb.req.Batch())
	case req.Endpoint == EndpointCountTokens:
		up.Path = pr.Type.kind().countTokensPath(pr)
	case b != nil && b.path != "" && up.Model == b.Model && req.Stream:
		up.Path = b.streamPath
	case b != nil && b.path != "" && up.Model == b.Model:
		up.Path = b.path
	default:
		up.Path = pr.path(up.Model, req.Stream)
	}
	h := up.hdr[:0]
	h = append(h, [2]string{":path", up.Path}, [2]string{":authority", up.Authority},
		[2]string{ClusterHeader, up.Cluster}, [2]string{"content-type", "application/json"})
	if n := len(pr.authValues); n > 0 {
		k := r.nextKey(pr)
		h = append(h, [2]string{pr.authHeader, pr.authValues[k%uint32(n)]})
	}
	up.SetHeaders = append(h, pr.fixedHeaders...)
	up.RemoveHeaders = pr.removeHeaders
	if codecs[pr.Type.wire()].dialect == req.Dialect {
		up.RemoveHeaders = pr.removeHeadersSameFormat
	}
}

// nextKey returns the provider's key counter and advances it.
func (r *Router) nextKey(pr *Provider) uint32 {
	if pr.index < 0 || pr.index >= len(r.keyN) || r.cfg.Providers[pr.index] != pr {
		return 0 // not one of this router's providers
	}
	k := r.keyN[pr.index]
	r.keyN[pr.index] = k + 1
	return k
}

// path is the upstream path for model.
func (pr *Provider) path(model string, stream bool) string {
	return pr.Type.kind().path(pr, model, stream)
}
