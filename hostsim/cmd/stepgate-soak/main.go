// Command stepgate-soak runs a bounded mixed load through the dev gateway and checks that its
// memory stays flat. It is what `make soak` runs:
//
//	go run ./hostsim/cmd/stepgate-soak -duration 60s -clients 8
//
// It starts the gateway in this process (the filter on hostsim, the mock providers), sends
// chat completions in every dialect, streamed and not, model listings, bad and unroutable
// requests from several clients, reloads the configuration now and then, and prints requests/s,
// the status counts, the process's RSS, the Go heap and the VMs' linear memory (after a forced
// collection) at the start (after a warm-up of a fifth of the run), the middle and the end. It exits 1 if RSS or VM memory grew from the start
// to the end by more than the stated bounds, or if a request failed without an HTTP answer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/sjson"

	"github.com/stepgate/stepgate/hostsim/devgateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "stepgate-soak:", err)
		}
		os.Exit(1)
	}
}

type options struct {
	wasm, config   string
	duration       time.Duration
	clients        int
	reloadEvery    time.Duration
	maxRSSGrowth   int64 // bytes
	maxVMGrowth    int64 // bytes
	workers        int
	warmupFraction float64
}

func parseFlags(args []string) (*options, error) {
	o := &options{warmupFraction: 0.2}
	fs := flag.NewFlagSet("stepgate-soak", flag.ContinueOnError)
	fs.StringVar(&o.wasm, "wasm", "build/stepgate.wasm", "the filter")
	fs.StringVar(&o.config, "config", "envoy/stepgate.json", "the plugin configuration")
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long the load runs")
	fs.IntVar(&o.clients, "clients", 8, "concurrent clients")
	fs.IntVar(&o.workers, "workers", 2, "worker VMs")
	fs.DurationVar(&o.reloadEvery, "reload-every", 5*time.Second, "reload the configuration this often (0: never)")
	rss := fs.Int64("max-rss-growth-mb", 64, "fail if RSS grows more than this from the start to the end")
	vm := fs.Int64("max-vm-growth-mb", 16, "fail if the VMs' linear memory grows more than this from the start to the end")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.duration <= 0 || o.clients < 1 || o.workers < 1 {
		return nil, errors.New("-duration, -clients and -workers must be positive")
	}
	o.maxRSSGrowth, o.maxVMGrowth = *rss<<20, *vm<<20
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	wasm, err := os.ReadFile(o.wasm)
	if err != nil {
		return fmt.Errorf("%w (run `make wasm` first)", err)
	}
	config, err := os.ReadFile(o.config)
	if err != nil {
		return err
	}
	var logs atomic.Int64
	g, err := devgateway.Start(ctx, devgateway.Config{
		Module: wasm, PluginConfig: config, Workers: o.workers,
		Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", Mock: true,
		AllowOnHeadersStopIteration: true,
		Logf:                        func(string, ...any) { logs.Add(1) }, // a call record per request: counted, not printed
	})
	if err != nil {
		return err
	}
	defer g.Close()
	fmt.Fprintf(out, "stepgate-soak: %s with %s, %d workers, %d clients for %s, a reload every %s\n",
		o.wasm, o.config, o.workers, o.clients, o.duration, o.reloadEvery)
	s := newSoak(g, config)
	return s.run(ctx, o, out)
}

// soak is one run: the load, its counts and the memory samples.
type soak struct {
	g      *devgateway.Gateway
	config []byte
	client *httpClient

	mu       sync.Mutex
	statuses map[int]int64
	total    int64
	failures []string
	reloads  int
}

func newSoak(g *devgateway.Gateway, config []byte) *soak {
	return &soak{g: g, config: config, client: newHTTPClient(), statuses: map[int]int64{}}
}

func (s *soak) run(ctx context.Context, o *options, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() { s.client.loop(ctx, s.g.URL(), c, s.record) })
	}
	if o.reloadEvery > 0 {
		wg.Go(func() { s.reloadLoop(ctx, o.reloadEvery) })
	}
	start := time.Now()
	samples := []sample{{name: "launch", at: start}} // for the first rate only
	for i, at := range []float64{o.warmupFraction, 0.5, 1} {
		wait := time.Until(start.Add(time.Duration(at * float64(o.duration))))
		if i == 2 {
			wg.Wait() // the end: every client stopped
		} else {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		smp, err := s.sample([]string{"start", "middle", "end"}[i])
		if err != nil {
			return err
		}
		samples = append(samples, smp)
		printSample(out, samples)
	}
	return s.verdict(out, o, samples[1:])
}

func (s *soak) record(status int, failure string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.statuses[status]++
	if failure != "" && len(s.failures) < 5 {
		s.failures = append(s.failures, failure)
	}
}

// reloadLoop alternates the configuration's log level, so that each reload is a real change.
func (s *soak) reloadLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, _ := sjson.SetBytes(s.config, "log.level", []string{"debug", "info"}[i%2])
		if err := s.g.Reload(ctx, next); err != nil && ctx.Err() == nil {
			s.record(0, "reload: "+err.Error())
			continue
		}
		s.mu.Lock()
		s.reloads++
		s.mu.Unlock()
	}
}

// verdict compares the end with the start and states the bounds.
func (s *soak) verdict(out io.Writer, o *options, samples []sample) error {
	first, last := samples[0], samples[len(samples)-1]
	rss, vm := int64(last.rss)-int64(first.rss), int64(last.vm)-int64(first.vm)
	fmt.Fprintf(out, "memory from start to end: RSS %+.1f MB (bound %d MB), VM linear memory %+.1f MB (bound %d MB); %d reloads\n",
		mb(rss), o.maxRSSGrowth>>20, mb(vm), o.maxVMGrowth>>20, s.reloads)
	var errs []string
	if rss > o.maxRSSGrowth {
		errs = append(errs, fmt.Sprintf("RSS grew by %.1f MB", mb(rss)))
	}
	if vm > o.maxVMGrowth {
		errs = append(errs, fmt.Sprintf("VM memory grew by %.1f MB", mb(vm)))
	}
	s.mu.Lock()
	if n := s.statuses[0]; n > 0 {
		errs = append(errs, fmt.Sprintf("%d requests failed without an answer (first: %s)", n, strings.Join(s.failures, "; ")))
	}
	s.mu.Unlock()
	if len(errs) > 0 {
		return errors.New("FAIL: " + strings.Join(errs, ", "))
	}
	fmt.Fprintln(out, "PASS")
	return nil
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// sample is the gateway's state at one point of the run.
type sample struct {
	name          string
	at            time.Time
	total         int64
	statuses      map[int]int64
	rss, heap, vm uint64
	generations   uint64
	workerVMs     []uint64
}

// sample reads the counts and the gateway's server stats. Memory is read after a collection
// that hands free memory back to the OS, so that RSS measures what is kept, not the garbage of
// the moment.
func (s *soak) sample(name string) (sample, error) {
	smp := sample{name: name, at: time.Now()}
	debug.FreeOSMemory()
	s.mu.Lock()
	smp.total = s.total
	smp.statuses = make(map[int]int64, len(s.statuses))
	for k, v := range s.statuses {
		smp.statuses[k] = v
	}
	s.mu.Unlock()
	for _, st := range s.g.ServerStats() {
		switch {
		case st.Name == "server.memory_physical_size":
			smp.rss = st.Value
		case st.Name == "server.memory_allocated":
			smp.heap = st.Value
		case st.Name == "hostsim.vm_memory_bytes":
			smp.vm = st.Value
		case st.Name == "hostsim.generations":
			smp.generations = st.Value
		case strings.HasPrefix(st.Name, "hostsim.worker_"):
			smp.workerVMs = append(smp.workerVMs, st.Value)
		}
	}
	if smp.rss == 0 {
		return smp, errors.New("no RSS reading (server.memory_physical_size needs Linux's /proc)")
	}
	return smp, nil
}

func printSample(out io.Writer, samples []sample) {
	cur := samples[len(samples)-1]
	prev := samples[len(samples)-2]
	rate := float64(cur.total-prev.total) / cur.at.Sub(prev.at).Seconds()
	codes := slices.Sorted(func(yield func(int) bool) {
		for k := range cur.statuses {
			if !yield(k) {
				return
			}
		}
	})
	var st []string
	for _, c := range codes {
		st = append(st, fmt.Sprintf("%d×%d", c, cur.statuses[c]))
	}
	vms := make([]string, len(cur.workerVMs))
	for i, v := range cur.workerVMs {
		vms[i] = fmt.Sprintf("%.1f", float64(v)/(1<<20))
	}
	fmt.Fprintf(out, "%-6s requests %d (%.0f/s since the previous line)  statuses %s\n", cur.name, cur.total, rate, strings.Join(st, " "))
	fmt.Fprintf(out, "       RSS %.1f MB  Go heap %.1f MB  VM memory %.1f MB (workers %s MB; %d configurations running)\n",
		float64(cur.rss)/(1<<20), float64(cur.heap)/(1<<20), float64(cur.vm)/(1<<20), strings.Join(vms, ", "), cur.generations)
}
