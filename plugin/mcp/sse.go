package mcp

import "bytes"

// maxEvent bounds one SSE event held while it is incomplete; a longer one passes through
// unfiltered rather than growing the buffer without limit.
const maxEvent = 8 << 20

// EventRewriter rewrites an SSE stream event by event as its chunks arrive: each complete event
// whose data is a JSON-RPC message goes through Rewrite; its other fields (id, event, retry,
// comments) are kept, so that a client can still resume the stream. Only an incomplete event is
// held between chunks.
type EventRewriter struct {
	Rewrite func(msg []byte) []byte
	buf     []byte
	passing bool // an oversized event is being passed through as is
}

// Write takes the next chunk and returns what can be sent on; end flushes what is left.
func (w *EventRewriter) Write(chunk []byte, end bool) []byte {
	if w.passing {
		return w.pass(chunk, end)
	}
	w.buf = append(w.buf, chunk...)
	var out []byte
	for {
		n, sep := eventEnd(w.buf)
		if n < 0 {
			break
		}
		out = append(out, w.event(w.buf[:n])...)
		out = append(out, w.buf[n:n+sep]...)
		w.buf = w.buf[n+sep:]
	}
	if end {
		out = append(out, w.event(w.buf)...)
		w.buf = w.buf[:0]
	} else if len(w.buf) > maxEvent {
		out = append(out, w.buf...)
		w.buf, w.passing = w.buf[:0], true
	}
	if len(w.buf) == 0 {
		w.buf = nil // let a large buffer go
	}
	return out
}

// pass sends an oversized event through until its end, then resumes rewriting.
func (w *EventRewriter) pass(chunk []byte, end bool) []byte {
	n, sep := eventEnd(chunk)
	if n < 0 || end {
		if end {
			w.passing = false
		}
		return chunk
	}
	w.passing = false
	out := append([]byte(nil), chunk[:n+sep]...)
	return append(out, w.Write(chunk[n+sep:], end)...)
}

// eventEnd finds the blank line ending the first event: its offset and the separator's length.
func eventEnd(b []byte) (int, int) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' && b[i] != '\r' {
			continue
		}
		// a line ends at i; the event ends if the next line is empty
		j := i + 1
		if b[i] == '\r' && j < len(b) && b[j] == '\n' {
			j++
		}
		if j < len(b) && (b[j] == '\n' || b[j] == '\r') {
			k := j + 1
			if b[j] == '\r' {
				if k >= len(b) {
					return -1, 0 // "\r" may still be followed by "\n"
				}
				if b[k] == '\n' {
					k++
				}
			}
			return i, k - i
		}
	}
	return -1, 0
}

// event rewrites one event's text (without its final separator).
func (w *EventRewriter) event(ev []byte) []byte {
	if len(ev) == 0 || w.Rewrite == nil {
		return ev
	}
	var data []byte
	lines := 0
	for rest := ev; len(rest) > 0; {
		line, next := cutLine(rest)
		rest = next
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			v = bytes.TrimPrefix(v, []byte(" "))
			if lines > 0 {
				data = append(data, '\n')
			}
			data = append(data, v...)
			lines++
		}
	}
	if lines == 0 {
		return ev
	}
	msg := w.Rewrite(data)
	if bytes.Equal(msg, data) {
		return ev
	}
	out := make([]byte, 0, len(ev)+len(msg)-len(data))
	wrote := false
	for rest := ev; len(rest) > 0; {
		line, next := cutLine(rest)
		rest = next
		if bytes.HasPrefix(line, []byte("data:")) {
			if wrote {
				continue
			}
			wrote = true
			// A message holding line breaks takes one data line per line.
			line = append([]byte("data: "), bytes.ReplaceAll(msg, []byte("\n"), []byte("\ndata: "))...)
		}
		if len(out) > 0 {
			out = append(out, '\n')
		}
		out = append(out, line...)
	}
	return out
}

// cutLine splits the first line (without its end) from the rest.
func cutLine(b []byte) (line, rest []byte) {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			j := i + 1
			if c == '\r' && j < len(b) && b[j] == '\n' {
				j++
			}
			return b[:i], b[j:]
		}
	}
	return b, nil
}

// AppendEvent appends msg as one SSE "message" event.
func AppendEvent(dst, msg []byte) []byte {
	dst = append(dst, "event: message\ndata: "...)
	dst = append(dst, msg...)
	return append(dst, "\n\n"...)
}
