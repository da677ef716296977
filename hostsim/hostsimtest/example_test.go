package hostsimtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/stepgate/stepgate/hostsim"
	"github.com/stepgate/stepgate/hostsim/hostsimtest"
)

// A plugin written against the ABI with no SDK, built by plain go build, sent one request.
// In a test, Build(t, dir) and Start(t, cfg) do the same and fail the test on error.
func Example() {
	wasm, err := hostsimtest.Compile("../testdata/plugins/abi")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	h, err := hostsim.New(ctx, hostsim.Config{Module: wasm, PluginName: "abi", LogLevel: hostsim.LevelInfo,
		Clock: hostsim.NewVirtualClock(hostsimtest.Epoch)})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	s := hostsimtest.Send(h, hostsimtest.Exchange{Method: "POST", Path: "/hello"})
	fmt.Println("upstream got x-abi:", s.Upstream().Headers.Get("x-abi"))
	fmt.Println("client got x-abi:", s.Downstream().Headers.Get("x-abi"))
	for _, e := range h.Logs() {
		fmt.Println(h.LogLine(e))
	}
	// Output:
	// upstream got x-abi: request
	// client got x-abi: response
	// [2026-01-02 03:04:05.000][info][wasm] wasm log abi: abi: request POST /hello
}

// An SDK plugin that lives in a module of its own, with its own dependencies, built with
// stepgate's SDK bridge and configured through its plugin configuration.
func Example_sdkPluginInAnotherModule() {
	wasm, err := hostsimtest.CompileSDK("../testdata/external/greeter")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	h, err := hostsim.New(ctx, hostsim.Config{Module: wasm, PluginConfig: []byte(`{"name": "Ada"}`)})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	s := hostsimtest.Send(h, hostsimtest.Exchange{Path: "/"})
	fmt.Println(s.LocalReply().Status, string(s.Downstream().Body))
	// Output:
	// 200 hello, Ada
}
