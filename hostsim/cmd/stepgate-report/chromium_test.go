package main

import (
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// chromium finds the browser (Debian's package is `chromium`; .ci/run installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (apt-get install chromium)")
	return ""
}

// requestLog is an HTTP proxy that answers 404 to everything and remembers what was asked: the
// browser runs with it as its proxy, so any network request the page makes lands here.
type requestLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.seen = append(l.seen, r.Method+" "+r.Host+" "+r.URL.String())
	l.mu.Unlock()
	http.Error(w, "offline", http.StatusNotFound)
}

func (l *requestLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// browserHosts are the browser's own services (updates, sign-in, time), which Chromium calls
// whatever the page, even with background networking off. Any other host is the page's doing.
var browserHosts = []string{".google.com", ".googleapis.com", ".gvt1.com", ".gstatic.com"}

func pageRequests(all []string) []string {
	var out []string
next:
	for _, r := range all {
		host, _, _ := strings.Cut(strings.Fields(r)[1], ":")
		for _, b := range browserHosts {
			if strings.HasSuffix("."+host, b) {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// screenshot renders page in headless Chromium through the logging proxy.
func screenshot(t *testing.T, browser, page, out string, proxy *requestLog) {
	t.Helper()
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-default-apps", "--no-pings",
		"--disable-client-side-phishing-detection", "--disable-domain-reliability",
		"--user-data-dir="+t.TempDir(),
		"--proxy-server="+srv.URL, "--proxy-bypass-list=<-loopback>",
		"--hide-scrollbars", "--window-size=1400,2400", "--virtual-time-budget=3000",
		"--screenshot="+out, "file://"+page)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, msg)
	}
}

// The report renders in a real browser without a single network request and shows its charts.
// The screenshot stays in build/report-screenshot.png for people to look at.
func TestReportRendersOfflineInChromium(t *testing.T) {
	browser := chromium(t)
	build, err := filepath.Abs(filepath.Join("..", "..", "..", "build"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(build, 0o755)
	page := filepath.Join(build, "report-screenshot.html")
	if err := run(append([]string{"-o", page}, fixtures...), nil, new(strings.Builder), new(strings.Builder)); err != nil {
		t.Fatal(err)
	}
	// The proxy does see a page that loads something: the check below can fail.
	control := filepath.Join(t.TempDir(), "control.html")
	os.WriteFile(control, []byte(`<!DOCTYPE html><img src="http://stepgate.invalid/x.png">`), 0o644)
	var controlLog requestLog
	screenshot(t, browser, control, filepath.Join(t.TempDir(), "control.png"), &controlLog)
	if len(pageRequests(controlLog.requests())) == 0 {
		t.Fatal("the logging proxy saw no request from a page that makes one")
	}

	var log requestLog
	shot := filepath.Join(build, "report-screenshot.png")
	screenshot(t, browser, page, shot, &log)
	if reqs := pageRequests(log.requests()); len(reqs) > 0 {
		t.Errorf("the report made network requests: %v", reqs)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The chart lines are drawn in the palette's blue and orange; text, frames and background
	// are greys. Thousands of such pixels mean the charts were drawn.
	blue, orange := coloured(img, 0, 114, 178), coloured(img, 230, 159, 0)
	if blue < 2000 || orange < 2000 {
		t.Errorf("screenshot %s: %d blue and %d orange chart pixels, want charts", shot, blue, orange)
	}
}

// coloured counts the pixels close to one colour.
func coloured(img image.Image, r, g, b int) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(int(pr>>8), r) && near(int(pg>>8), g) && near(int(pb>>8), b) {
				n++
			}
		}
	}
	return n
}

func near(a, b int) bool { return a-b < 40 && b-a < 40 }
