package hostsim_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// The shared-counter plugin reads one request header, then reads and compare-and-swaps one
// shared-data value: three host calls per stream, counted on the stream and, by name, on the
// host, across workers.
func TestHostCallsCounted(t *testing.T) {
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: hostsimtest.Plugin(t, "sharedcounter"), Workers: 2, Clock: hostsim.NewVirtualClock(epoch),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })

	before := h.HostCalls()
	for i := range 4 {
		s := hostsimtest.Send(h, hostsimtest.Exchange{Path: "/count"})
		wantEqual(t, fmt.Sprint("host calls of stream ", i), s.HostCalls(), uint64(3))
	}
	got := h.HostCalls()
	for name, n := range before {
		got[name] -= n
		if got[name] == 0 {
			delete(got, name)
		}
	}
	want := map[string]uint64{
		"env.proxy_get_header_map_value": 4, "env.proxy_get_shared_data": 4, "env.proxy_set_shared_data": 4,
	}
	if !maps.Equal(got, want) {
		t.Errorf("host calls of 4 streams = %v, want %v", got, want)
	}
}

// A plugin that does nothing makes no host call on a stream; WASI calls are counted under
// their module's name.
func TestHostCallsOfANoopPlugin(t *testing.T) {
	h, err := hostsim.New(context.Background(), hostsim.Config{
		Module: hostsimtest.Plugin(t, "noop"), Clock: hostsim.NewVirtualClock(epoch),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	s := hostsimtest.Send(h, hostsimtest.Exchange{Path: "/"})
	wantEqual(t, "host calls of a no-op stream", s.HostCalls(), uint64(0))
	if n := h.HostCalls()["wasi_snapshot_preview1.clock_time_get"]; n == 0 {
		t.Errorf("no clock_time_get counted while the Go runtime started: %v", h.HostCalls())
	}
}
