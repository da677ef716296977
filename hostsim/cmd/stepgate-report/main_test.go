package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

var fixtures = []string{"../../report/testdata/calls.jsonl.gz", "../../report/testdata/mixed.log"}

// summary is the part of the -json output the tests read.
type summary struct {
	BucketWidth string                          `json:"bucket_width"`
	Requests    int64                           `json:"requests"`
	Steps       map[string]int64                `json:"steps"`
	Errors      map[string]int64                `json:"errors"`
	TokensIn    int64                           `json:"tokens_in"`
	TokensOut   int64                           `json:"tokens_out"`
	LatencyMs   struct{ P50, P95, P99 float64 } `json:"latency_ms"`
	TTFBMs      struct{ P50, P95, P99 float64 } `json:"ttfb_ms"`
	Input       map[string]int64
	Findings    []struct{ Subject, Metric, Text string }
	Top         map[string][]struct {
		Name     string
		Requests int64
	}
	NoisiestMinutes []struct{ Calls int64 } `json:"noisiest_minutes"`
	Series          []struct{ Requests int64 }
}

func runReport(t *testing.T, args ...string) (summary, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	htmlPath := filepath.Join(t.TempDir(), "report.html")
	if err := run(append([]string{"-json", "-o", htmlPath}, args...), nil, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("-json output: %v\n%s", err, out.String())
	}
	return s, htmlPath
}

// reference reads the fixtures the simplest way (whole records in memory, encoding/json, exact
// percentiles): what the streaming report must agree with.
type reference struct {
	n, tokensIn, tokensOut int64
	steps, errs            map[string]int64
	lat, ttfb              []float64
}

func readReference(t *testing.T) reference {
	ref := reference{steps: map[string]int64{}, errs: map[string]int64{}}
	for _, name := range fixtures {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(name, ".gz") {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatal(err)
			}
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			i := strings.Index(line, `{"ts_ms":`)
			var rec struct {
				TsMs      *int64 `json:"ts_ms"`
				Step      string
				ErrorType string   `json:"error_type"`
				TokensIn  int64    `json:"tokens_in"`
				TokensOut int64    `json:"tokens_out"`
				LatencyMs float64  `json:"latency_ms"`
				TTFBMs    *float64 `json:"ttfb_ms"`
			}
			if i < 0 || json.Unmarshal([]byte(line[i:]), &rec) != nil || rec.TsMs == nil {
				continue
			}
			ref.n++
			ref.steps[rec.Step]++
			if rec.ErrorType != "" {
				ref.errs[rec.ErrorType]++
			}
			ref.tokensIn += rec.TokensIn
			ref.tokensOut += rec.TokensOut
			ref.lat = append(ref.lat, rec.LatencyMs)
			if rec.TTFBMs != nil {
				ref.ttfb = append(ref.ttfb, *rec.TTFBMs)
			}
		}
		f.Close()
	}
	slices.Sort(ref.lat)
	slices.Sort(ref.ttfb)
	return ref
}

func nearestRank(sorted []float64, q float64) float64 {
	return sorted[int(math.Ceil(q*float64(len(sorted))))-1]
}

func within1pct(got, want float64) bool { return math.Abs(got-want) <= 0.01*want+0.5 }

func TestReportOfTheFixture(t *testing.T) {
	s, _ := runReport(t, fixtures...)
	ref := readReference(t)
	if s.Requests != ref.n || s.TokensIn != ref.tokensIn || s.TokensOut != ref.tokensOut {
		t.Errorf("requests %d tokens %d/%d, want %d %d/%d", s.Requests, s.TokensIn, s.TokensOut, ref.n, ref.tokensIn, ref.tokensOut)
	}
	for _, step := range []string{"allow", "shape", "degrade", "reject"} {
		if s.Steps[step] != ref.steps[step] {
			t.Errorf("step %s: %d, want %d", step, s.Steps[step], ref.steps[step])
		}
	}
	for _, e := range []string{"client", "throttle", "provider", "gateway"} {
		if s.Errors[e] != ref.errs[e] {
			t.Errorf("errors %s: %d, want %d", e, s.Errors[e], ref.errs[e])
		}
	}
	// The fixture is built so that these are not trivial (see fixture_test.go in hostsim/report).
	if nearestRank(ref.lat, 0.5) != 400 || nearestRank(ref.lat, 0.95) != 1120 || nearestRank(ref.ttfb, 0.95) != 900 {
		t.Fatalf("reference percentiles are off: the fixture changed")
	}
	for _, c := range []struct {
		name      string
		got       [3]float64
		reference []float64
	}{
		{"latency", [3]float64{s.LatencyMs.P50, s.LatencyMs.P95, s.LatencyMs.P99}, ref.lat},
		{"ttfb", [3]float64{s.TTFBMs.P50, s.TTFBMs.P95, s.TTFBMs.P99}, ref.ttfb},
	} {
		for i, q := range []float64{0.5, 0.95, 0.99} {
			if want := nearestRank(c.reference, q); !within1pct(c.got[i], want) {
				t.Errorf("%s p%v = %v, want %v ±1%%", c.name, q*100, c.got[i], want)
			}
		}
	}
	// The fixture's designed figures, by hand: 3 days of one call per 5 minutes for 2 tenants ×
	// 2 models, plus mixed.log's 4 records.
	if s.Requests != 3*24*12*4+4 || s.BucketWidth != "1h" || len(s.Series) != 72 {
		t.Errorf("requests %d, buckets %d of %s", s.Requests, len(s.Series), s.BucketWidth)
	}
	wantInput := map[string]int64{"lines": 3456 + 10, "records": 3460, "skipped_lines": 4, "malformed_lines": 2,
		"too_long_lines": 0, "unknown_fields": 2, "out_of_order_records": 1, "read_errors": 0}
	for k, v := range wantInput {
		if s.Input[k] != v {
			t.Errorf("input %s = %d, want %d (all: %v)", k, s.Input[k], v, s.Input)
		}
	}
	var texts []string
	for _, f := range s.Findings {
		texts = append(texts, f.Text)
	}
	want := []string{
		"tenant acme hit reject on 12% of calls in the last 24h, up from 0.3%",
		"model claude-sonnet-4 p95 time to first byte +350% since Thu 00:00 UTC (200 ms → 900 ms)",
		"model claude-sonnet-4 p95 latency +180% since Thu 00:00 UTC (400 ms → 1.12 s)",
	}
	if !slices.Equal(texts, want) {
		t.Errorf("findings\n%s\nwant\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	if top := s.Top["key"]; len(top) == 0 || top[0].Name != "key-globex-0" && top[0].Name != "key-acme-0" {
		t.Errorf("top keys %+v", top)
	}
	// Every 5 minutes has 4 calls; mixed.log's late record adds a fifth to the very first minute.
	if len(s.NoisiestMinutes) == 0 || s.NoisiestMinutes[0].Calls != 5 || s.NoisiestMinutes[1].Calls != 4 {
		t.Errorf("noisiest minutes %+v", s.NoisiestMinutes)
	}
}

// The HTML is one self-contained page: it parses, every chart's SVG is well-formed XML, and
// nothing in it would load from elsewhere (no script, no external URL).
func TestHTMLIsSelfContained(t *testing.T) {
	_, path := runReport(t, fixtures...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	svgs := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "link", "img", "iframe", "object", "embed":
				t.Errorf("<%s> in the report", n.Data)
			case "svg":
				svgs++
				var buf bytes.Buffer
				html.Render(&buf, n)
				if err := xml.Unmarshal(buf.Bytes(), new(struct{})); err != nil {
					t.Errorf("chart %d is not well-formed SVG: %v", svgs, err)
				}
			}
			for _, a := range n.Attr {
				if a.Key == "src" || a.Key == "href" || strings.Contains(a.Val, "url(") {
					t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if svgs != 6+3*4+2*2 {
		t.Errorf("%d charts, want %d", svgs, 6+3*4+2*2)
	}
	if bytes.Contains(b, []byte("@import")) || bytes.Contains(b, []byte("http://")) && !bytes.Contains(b, []byte(`xmlns="http://www.w3.org/2000/svg"`)) {
		t.Error("the page refers to the network")
	}
}

func TestEmptyAndBadInputNeverFail(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	junk := filepath.Join(dir, "junk.log")
	os.WriteFile(junk, []byte("\x00\x01garbage\n{\"ts_ms\":\n{\"ts_ms\":1764158400000,\"status\":\"x\"}\n"), 0o644)
	s, path := runReport(t, empty, junk)
	if s.Requests != 0 || s.Input["malformed_lines"] != 2 || s.Input["skipped_lines"] != 1 {
		t.Errorf("summary %+v", s)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-o", "", "-"}, strings.NewReader(`{"ts_ms":1764158400000,"status":200,"latency_ms":12}`), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 calls") || !strings.Contains(out.String(), "1 records") {
		t.Errorf("text summary from stdin:\n%s", out.String())
	}
	if err := run([]string{filepath.Join(dir, "missing")}, nil, io.Discard, io.Discard); err == nil {
		t.Error("a missing file is not an error")
	}
	if err := run([]string{"-progress", "sometimes"}, nil, io.Discard, io.Discard); err == nil {
		t.Error("-progress sometimes accepted")
	}
}

func TestProgressBarIsDrawnAndCleared(t *testing.T) {
	var stderr bytes.Buffer
	p := newProgress(&stderr, 1000, true)
	p.records = func() int64 { return 7 }
	p.read = 500
	p.draw()
	if !strings.Contains(stderr.String(), "[###############...............]  50%") || !strings.Contains(stderr.String(), "7 records") {
		t.Errorf("bar %q", stderr.String())
	}
	p.clear()
	if !strings.HasSuffix(stderr.String(), "\r") {
		t.Error("bar not cleared")
	}
	if showProgress("auto", &stderr) {
		t.Error("a progress bar on a buffer")
	}
}
