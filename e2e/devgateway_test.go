package e2e

import (
	"context"
	"log"
	"os"
	"testing"
	"time"

	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

// envVerbose prints the dev gateways' log lines (the plugin's and the gateway's own).
const envVerbose = "STEPGATE_E2E_VERBOSE"

// startDev starts the dev gateway in process with config, its mock providers behind it.
func startDev(t testing.TB, config []byte) (*gateway, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logf := func(string, ...any) {} // the tests read the plugin's lines from Host().Logs()
	if os.Getenv(envVerbose) != "" {
		logf = log.Printf
	}
	gw, err := devgateway.Start(ctx, devgateway.Config{
		Module:                      filterWasm(t),
		PluginConfig:                config,
		Listen:                      "127.0.0.1:0",
		AdminListen:                 "127.0.0.1:0",
		Workers:                     2,
		Mock:                        true,
		AllowOnHeadersStopIteration: true,
		Logf:                        logf,
	})
	if err != nil {
		return nil, nil, err
	}
	g := &gateway{URL: gw.URL(), AdminURL: gw.AdminURL(), host: gw.Host(), mocks: devMocks{gw}}
	return g, func() { _ = gw.Close() }, nil
}

// devMocks are the dev gateway's in-process mocks (looked up each time: a reload may replace them).
type devMocks struct{ gw *devgateway.Gateway }

func (d devMocks) Requests(t *testing.T, kind mockprovider.Kind) []mockprovider.Request {
	return d.gw.Mock().Server(kind).Requests()
}

func (d devMocks) FailNext(t *testing.T, kind mockprovider.Kind, n int, spec string) {
	t.Helper()
	f, err := mockprovider.ParseFault(spec)
	if err != nil {
		t.Fatal(err)
	}
	d.gw.Mock().Server(kind).FailNext(n, f)
}
