// Package eventstream reads and writes AWS's binary event-stream framing
// (application/vnd.amazon.eventstream), in which Bedrock's ConverseStream answers.
//
// A message is a 12-byte prelude (total length, headers length, CRC-32 of those 8 bytes, all
// big endian), the headers, the payload and a CRC-32 of everything before it. The Decoder is
// incremental: chunks may split a message anywhere, and only the unfinished tail is kept. It
// never panics: a bad CRC, an impossible length or a message over the size limit is an error,
// after which the stream is not read further.
package eventstream

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strconv"
)

// Header value types.
const (
	TypeTrue      = 0
	TypeFalse     = 1
	TypeByte      = 2
	TypeShort     = 3
	TypeInt       = 4
	TypeLong      = 5
	TypeBytes     = 6
	TypeString    = 7
	TypeTimestamp = 8
	TypeUUID      = 9
)

const (
	preludeLen = 12
	crcLen     = 4
	minMessage = preludeLen + crcLen
	// DefaultMaxMessage is the size limit of one message: AWS's own (16 MiB).
	DefaultMaxMessage = 16 << 20
	maxHeaders        = 128 << 10 // AWS's limit on a message's headers
)

// Header is one message header. Value holds a string's or bytes' content, or the big-endian
// bytes of a number; it is empty for booleans.
type Header struct {
	Name  string
	Type  byte
	Value []byte
}

// Message is one decoded message. Its slices point into the decoder's buffer: they are valid
// until the next Push.
type Message struct {
	Headers []Header
	Payload []byte
}

// Get returns the value of the string (or bytes) header name, "" when there is none.
func (m *Message) Get(name string) string {
	for i := range m.Headers {
		if h := &m.Headers[i]; h.Name == name && (h.Type == TypeString || h.Type == TypeBytes) {
			return string(h.Value)
		}
	}
	return ""
}

// Errors of a broken stream.
var (
	ErrPreludeCRC = errors.New("event-stream prelude CRC mismatch")
	ErrMessageCRC = errors.New("event-stream message CRC mismatch")
	ErrLength     = errors.New("event-stream message length is impossible")
	ErrHeaders    = errors.New("event-stream headers are malformed")
	ErrTruncated  = errors.New("event-stream ended inside a message")
)

// TooLargeError is a message over the decoder's limit.
type TooLargeError struct{ Size, Max int }

func (e *TooLargeError) Error() string {
	return "event-stream message of " + strconv.Itoa(e.Size) + " bytes is over the limit of " + strconv.Itoa(e.Max)
}

// Decoder splits a byte stream into messages.
type Decoder struct {
	// Max is the largest message accepted (0: DefaultMaxMessage).
	Max int

	buf     []byte
	off     int // start of the unread bytes in buf
	err     error
	ended   bool
	headers []Header
}

// Push adds the next chunk of the stream. Messages returned earlier become invalid.
func (d *Decoder) Push(chunk []byte) {
	if d.err != nil {
		return
	}
	if d.off > 0 {
		n := copy(d.buf, d.buf[d.off:])
		d.buf = d.buf[:n]
		d.off = 0
	}
	d.buf = append(d.buf, chunk...)
}

// End marks the end of the stream: bytes left over then are an error.
func (d *Decoder) End() { d.ended = true }

// Err is the error that stopped the stream, if any.
func (d *Decoder) Err() error {
	if d.err == nil && d.ended && d.off < len(d.buf) {
		return ErrTruncated
	}
	return d.err
}

// Next returns the next complete message, or false when more bytes are needed or the stream
// is broken (see Err).
func (d *Decoder) Next() (Message, bool) {
	if d.err != nil {
		return Message{}, false
	}
	b := d.buf[d.off:]
	if len(b) < preludeLen {
		return Message{}, false
	}
	total := int(binary.BigEndian.Uint32(b))
	hlen := int(binary.BigEndian.Uint32(b[4:]))
	if crc32.ChecksumIEEE(b[:8]) != binary.BigEndian.Uint32(b[8:]) {
		return d.fail(ErrPreludeCRC)
	}
	max := d.Max
	if max <= 0 {
		max = DefaultMaxMessage
	}
	switch {
	case total > max || total < 0:
		return d.fail(&TooLargeError{Size: total, Max: max})
	case total < minMessage || hlen > total-minMessage || hlen > maxHeaders:
		return d.fail(ErrLength)
	}
	if len(b) < total {
		return Message{}, false
	}
	msg := b[:total]
	if crc32.ChecksumIEEE(msg[:total-crcLen]) != binary.BigEndian.Uint32(msg[total-crcLen:]) {
		return d.fail(ErrMessageCRC)
	}
	hs, ok := parseHeaders(d.headers[:0], msg[preludeLen:preludeLen+hlen])
	d.headers = hs
	if !ok {
		return d.fail(ErrHeaders)
	}
	d.off += total
	return Message{Headers: hs, Payload: msg[preludeLen+hlen : total-crcLen]}, true
}

func (d *Decoder) fail(err error) (Message, bool) {
	d.err = err
	d.buf, d.off = nil, 0
	return Message{}, false
}

// valueLen is the fixed size of each header type's value (-1: a 2-byte length precedes it).
var valueLen = [...]int{TypeTrue: 0, TypeFalse: 0, TypeByte: 1, TypeShort: 2, TypeInt: 4, TypeLong: 8,
	TypeBytes: -1, TypeString: -1, TypeTimestamp: 8, TypeUUID: 16}

func parseHeaders(out []Header, b []byte) ([]Header, bool) {
	for len(b) > 0 {
		n := int(b[0])
		if n == 0 || len(b) < 1+n+1 {
			return out, false
		}
		name := string(b[1 : 1+n])
		typ := b[1+n]
		b = b[2+n:]
		if int(typ) >= len(valueLen) {
			return out, false
		}
		vl := valueLen[typ]
		if vl < 0 {
			if len(b) < 2 {
				return out, false
			}
			vl = int(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) < vl {
			return out, false
		}
		out = append(out, Header{Name: name, Type: typ, Value: b[:vl]})
		b = b[vl:]
	}
	return out, true
}

// AppendMessage appends one message with string headers (name, value pairs) and payload.
func AppendMessage(dst []byte, headers [][2]string, payload []byte) []byte {
	hlen := 0
	for _, h := range headers {
		hlen += 1 + len(h[0]) + 1 + 2 + len(h[1])
	}
	total := preludeLen + hlen + len(payload) + crcLen
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	dst = binary.BigEndian.AppendUint32(dst, uint32(hlen))
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:start+8]))
	for _, h := range headers {
		dst = append(dst, byte(len(h[0])))
		dst = append(dst, h[0]...)
		dst = append(dst, TypeString)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(h[1])))
		dst = append(dst, h[1]...)
	}
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}
