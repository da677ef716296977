// Command stepgate-report turns the filter's call records into a usage report: a self-contained
// HTML page with charts, trend findings in words, and a short summary on the terminal (or JSON).
//
//	stepgate-report [flags] [FILE ...]
//
// FILEs hold call records as JSON lines, or log lines that carry them (Envoy's log, the dev
// gateway's log), plain or gzip; - or no FILE reads stdin. `make report` runs
//
//	go run ./hostsim/cmd/stepgate-report -o build/report.html build/calls.jsonl
//
// Flags:
//
//	-o FILE        the HTML report (default stepgate-report.html; "" writes none)
//	-json          print the summary as JSON instead of text
//	-title TEXT    the HTML page's title
//	-progress MODE auto (a bar on stderr when it is a terminal), on or off
//
// docs/REPORT.md describes the report.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/stepgate/stepgate/hostsim/report"
)

func main() {
	err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "stepgate-report:", err)
		os.Exit(1)
	}
}

type options struct {
	html, title, progress string
	json                  bool
	files                 []string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("stepgate-report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.html, "o", "stepgate-report.html", "write the HTML report to `FILE` (\"\" for none)")
	fs.BoolVar(&o.json, "json", false, "print the summary as JSON instead of text")
	fs.StringVar(&o.title, "title", "stepgate usage report", "the HTML page's title")
	fs.StringVar(&o.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), on, off")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch o.progress {
	case "auto", "on", "off":
	default:
		return nil, fmt.Errorf("-progress %q: want auto, on or off", o.progress)
	}
	o.files = fs.Args()
	if len(o.files) == 0 {
		o.files = []string{"-"}
	}
	return o, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	inputs, total, err := openInputs(o.files, stdin)
	if err != nil {
		return err
	}
	defer func() {
		for _, in := range inputs {
			in.close()
		}
	}()
	bar := newProgress(stderr, total, showProgress(o.progress, stderr))
	a := report.NewAggregator()
	for _, in := range inputs {
		if err := a.Read(bar.wrap(in.r, a)); err != nil {
			bar.clear()
			fmt.Fprintf(stderr, "stepgate-report: %s: %v (the records before it are counted)\n", in.name, err)
		}
	}
	bar.clear()
	s := a.Summary()
	if o.html != "" {
		if err := writeHTML(o.html, s, o.title); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	if err := report.WriteText(stdout, s); err != nil {
		return err
	}
	if o.html != "" {
		fmt.Fprintf(stdout, "report: %s\n", o.html)
	}
	return nil
}

type input struct {
	name  string
	r     io.Reader
	close func()
}

// openInputs opens every file first, so that a wrong name fails before minutes of reading.
func openInputs(files []string, stdin io.Reader) ([]input, int64, error) {
	var out []input
	var total int64
	for _, name := range files {
		if name == "-" {
			out = append(out, input{"stdin", stdin, func() {}})
			total = -1
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			for _, in := range out {
				in.close()
			}
			return nil, 0, err
		}
		if st, err := f.Stat(); err == nil && total >= 0 {
			total += st.Size()
		}
		out = append(out, input{name, f, func() { f.Close() }})
	}
	return out, total, nil
}

func writeHTML(path string, s *report.Summary, title string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = report.WriteHTML(w, s, title)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
