package hostsim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// A module written against the ABI without an SDK, built by plain go build, runs as any other.
func TestPluginWithoutSDK(t *testing.T) {
	h, _ := hostsimtest.Start(t, hostsim.Config{Module: hostsimtest.Build(t, "testdata/plugins/abi")})
	s := hostsimtest.Send(h, hostsimtest.Exchange{Method: "POST", Path: "/v1/x"})
	wantEqual(t, "upstream x-abi", s.Upstream().Headers.Get("x-abi"), "request")
	wantEqual(t, "downstream x-abi", s.Downstream().Headers.Get("x-abi"), "response")
	hostsimtest.WantLog(t, h, "abi: request POST /v1/x")
}

// Envoy loads a network filter module only as envoy.filters.network.wasm; hostsim, an HTTP
// filter host, refuses it by name instead of loading a filter that never sees traffic.
func TestNetworkFilterRefused(t *testing.T) {
	_, err := hostsim.New(context.Background(), hostsim.Config{Module: hostsimtest.Build(t, "testdata/plugins/tcponly")})
	if err == nil || !strings.Contains(err.Error(), "network (TCP) filter") || !strings.Contains(err.Error(), "proxy_on_new_connection") {
		t.Fatalf("New = %v, want the network filter refusal", err)
	}
}

// An SDK network filter exports the HTTP callbacks too, so it loads; as an HTTP filter its
// first stream traps (the SDK finds no HTTP context) and gets Envoy's 503.
func TestSDKNetworkFilterTrapsOnItsFirstStream(t *testing.T) {
	h, _ := hostsimtest.Start(t, hostsim.Config{Module: hostsimtest.Plugin(t, "sdktcp")})
	s := hostsimtest.Send(h, hostsimtest.Exchange{})
	if lr := s.LocalReply(); lr == nil || lr.Status != 503 {
		t.Fatalf("local reply = %+v, want 503", lr)
	}
	wantEqual(t, "VM failed", h.Failed(0), true)
}
