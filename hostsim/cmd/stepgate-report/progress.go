package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stepgate/stepgate/hostsim/report"
)

// showProgress decides whether to draw the bar: on a terminal only, unless forced.
func showProgress(mode string, stderr io.Writer) bool {
	switch mode {
	case "on":
		return true
	case "off":
		return false
	}
	f, ok := stderr.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress draws a one-line bar on stderr as the inputs are read (bytes as stored, so a gzip
// input advances by its compressed size). It redraws at most every redrawEvery, from the reads
// themselves: no goroutine, no timer.
type progress struct {
	w       io.Writer
	total   int64 // bytes, -1 when unknown (stdin)
	read    int64
	on      bool
	last    time.Time
	drawn   bool
	records func() int64
}

const redrawEvery = 100 * time.Millisecond

func newProgress(w io.Writer, total int64, on bool) *progress {
	return &progress{w: w, total: total, on: on}
}

func (p *progress) wrap(r io.Reader, a *report.Aggregator) io.Reader {
	if !p.on {
		return r
	}
	p.records = func() int64 { return a.Input.Records }
	return &countingReader{r: r, p: p}
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.read += int64(n)
	if now := time.Now(); now.Sub(c.p.last) >= redrawEvery {
		c.p.last = now
		c.p.draw()
	}
	return n, err
}

const barWidth = 30

func (p *progress) draw() {
	var line string
	if p.total > 0 {
		frac := min(float64(p.read)/float64(p.total), 1)
		full := int(frac * barWidth)
		line = fmt.Sprintf("[%s%s] %3.0f%% %s / %s, %d records", strings.Repeat("#", full),
			strings.Repeat(".", barWidth-full), frac*100, size(p.read), size(p.total), p.records())
	} else {
		line = fmt.Sprintf("%s read, %d records", size(p.read), p.records())
	}
	fmt.Fprintf(p.w, "\r%-70s", line)
	p.drawn = true
}

// clear removes the bar so that what follows starts on a clean line.
func (p *progress) clear() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%-70s\r", "")
		p.drawn = false
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d kB", n>>10)
}
