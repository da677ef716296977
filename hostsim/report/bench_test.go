package report

import (
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
)

// synthetic produces call records on the fly, like a busy gateway's log: 20 tenants, 6 models
// at 3 providers, 2 000 keys, one call every 900 ms (about a month per 3 million records),
// latencies spread over two orders of magnitude. It never holds more than one line.
type synthetic struct {
	n, limit int64
	rng      *rand.Rand
	line     []byte
	off      int
}

func newSynthetic(records int64) *synthetic {
	return &synthetic{limit: records, rng: rand.New(rand.NewPCG(7, 11))}
}

var (
	synthModels    = []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku-4", "gemini-2.0-flash", "llama3"}
	synthProviders = []string{"openai", "openai", "anthropic", "anthropic", "gemini", "ollama"}
	synthSteps     = []string{"allow", "allow", "allow", "allow", "allow", "allow", "shape", "degrade", "reject"}
)

func (s *synthetic) next() {
	i := s.n
	s.n++
	m := s.rng.IntN(len(synthModels))
	step := synthSteps[s.rng.IntN(len(synthSteps))]
	b := s.line[:0]
	b = append(b, `{"ts_ms":`...)
	b = strconv.AppendInt(b, 1767225600000+i*900, 10)
	b = append(b, `,"request_id":"req-`...)
	b = strconv.AppendInt(b, i, 16)
	b = append(b, `","method":"POST","path":"/v1/chat/completions","dialect":"openai","tenant":"tenant-`...)
	b = strconv.AppendInt(b, int64(s.rng.IntN(20)), 10)
	b = append(b, `","key_id":"key-`...)
	b = strconv.AppendInt(b, int64(s.rng.IntN(2000)), 10)
	b = append(b, `","model":"`...)
	b = append(b, synthModels[m]...)
	b = append(b, `","upstream_model":"`...)
	b = append(b, synthModels[m]...)
	b = append(b, `","provider":"`...)
	b = append(b, synthProviders[m]...)
	b = append(b, `","step":"`...)
	b = append(b, step...)
	if step == "reject" {
		b = append(b, `","status":429,"latency_ms":1,"error_type":"throttle","rule":"tenant-tpm"}`+"\n"...)
	} else {
		lat := 50 + s.rng.Int64N(200)*s.rng.Int64N(20)
		b = append(b, `","status":200,"tokens_in":`...)
		b = strconv.AppendInt(b, 10+s.rng.Int64N(2000), 10)
		b = append(b, `,"tokens_out":`...)
		b = strconv.AppendInt(b, 1+s.rng.Int64N(800), 10)
		b = append(b, `,"latency_ms":`...)
		b = strconv.AppendInt(b, lat, 10)
		b = append(b, `,"rule":"tenant-tpm","tokens_estimated":2600,"ttfb_ms":`...)
		b = strconv.AppendInt(b, lat/3, 10)
		b = append(b, `,"request_bytes":900,"response_bytes":2400}`+"\n"...)
	}
	s.line, s.off = b, 0
}

func (s *synthetic) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if s.off == len(s.line) {
			if s.n == s.limit {
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			s.next()
		}
		c := copy(p[n:], s.line[s.off:])
		s.off += c
		n += c
	}
	return n, nil
}

// corpus is records held in memory, so that the benchmark measures the report, not the
// generator.
func corpus(records int64) []byte {
	b, _ := io.ReadAll(newSynthetic(records))
	return b
}

type bytesReader struct {
	b   []byte
	off int
}

func (r *bytesReader) Read(p []byte) (int, error) {
	if r.off == len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// BenchmarkReport reads records and aggregates them, as stepgate-report does, on one goroutine.
func BenchmarkReport(b *testing.B) {
	const records = 200_000
	data := corpus(records)
	b.SetBytes(int64(len(data)))
	runtime.GC()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		a := NewAggregator()
		if err := a.Read(&bytesReader{b: data}); err != nil {
			b.Fatal(err)
		}
		if a.Input.Records != records {
			b.Fatalf("%d records", a.Input.Records)
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(records)*float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}

// BenchmarkSummary is the read-out at the end (findings, series, tables), once per report.
func BenchmarkSummary(b *testing.B) {
	a := NewAggregator()
	a.Read(newSynthetic(500_000))
	b.ResetTimer()
	for range b.N {
		a.Summary()
	}
}

// BenchmarkMemory1GB streams about 1 GB of generated records (3 million) through the report
// and reports the largest live heap seen, which must not depend on the input's size
// (`go test -run='^$' -bench=Memory1GB -benchtime=1x ./hostsim/report`).
func BenchmarkMemory1GB(b *testing.B) {
	for range b.N {
		peak, read := peakHeap(b, 3_200_000, 400_000)
		b.ReportMetric(float64(peak)/(1<<20), "peak-live-MB")
		b.ReportMetric(float64(read)/(1<<30), "GB-read")
	}
}

// peakHeap reads records generated records and returns the largest live heap (after a GC)
// at every checkpoint, and the bytes read.
func peakHeap(tb testing.TB, records, every int64) (peak uint64, read int64) {
	src := newSynthetic(records)
	counted := &countReader{r: src}
	a := NewAggregator()
	var ms runtime.MemStats
	for done := int64(0); done < records; done += every {
		src.limit = min(done+every, records)
		if err := a.Read(counted); err != nil {
			tb.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	a.Summary()
	return peak, counted.n
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Memory does not grow with the input: ten times the records keep about the same live heap.
func TestMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100 MB of generated records")
	}
	small, _ := peakHeap(t, 30_000, 10_000)
	large, read := peakHeap(t, 300_000, 100_000)
	t.Logf("live heap: %.1f MB for 30k records, %.1f MB for 300k (%.0f MB read)", float64(small)/(1<<20), float64(large)/(1<<20), float64(read)/(1<<20))
	if large > 2*small+16<<20 {
		t.Errorf("live heap grew from %d to %d bytes with ten times the records", small, large)
	}
}
