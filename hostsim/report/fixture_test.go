package report

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/calls.jsonl.gz")

// fixtureStart is a Tuesday; the fixture covers Tuesday to Thursday, one call every 5 minutes
// for each tenant and model. Its trends, which the tests expect as findings:
//   - claude-sonnet-4 (provider anthropic) answers in 400 ms (first byte 200 ms) until Thursday,
//     then in 1 120 ms (first byte 900 ms);
//   - tenant acme is rejected on about 0.35% of its calls until Thursday, then on 12%;
//   - openai answers 503 to one call in 50 throughout (no trend).
var fixtureStart = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func fixtureRecords() []string {
	var lines []string
	type combo struct{ tenant, model, upstream, provider string }
	combos := []combo{
		{"acme", "gpt-4o", "gpt-4o", "openai"}, {"acme", "claude", "claude-sonnet-4", "anthropic"},
		{"globex", "gpt-4o", "gpt-4o", "openai"}, {"globex", "claude", "claude-sonnet-4", "anthropic"},
	}
	acme := 0
	for slot := range 3 * 24 * 12 {
		ts := fixtureStart.Add(time.Duration(slot) * 5 * time.Minute)
		thursday := ts.Weekday() == time.Thursday
		for i, c := range combos {
			t := ts.Add(time.Duration(i) * time.Second).UnixMilli()
			key := fmt.Sprintf("key-%s-%d", c.tenant, slot%3)
			head := fmt.Sprintf(`{"ts_ms":%d,"request_id":"r%d-%d","method":"POST","path":"/v1/chat/completions","dialect":"openai","tenant":%q,"key_id":%q,"model":%q,"upstream_model":%q,"provider":%q`,
				t, slot, i, c.tenant, key, c.model, c.upstream, c.provider)
			rejected := false
			if c.tenant == "acme" {
				rejected = !thursday && acme%288 == 7 || thursday && acme%25 < 3
				acme++
			}
			lat, ttfb := 400, 200
			if c.provider == "anthropic" && thursday {
				lat, ttfb = 1120, 900
			}
			switch {
			case rejected:
				lines = append(lines, head+`,"step":"reject","status":429,"latency_ms":1,"error":"rate limit exceeded","error_type":"throttle","rule":"tenant-tpm","tokens_estimated":520,"request_bytes":90,"response_bytes":120}`)
			case c.provider == "openai" && slot%50 == 3:
				lines = append(lines, head+fmt.Sprintf(`,"step":"allow","status":503,"latency_ms":%d,"error_type":"provider","rule":"tenant-tpm","tokens_estimated":520,"ttfb_ms":%d,"request_bytes":90,"response_bytes":80}`, lat, ttfb))
			default:
				lines = append(lines, head+fmt.Sprintf(`,"step":"allow","status":200,"tokens_in":20,"tokens_out":%d,"latency_ms":%d,"rule":"tenant-tpm","tokens_estimated":520,"ttfb_ms":%d,"request_bytes":90,"response_bytes":400}`, 30+slot%7, lat, ttfb))
			}
		}
	}
	return lines
}

func fixtureGzip() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	for _, l := range fixtureRecords() {
		zw.Write([]byte(l + "\n"))
	}
	zw.Close()
	return buf.Bytes()
}

// The committed fixture is what fixtureRecords describes (go test -run Fixture -update rewrites it).
func TestFixtureIsCurrent(t *testing.T) {
	const path = "testdata/calls.jsonl.gz"
	if *update {
		if err := os.WriteFile(path, fixtureGzip(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	got.ReadFrom(zr)
	var want bytes.Buffer
	for _, l := range fixtureRecords() {
		want.WriteString(l + "\n")
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("%s is stale: run go test ./hostsim/report -run Fixture -update", path)
	}
}
