package hostsim_test

import (
	"context"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/internal/hostsimtest"
)

func TestSmokeNoop(t *testing.T) {
	ctx := context.Background()
	h, err := hostsim.New(ctx, hostsim.Config{Module: hostsimtest.Plugin(t, "noop"), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	s := h.NewStream()
	if st := s.SendRequestHeaders(hostsim.Headers{{":method", "GET"}, {":path", "/"}, {":authority", "x"}}, true); st != hostsim.Continue {
		t.Fatalf("headers: %v", st)
	}
	s.SendResponseHeaders(hostsim.Headers{{":status", "200"}}, false)
	s.SendResponseBody([]byte("hi"), true)
	t.Logf("down %+v done %v", s.Downstream(), s.Done())
	for _, c := range s.Callbacks() {
		t.Log(c)
	}
	for _, l := range h.Logs() {
		t.Log(l)
	}
}
