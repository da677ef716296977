// Command mockprovider serves the hostsim/devgateway/mockprovider emulations of OpenAI, Azure
// OpenAI, Anthropic, Gemini and Ollama over HTTP, for docker compose and manual tests:
//
//	mockprovider -listen 127.0.0.1:8081 -kind all -keys k1,k2
//
// With -kind all, every provider shares the listener (see mockprovider.Mux for the routing).
// Faults are queued with POST /__mock/faults, recorded requests read with GET /__mock/requests,
// and GET /__mock/health answers 200 for health checks (`mockprovider -probe
// http://127.0.0.1:8081/__mock/health` exits 0 when it does, for images without curl).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stepgate/stepgate/hostsim/devgateway/mockprovider"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mockprovider:", err)
		os.Exit(2)
	}
}

// config is what the flags say.
type config struct {
	listen string
	kind   string
	opts   mockprovider.Options
	quiet  bool
	probe  string
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("mockprovider", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8081", "address to listen on")
	fs.StringVar(&c.kind, "kind", "all", "provider to emulate: openai, azure, anthropic, gemini, ollama, bedrock or all")
	keys := fs.String("keys", mockprovider.DefaultKey, "comma-separated API keys the providers accept")
	models := fs.String("models", "", "comma-separated model names served (default: any)")
	deployments := fs.String("deployments", "", "Azure deployments as name=model,name=model (default: any, reporting its own name)")
	versions := fs.String("api-versions", "", "comma-separated Azure api-version values accepted (default: the published ones)")
	fs.BoolVar(&c.opts.OllamaAuth, "ollama-auth", false, "make Ollama require Authorization: Bearer KEY")
	fs.DurationVar(&c.opts.ChunkDelay, "chunk-delay", 0, "pause between stream chunks")
	fs.BoolVar(&c.quiet, "quiet", false, "do not log each request")
	fs.StringVar(&c.probe, "probe", "", "health-check mode: GET this URL, exit 0 on 200 (for container health checks)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.opts.Keys = splitList(*keys)
	c.opts.Models = splitList(*models)
	c.opts.APIVersions = splitList(*versions)
	for _, d := range splitList(*deployments) {
		name, model, ok := strings.Cut(d, "=")
		if !ok || name == "" || model == "" {
			return c, fmt.Errorf("-deployments: %q: want name=model", d)
		}
		if c.opts.Deployments == nil {
			c.opts.Deployments = map[string]string{}
		}
		c.opts.Deployments[name] = model
	}
	if c.kind != "all" {
		if _, err := mockprovider.ParseKind(c.kind); err != nil {
			return c, fmt.Errorf("-kind: %w", err)
		}
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// handler builds the http.Handler the flags describe.
func (c config) handler() http.Handler {
	var h http.Handler
	if c.kind == "all" {
		h = mockprovider.NewMux(c.opts)
	} else {
		k, _ := mockprovider.ParseKind(c.kind)
		h = mockprovider.New(k, c.opts)
	}
	if c.quiet {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			log.Printf("%s %s %d %s", r.Method, r.URL.RequestURI(), sw.status, time.Since(start).Round(time.Millisecond))
		}()
		h.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status for the access log and keeps flushing working.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func run(args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if c.probe != "" {
		return probe(c.probe)
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("mockprovider: serving %s on http://%s", c.kind, ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// probe is the container health check: images without curl run the binary itself.
func probe(url string) error {
	client := &http.Client{Timeout: 3 * time.Second}
	res, err := client.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: status %d", url, res.StatusCode)
	}
	return nil
}
