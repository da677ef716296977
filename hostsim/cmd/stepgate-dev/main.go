// Command stepgate-dev is the dev gateway: a proxy-wasm plugin's .wasm on hostsim, in front of
// upstream clusters (or, for stepgate, the built-in mock providers), with Envoy-style admin
// endpoints. By default it behaves as Envoy with a plain envoy.yaml (one wasm filter, one
// route); -preset stepgate stands for stepgate's envoy/envoy.yaml, and is what `make run` starts:
//
//	build/stepgate-dev -wasm build/stepgate.wasm -config envoy/stepgate.json -preset stepgate -mock -call-log build/calls.jsonl
//	build/stepgate-dev -wasm other.wasm -default-cluster backend -cluster backend=http://127.0.0.1:8080
//
// Flags:
//
//	-wasm PATH          the plugin (default build/stepgate.wasm; `make wasm` builds it)
//	-config PATH        the plugin configuration, reloaded on change (default none)
//	-preset NAME        envoy (default: a plain envoy.yaml) or stepgate (envoy/envoy.yaml); the
//	                    flags below that are not given take the preset's value
//	-name, -root-id, -vm-id  the filter's config.name, root_id and vm_config.vm_id (stepgate: stepgate)
//	-vm-config FILE     vm_config.configuration
//	-allow-on-headers-stop-iteration  Envoy's option (default off; stepgate: on)
//	-fail-open          failure_policy FAIL_OPEN
//	-buffer-limit N     per_connection_buffer_limit_bytes (default 1 MiB; stepgate: 5 MiB)
//	-log-level LEVEL    Envoy's wasm log level (default info; stepgate: every line)
//	-stats-tags FILE    Envoy's stats_tags, JSON or YAML, for /stats/prometheus (default none;
//	                    stepgate: envoy.yaml's)
//	-listen ADDR        the gateway (default 127.0.0.1:10000)
//	-admin ADDR         the admin endpoints /ready, /stats, /stats/prometheus (default 127.0.0.1:9901)
//	-workers N          worker VMs (default 2)
//	-cluster NAME=URL   an Envoy cluster's upstream, repeatable
//	-default-cluster NAME   where requests go that no other route takes (default: Envoy's plain
//	                    404; stepgate: envoy.yaml's JSON 404)
//	-mock               serve the mock providers for every provider cluster not given by -cluster,
//	                    and the demo MCP server for every MCP cluster
//	-access-log         one line per request, with envoy.yaml's access log fields
//	-call-log FILE      also append the filter's call records to FILE (JSON lines), rotated by size
//	-call-log-max-mb N  rotate the call log at N MiB (default 100)
//	-stream-idle-timeout D  Envoy's stream_idle_timeout (default 300s as envoy.yaml; 0 disables)
//	-route-timeout D        the route timeout (default 0: none, as envoy.yaml's provider route, so long
//	                        completions are not cut; 0 disables);
//	                        -route-timeout CLUSTER=D sets one cluster's, repeatable
//	-request-timeout D      Envoy's request_timeout: the whole request must arrive within D (default none)
//	-reload             reload -config when it changes (default true)
//	-hash-key KEY       print the configuration entry of an API key (its SHA-256) and exit;
//	                    "-" reads the key from stdin, "new" makes a random key and prints it too
//	-key-id ID          the id in that entry (default "key-1")
//
// A provider with real keys (none a REPLACE-ME placeholder, no "mock" in its name or cluster)
// goes to https://<host>, -mock or not; -cluster wins over both.
//
// SIGINT or SIGTERM drains in-flight requests and stops; SIGHUP reloads the configuration.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tidwall/gjson"

	"github.com/stepgate/stepgate/hostsim/devgateway"
	"github.com/stepgate/stepgate/plugin/governance"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, hup)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "stepgate-dev:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	wasm, config   string
	reload         bool
	hashKey, keyID string
	filter         filterOptions
	cfg            devgateway.Config
}

// parseFlags reads the command line into a gateway configuration (without the module bytes).
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{cfg: devgateway.Config{Clusters: map[string]string{}}}
	fs := flag.NewFlagSet("stepgate-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.wasm, "wasm", "build/stepgate.wasm", "the filter's .wasm (`make wasm` builds it)")
	fs.StringVar(&o.config, "config", "", "the plugin configuration `file` (default none)")
	fs.BoolVar(&o.reload, "reload", true, "reload -config when the file changes")
	fs.StringVar(&o.hashKey, "hash-key", "", "print the configuration entry of API `key` and exit (- reads it from stdin, new makes one)")
	fs.StringVar(&o.keyID, "key-id", "key-1", "the `id` of the -hash-key entry")
	fs.StringVar(&o.cfg.Listen, "listen", "127.0.0.1:10000", "the gateway's `address`")
	fs.StringVar(&o.cfg.AdminListen, "admin", "127.0.0.1:9901", "the admin `address` (/ready, /stats, /stats/prometheus); - disables it")
	fs.IntVar(&o.cfg.Workers, "workers", 2, "worker VMs")
	fs.Func("cluster", "an upstream cluster as `name=URL` (repeatable)", func(v string) error {
		name, url, ok := strings.Cut(v, "=")
		if !ok || name == "" || !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return fmt.Errorf("want name=http://host:port, got %q", v)
		}
		o.cfg.Clusters[name] = strings.TrimSuffix(url, "/")
		return nil
	})
	fs.StringVar(&o.cfg.DefaultCluster, "default-cluster", "", "the cluster for requests the filter does not route (default: 404, as envoy.yaml)")
	fs.BoolVar(&o.cfg.Mock, "mock", false, "serve the built-in mock providers for every provider cluster, and the demo MCP server for every MCP cluster, not given by -cluster")
	fs.BoolVar(&o.cfg.AccessLog, "access-log", false, "print one line per request")
	fs.StringVar(&o.cfg.CallLog, "call-log", "", "also append the filter's call records to `FILE` (JSON lines; docs/CALL-RECORD.md)")
	callLogMB := fs.Int64("call-log-max-mb", 100, "rotate the call log at this many MiB (FILE.1 … FILE.3 are kept)")
	filterFlags(fs, o)
	timeoutFlags(fs, &o.cfg)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := applyFilterFlags(fs, o); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *callLogMB < 1 {
		return nil, fmt.Errorf("-call-log-max-mb %d: want at least 1", *callLogMB)
	}
	o.cfg.CallLogMaxBytes = *callLogMB << 20
	if o.cfg.Workers < 1 {
		return nil, fmt.Errorf("-workers %d: want at least 1", o.cfg.Workers)
	}
	if c := o.cfg.DefaultCluster; c != "" {
		if _, ok := o.cfg.Clusters[c]; !ok {
			return nil, fmt.Errorf("-default-cluster %s: not given by -cluster", c)
		}
	}
	return o, nil
}

// timeoutFlags defines the timeout flags. Their 0 disables a timeout, as Envoy's 0s does.
func timeoutFlags(fs *flag.FlagSet, cfg *devgateway.Config) {
	cfg.StreamIdleTimeout, cfg.RouteTimeout = 300*time.Second, 0
	cfg.RouteTimeouts = map[string]time.Duration{}
	duration := func(dst *time.Duration) func(string) error {
		return func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 300s, got %q", v)
			}
			*dst = disabledIfZero(d)
			return nil
		}
	}
	fs.Func("stream-idle-timeout", "Envoy's stream_idle_timeout (default 300s, as envoy.yaml; 0 disables)", duration(&cfg.StreamIdleTimeout))
	fs.Func("request-timeout", "Envoy's request_timeout: the whole request must arrive within it (default none)", duration(&cfg.RequestTimeout))
	fs.Func("route-timeout", "the route `timeout` (default none, as envoy.yaml's provider route; 0 disables), or cluster=timeout for one cluster (repeatable)", func(v string) error {
		name, d, ok := strings.Cut(v, "=")
		if !ok {
			return duration(&cfg.RouteTimeout)(v)
		}
		var t time.Duration
		if name == "" {
			return fmt.Errorf("want cluster=duration, got %q", v)
		}
		if err := duration(&t)(d); err != nil {
			return err
		}
		cfg.RouteTimeouts[name] = t
		return nil
	})
}

// disabledIfZero maps a flag's 0 (Envoy's "disabled") to the negative duration that disables a
// timeout in devgateway.Config, whose 0 means the default.
func disabledIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// run starts the gateway with the flags in args, prints where it listens and what to try, and
// serves until ctx ends. A value on hup reloads the configuration file.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.hashKey != "" {
		return printHashLine(o, os.Stdin, stdout)
	}
	o.cfg.Module, err = os.ReadFile(o.wasm)
	if err != nil {
		return fmt.Errorf("%w (run `make wasm` first)", err)
	}
	switch {
	case o.config == "":
	case o.reload:
		o.cfg.ConfigPath = o.config
	default:
		if o.cfg.PluginConfig, err = os.ReadFile(o.config); err != nil {
			return err
		}
	}
	o.cfg.Logf = log.New(stderr, "", log.LstdFlags).Printf
	g, err := devgateway.Start(ctx, o.cfg)
	if err != nil {
		return err
	}
	printBanner(stdout, o, g)
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "stepgate-dev: draining")
			sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			return g.Shutdown(sctx)
		case <-hup:
			if o.config == "" {
				o.cfg.Logf("stepgate-dev: SIGHUP: no -config to reload")
			} else if data, err := os.ReadFile(o.config); err != nil {
				o.cfg.Logf("stepgate-dev: SIGHUP: %v", err)
			} else if err := g.Reload(ctx, data); err != nil {
				o.cfg.Logf("stepgate-dev: SIGHUP: configuration refused, the previous one keeps serving: %v", err)
			} else {
				o.cfg.Logf("stepgate-dev: SIGHUP: configuration reloaded")
			}
		}
	}
}

func printBanner(w io.Writer, o *options, g *devgateway.Gateway) {
	printTitle(w, o)
	fmt.Fprintf(w, "  listening on %s\n", g.URL())
	if g.AdminURL() != "" {
		fmt.Fprintf(w, "  admin on      %s  (/ready /stats /stats/prometheus)\n", g.AdminURL())
	}
	for _, c := range realClusters(g) {
		fmt.Fprintf(w, "  %s goes to %s\n", c[0], c[1])
	}
	if g.MockURL() != "" {
		var mocked []string
		for name, url := range g.Clusters() {
			if url == g.MockURL() {
				mocked = append(mocked, name)
			}
		}
		slices.Sort(mocked)
		fmt.Fprintf(w, "  mock providers on %s for %s\n", g.MockURL(), strings.Join(mocked, ", "))
	}
	printMCP(w, g)
	model := chatModel(g.PluginConfig())
	if model == "" {
		return
	}
	key := demoAuth(g.PluginConfig())
	fmt.Fprintf(w, "\nTry a chat completion:\n  %s\n", chatCurl(g.URL(), key, model, "hello"))
	fmt.Fprintf(w, "\nAnd throttling (60 requests, 20 at a time; count the status codes and steps):\n  %s\n", throttleLoop(g.URL(), key, model))
}

// printTitle is the banner's first line: stepgate's with -preset stepgate, else a neutral one
// naming the filter as Envoy would.
func printTitle(w io.Writer, o *options) {
	config := o.config
	if config == "" {
		config = "no plugin configuration"
	}
	if o.cfg.Preset == devgateway.PresetStepgate {
		fmt.Fprintf(w, "stepgate dev gateway: %s with %s, %d workers\n", o.wasm, config, o.cfg.Workers)
		return
	}
	fmt.Fprintf(w, "dev gateway (hostsim): %s with %s, %d workers; name %q, root_id %q, vm_id %q\n",
		o.wasm, config, o.cfg.Workers, o.cfg.PluginName, o.cfg.RootID, o.cfg.VMID)
}

// realClusters are the clusters that go to a real upstream (name, URL), sorted.
func realClusters(g *devgateway.Gateway) [][2]string {
	var out [][2]string
	for name, url := range g.Clusters() {
		if url != g.MockURL() {
			out = append(out, [2]string{name, url})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

// chatModel picks the model for the curl lines: gpt-4o-mini when the configuration routes it,
// else the first route with a single backend.
func chatModel(config []byte) string {
	routes := gjson.GetBytes(config, "models.routes")
	if routes.Get("gpt-4o-mini").Exists() {
		return "gpt-4o-mini"
	}
	var first string
	routes.ForEach(func(k, v gjson.Result) bool {
		if !strings.ContainsRune(k.Str, '*') {
			first = k.Str
			return false
		}
		return true
	})
	return first
}

func chatBody(model, text string) string {
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]}`, model, text)
}

func chatCurl(base, auth, model, text string) string {
	return fmt.Sprintf("curl -s %s/v1/chat/completions%s -H 'content-type: application/json' -d '%s'", base, auth, chatBody(model, text))
}

// throttleLoop sends requests 20 at a time: faster than envoy/stepgate.json's model-requests
// rule refills (20/s, burst 40), so the answers go from allowed to shaped to 429.
func throttleLoop(base, auth, model string) string {
	return fmt.Sprintf("seq 60 | xargs -P 20 -I{} curl -s -o /dev/null -w '%%{http_code} %%header{x-stepgate-step}\\n' %s/v1/chat/completions%s -H 'content-type: application/json' -d '%s' | sort | uniq -c",
		base, auth, chatBody(model, "hello {}"))
}

// DemoKey is the API key of envoy/stepgate.json's demo consumer: the configuration holds only its
// hash, so the printed commands take the key from here, and only when the configuration knows it.
const DemoKey = "sg-demo-key-0123456789abcdef"

// demoAuth is the curl option sending the demo key, "" when config does not hold its hash.
func demoAuth(config []byte) string {
	if !strings.Contains(string(config), governance.Hash(DemoKey)) {
		return ""
	}
	return " -H 'authorization: Bearer " + DemoKey + "'"
}

// printHashLine prints the "keys" entry of a consumer for the key given with -hash-key.
func printHashLine(o *options, stdin io.Reader, stdout io.Writer) error {
	key := o.hashKey
	switch key {
	case "-":
		b, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return err
		}
		key = strings.TrimSpace(string(b))
	case "new":
		var r [24]byte
		if _, err := rand.Read(r[:]); err != nil {
			return err
		}
		key = "sg-" + hex.EncodeToString(r[:])
		fmt.Fprintf(stdout, "key (give it to the consumer; it is not stored anywhere): %s\n", key)
	}
	if key == "" {
		return errors.New("-hash-key: the key is empty")
	}
	fmt.Fprintln(stdout, governance.HashLine(o.keyID, key))
	return nil
}

// printMCP shows the MCP routes of the configuration: their URL, for an MCP client, and a tool
// call the gateway refuses (on the demo server's route, the tool it forbids).
func printMCP(w io.Writer, g *devgateway.Gateway) {
	var lines []string
	var demo string
	gjson.GetBytes(g.PluginConfig(), "mcp.servers").ForEach(func(name, s gjson.Result) bool {
		url := g.URL() + s.Get("path_prefix").String()
		note := ""
		if g.Clusters()[s.Get("cluster").String()] == g.MCPDemoURL() && g.MCPDemoURL() != "" {
			note = "  (the demo server: echo; report, paced per session; delete_all, forbidden)"
			demo = url
		}
		lines = append(lines, fmt.Sprintf("  %s: %s%s", name.Str, url, note))
		return true
	})
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\nMCP servers (Streamable HTTP; point an MCP client at the URL):\n%s\n", strings.Join(lines, "\n"))
	if demo != "" {
		fmt.Fprintf(w, "\nA tool call the gateway refuses:\n  curl -s %s -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -d '%s'\n",
			demo, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_all","arguments":{}}}`)
	}
}
