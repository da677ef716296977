package mockprovider

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"
)

// arrivals orders requests across the servers of a Mux (their clocks may be fixed in tests).
var arrivals atomic.Int64

// Request is one request a Server received, as it arrived.
type Request struct {
	Seq    int         `json:"seq"`
	Kind   Kind        `json:"kind"`
	Time   time.Time   `json:"time"`
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query,omitempty"`
	Host   string      `json:"host,omitempty"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"-"`

	arrival int64
}

func newRequest(seq int, kind Kind, t time.Time, r *http.Request, body []byte) Request {
	return Request{
		Seq: seq, Kind: kind, Time: t,
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host,
		Header: r.Header.Clone(), Body: append([]byte(nil), body...),
		arrival: arrivals.Add(1),
	}
}

// Decode unmarshals the request body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// MarshalJSON renders the body as a string so that control clients see exactly what was sent.
func (r Request) MarshalJSON() ([]byte, error) {
	type plain Request
	return json.Marshal(struct {
		plain
		Body string `json:"body"`
	}{plain(r), string(r.Body)})
}

// UnmarshalJSON reads what MarshalJSON wrote (for clients of GET /__mock/requests).
func (r *Request) UnmarshalJSON(b []byte) error {
	type plain Request
	var v struct {
		plain
		Body string `json:"body"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Request(v.plain)
	r.Body = []byte(v.Body)
	return nil
}

// Requests returns a copy of every request received so far (control endpoints aside), oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// LastRequest returns the latest request received, if any.
func (s *Server) LastRequest() (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return Request{}, false
	}
	return s.reqs[len(s.reqs)-1], true
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}
