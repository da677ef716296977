package mockprovider

import (
	"net/http/httptest"
	"testing"
)

// Start serves a new Server for kind on 127.0.0.1 (httptest) until the test ends and returns it
// with its base URL (no trailing slash).
func Start(tb testing.TB, kind Kind, opts ...Options) (*Server, string) {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := New(kind, o)
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return s, ts.URL
}

// StartMux serves a new Mux on 127.0.0.1 until the test ends and returns it with its base URL.
func StartMux(tb testing.TB, opts ...Options) (*Mux, string) {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	m := NewMux(o)
	ts := httptest.NewServer(m)
	tb.Cleanup(ts.Close)
	return m, ts.URL
}
