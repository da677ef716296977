package report

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Input counts what the reader met. Every line is either a record or counted as skipped (a log
// line without a record) or bad (a record that cannot be read); none stops the report.
type Input struct {
	Lines         int64 `json:"lines"`
	Records       int64 `json:"records"`
	Skipped       int64 `json:"skipped_lines"`        // lines that carry no record (other log lines)
	Malformed     int64 `json:"malformed_lines"`      // truncated or invalid JSON, wrong field types, no ts_ms
	TooLong       int64 `json:"too_long_lines"`       // lines over MaxLineBytes
	UnknownFields int64 `json:"unknown_fields"`       // fields this report does not know (records are kept)
	OutOfOrder    int64 `json:"out_of_order_records"` // records over lateMs older than one read before them (kept)
	ReadErrors    int64 `json:"read_errors"`          // inputs that ended with an error (a truncated gzip, say)
	maxTs         int64
}

// Bad is the number of lines that looked like records but could not be used.
func (in *Input) Bad() int64 { return in.Malformed + in.TooLong }

// lateMs is how much older than a record read before it a record may be and still count as in
// order: the filter writes a record when its call ends, stamped with its start, so a long call's
// record follows those of shorter calls that started after it.
const lateMs = 5 * 60e3

// MaxLineBytes bounds a line: the filter's records are well under 1 KiB.
const MaxLineBytes = 1 << 20

// recordStart is how a call record begins; in a log line, what comes before it is the logger's.
var recordStart = []byte(`{"ts_ms":`)

// Decompress returns r itself, or a gzip reader over it when r starts with gzip's magic bytes.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

// Scan reads r line by line (plain or gzip) and calls fn with every record, counting the rest in
// in. fn must not keep the record's strings. An error is a read error of r; what was read before
// it has been passed to fn.
func Scan(r io.Reader, in *Input, fn func(*Record)) error {
	dr, err := Decompress(r)
	if err != nil {
		in.ReadErrors++
		return err
	}
	br := bufio.NewReaderSize(dr, 64<<10)
	var long []byte
	var rec Record
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			line, err = readRest(br, &long)
			if line == nil { // over MaxLineBytes: dropped
				in.Lines++
				in.TooLong++
				if err == nil {
					continue
				}
			}
		}
		if len(line) > 0 {
			in.Lines++
			in.line(line, &rec, fn)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			in.ReadErrors++
			return err
		}
	}
}

// readRest reads the remainder of a line longer than the reader's buffer into *long. It returns
// nil, having skipped the rest of the line, once the line is over MaxLineBytes.
func readRest(br *bufio.Reader, long *[]byte) ([]byte, error) {
	for {
		more, err := br.ReadSlice('\n')
		if len(*long)+len(more) > MaxLineBytes {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			return nil, err
		}
		*long = append(*long, more...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return *long, err
		}
	}
}

// line handles one line (with or without its newline).
func (in *Input) line(line []byte, rec *Record, fn func(*Record)) {
	line = bytes.TrimRight(line, " \t\r\n")
	start := 0
	if len(line) == 0 || line[0] != '{' {
		start = bytes.Index(line, recordStart)
		if start < 0 {
			in.Skipped++
			return
		}
	}
	js := line[start:]
	if !gjson.ValidBytes(js) {
		in.Malformed++
		return
	}
	res, unknown := parseRecord(unsafe.String(unsafe.SliceData(js), len(js)), rec)
	switch res {
	case notRecord:
		in.Skipped++
		return
	case badRecord:
		in.Malformed++
		return
	}
	in.Records++
	if unknown > 0 {
		in.UnknownFields += int64(unknown)
	}
	if rec.TsMs < in.maxTs-lateMs {
		in.OutOfOrder++
	}
	in.maxTs = max(in.maxTs, rec.TsMs)
	fn(rec)
}
