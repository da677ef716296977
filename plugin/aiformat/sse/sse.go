// Package sse splits a byte stream that arrives in arbitrary chunks into Server-Sent Events
// (text/event-stream) or NDJSON lines, and appends events back out.
//
// A Scanner is fed body chunks as the proxy sees them: an event may be split across chunks,
// a chunk may hold several events, lines may end in LF, CRLF or CR, and comment lines
// (keep-alives) are skipped. It keeps only the unfinished tail between chunks, so a stream is
// never buffered whole. It is not a general HTTP client: no reconnection, no retry field.
package sse

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// MaxLine bounds one line (or NDJSON record). A longer line puts the scanner in its error
// state instead of growing without limit.
const MaxLine = 8 << 20

// Event is one dispatched event. Name is the "event:" field (empty for the default "message");
// Data is the "data:" lines joined with "\n", or the whole line in NDJSON mode. Both are only
// valid until the next Push.
type Event struct {
	Name string
	Data string
}

// Scanner is a stateful SSE or NDJSON splitter. The zero value is an SSE scanner.
type Scanner struct {
	NDJSON bool

	buf    []byte // unconsumed input
	pos    int    // scan position in buf
	skipLF bool   // the previous chunk ended in CR: a leading LF belongs to it
	ended  bool   // End was called: an unterminated last line counts as complete

	name      string // event name, referencing buf or nameBuf
	nameBuf   []byte
	dataRef   string // the single data line, referencing buf
	data      []byte // owned data: several lines joined, or a line kept across a Push
	dataOwned bool
	dataN     int // number of data lines seen
	overflow  bool
}

// Push adds a chunk of input. Events previously returned by Next become invalid.
func (s *Scanner) Push(chunk []byte) {
	s.own()
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:])
		s.buf = s.buf[:n]
		s.pos = 0
	}
	if s.skipLF && len(chunk) > 0 {
		if chunk[0] == '\n' {
			chunk = chunk[1:]
		}
		s.skipLF = false
	}
	if len(s.buf)+len(chunk) > MaxLine {
		s.overflow = true
		s.buf = s.buf[:0]
		return
	}
	s.buf = append(s.buf, chunk...)
}

// own copies the fields of an event still being assembled out of buf, which is about to move.
func (s *Scanner) own() {
	if s.dataN > 0 && !s.dataOwned {
		s.data = append(s.data[:0], s.dataRef...)
		s.dataOwned = true
	}
	if s.name != "" {
		s.nameBuf = append(s.nameBuf[:0], s.name...)
		s.name = bstr(s.nameBuf)
	}
}

// End marks the end of input: a last line without terminator, and an event not followed by a
// blank line, are then returned by Next.
func (s *Scanner) End() { s.ended = true }

// Overflow reports that a line exceeded MaxLine; the stream cannot be translated further.
func (s *Scanner) Overflow() bool { return s.overflow }

// Next returns the next complete event, or false when more input is needed. The event is valid
// until the next call to Next or Push.
func (s *Scanner) Next() (Event, bool) {
	for !s.overflow {
		line, ok := s.line()
		if !ok {
			if s.ended && !s.NDJSON && (s.dataN > 0 || s.name != "") {
				return s.dispatch(), true
			}
			return Event{}, false
		}
		if s.NDJSON {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return Event{Data: bstr(line)}, true
		}
		if len(line) == 0 {
			if s.dataN > 0 || s.name != "" {
				return s.dispatch(), true
			}
			continue
		}
		s.field(line)
	}
	return Event{}, false
}

// line returns the next complete line (without terminator) from buf.
func (s *Scanner) line() ([]byte, bool) {
	rest := s.buf[s.pos:]
	i := indexEOL(rest)
	if i < 0 {
		if s.ended && len(rest) > 0 {
			s.pos = len(s.buf)
			return rest, true
		}
		return nil, false
	}
	line := rest[:i]
	adv := i + 1
	if rest[i] == '\r' {
		if i+1 < len(rest) {
			if rest[i+1] == '\n' {
				adv++
			}
		} else if !s.ended {
			s.skipLF = true // the LF of a CRLF may start the next chunk
		}
	}
	s.pos += adv
	return line, true
}

func (s *Scanner) field(line []byte) {
	if line[0] == ':' { // comment / keep-alive
		return
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if s.dataN == 0 {
			s.dataRef, s.dataOwned = bstr(value), false
		} else {
			if !s.dataOwned {
				s.data = append(s.data[:0], s.dataRef...)
				s.dataOwned = true
			}
			s.data = append(s.data, '\n')
			s.data = append(s.data, value...)
		}
		s.dataN++
	case "event":
		s.name = bstr(value)
	}
}

func (s *Scanner) dispatch() Event {
	ev := Event{Name: s.name, Data: s.dataRef}
	if s.dataOwned {
		ev.Data = bstr(s.data)
	}
	s.name, s.dataRef, s.dataN, s.dataOwned = "", "", 0, false
	return ev
}

// indexEOL is bytes.IndexAny(b, "\r\n") eight bytes at a time: the "has a zero byte" bit
// trick on x^'\n' and x^'\r' (the lowest flag is always a true match). Inside wasm
// bytes.IndexAny tests one byte per loop turn and was a good part of an event's cost.
func indexEOL(b []byte) int {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		n, r := x^(lsb*'\n'), x^(lsb*'\r')
		if m := (((n - lsb) &^ n) | ((r - lsb) &^ r)) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '\n' || b[i] == '\r' {
			return i
		}
	}
	return -1
}

// AppendEvent appends one SSE event: an "event:" line when name is set, and data as one
// "data:" line (the codecs only write single-line JSON). sep is the event terminator, "\n\n"
// for most providers and "\r\n\r\n" for Gemini.
func AppendEvent[D string | []byte](dst []byte, name string, data D, sep string) []byte {
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, sep...)
}
