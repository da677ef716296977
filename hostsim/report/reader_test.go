package report

import (
	"bytes"
	"compress/gzip"
	"os"
	"strings"
	"testing"

	"github.com/stepgate/stepgate/plugin/calllog"
)

func scanString(t *testing.T, s string) (Input, []Record) {
	t.Helper()
	var in Input
	var recs []Record
	keep := func(r *Record) {
		c := *r // the strings point into the reader's buffer
		c.Tenant, c.KeyID, c.Model = strings.Clone(r.Tenant), strings.Clone(r.KeyID), strings.Clone(r.Model)
		c.Provider, c.Step, c.ErrorType = strings.Clone(r.Provider), strings.Clone(r.Step), strings.Clone(r.ErrorType)
		recs = append(recs, c)
	}
	if err := Scan(strings.NewReader(s), &in, keep); err != nil {
		t.Fatal(err)
	}
	return in, recs
}

// Bad input is counted by kind and never stops the reading.
func TestScanCountsWhatItCannotUse(t *testing.T) {
	b, err := os.ReadFile("testdata/mixed.log")
	if err != nil {
		t.Fatal(err)
	}
	in, recs := scanString(t, string(b))
	want := Input{Lines: 10, Records: 4, Skipped: 4, Malformed: 2, UnknownFields: 2, OutOfOrder: 1}
	in.maxTs = 0
	if in != want {
		t.Errorf("input counts %+v, want %+v", in, want)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.Model+"/"+r.Provider)
	}
	if len(recs) != 4 || recs[0].KeyID != "key-globex-9" || recs[0].Model != "gpt-4o" || !recs[0].HasTTFB || recs[0].TTFBMs != 200 {
		t.Errorf("records %+v", recs)
	}
}

func TestScanReadsTheLastLineWithoutNewlineAndCRLF(t *testing.T) {
	in, recs := scanString(t, "{\"ts_ms\":1764158400001,\"status\":200}\r\n{\"ts_ms\":1764158400002,\"status\":500}")
	if in.Records != 2 || recs[1].Status != 500 || recs[1].ErrorType != "provider" {
		t.Errorf("%+v %+v", in, recs)
	}
}

func TestScanSkipsOverlongLines(t *testing.T) {
	long := `{"ts_ms":1764158400001,"path":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	in, recs := scanString(t, long+"\n"+`{"ts_ms":1764158400002}`+"\n"+strings.Repeat("y", 100<<10)+"\n")
	if in.TooLong != 1 || in.Records != 1 || recs[0].TsMs != 1764158400002 || in.Lines != 3 || in.Skipped != 1 {
		t.Errorf("%+v", in)
	}
}

func TestScanReadsGzipAndReportsATruncatedOne(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for range 1000 {
		zw.Write([]byte(`{"ts_ms":1764158400000,"status":200,"latency_ms":5}` + "\n"))
	}
	zw.Close()
	in, _ := scanString(t, buf.String())
	if in.Records != 1000 {
		t.Errorf("gzip: %+v", in)
	}
	var cut Input
	err := Scan(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), &cut, func(*Record) {})
	if err == nil || cut.ReadErrors != 1 || cut.Records == 0 {
		t.Errorf("truncated gzip: err %v, %+v", err, cut)
	}
}

func TestRecordFallsBackToTheClientModelAndGuessesErrorTypes(t *testing.T) {
	_, recs := scanString(t, `{"ts_ms":1764158400001,"model":"m","status":429,"step":"reject"}
{"ts_ms":1764158400001,"model":"m","upstream_model":"u","status":404}
{"ts_ms":1764158400001,"status":502,"error_type":"gateway"}`)
	if recs[0].Model != "m" || recs[0].ErrorType != "throttle" || recs[1].Model != "u" ||
		recs[1].ErrorType != "client" || recs[2].ErrorType != "gateway" {
		t.Errorf("%+v", recs)
	}
}

// FuzzScan: any bytes are read to the end without a panic, every line is accounted for once,
// and the summary of what was read can be written.
func FuzzScan(f *testing.F) {
	b, _ := os.ReadFile("testdata/mixed.log")
	f.Add(b)
	f.Add([]byte(`{"ts_ms":1764158400001,"status":200,"latency_ms":3,"ttfb_ms":-4,"tokens_in":-1}`))
	f.Add([]byte("{\"ts_ms\":9e99}\n{\"ts_ms\":-1}\n{\"ts_ms\":1764158400001,\"stream\":false,\"overflow\":[1]}\n\x1f\x8b"))
	f.Add([]byte("{\"ts_ms\":946684800000}\n{\"ts_ms\":7258118400000}\n"))
	f.Add([]byte("[1,2]\n\"x\"\n{}\n{\"ts_ms\":1764158400001,\"ts_ms\":2}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := NewAggregator()
		_ = a.Read(bytes.NewReader(data))
		in := a.Input
		if in.Records+in.Skipped+in.Malformed+in.TooLong != in.Lines {
			t.Fatalf("lines not accounted for: %+v", in)
		}
		s := a.Summary()
		if s.Requests != in.Records {
			t.Fatalf("summary has %d requests for %d records", s.Requests, in.Records)
		}
		_ = WriteText(&bytes.Buffer{}, s)
	})
}

// Every field the filter's call record can carry is known: a record with all of them set counts
// no unknown field, so the count means what it says (a newer filter, a foreign log).
func TestScanKnowsEveryFieldOfTheCallRecord(t *testing.T) {
	r := calllog.Record{StartUnixMs: 1764158400000, RequestID: "r", ProviderRequestID: "p", Method: "POST",
		Path: "/v1/chat/completions", Dialect: "openai", Tenant: "t", KeyID: "k", Route: "openai", Version: "v1",
		Model: "m", UpstreamModel: "um", Provider: "pr", Step: "allow", MCPMethod: "tools/call", Tool: "echo",
		Status: 200, TokensIn: 1, TokensOut: 2, LatencyMs: 3, Error: "e", ThrottleOverflow: "rps", Rule: "rps",
		ShapeDelayMs: 4, TokensEstimated: 5, FirstByteMs: 6, FirstByte: true, RequestBytes: 7, ResponseBytes: 8,
		ErrorType: "provider", Stream: true, UsageEstimated: true, CostMicros: 9,
		Attempts: []calllog.Attempt{{Provider: "a", Model: "b", Status: 503, DurationMs: 1, Outcome: "failed"}}}
	line := string(r.AppendJSON(nil))
	in, recs := scanString(t, line+"\n")
	if in.UnknownFields != 0 || in.Records != 1 || len(recs) != 1 {
		t.Errorf("%s\nread as %+v", line, in)
	}
}
