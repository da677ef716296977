package eventstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
)

func event(typ, payload string) []byte {
	return AppendMessage(nil, [][2]string{{":event-type", typ}, {":content-type", "application/json"}, {":message-type", "event"}}, []byte(payload))
}

func sample() []byte {
	var b []byte
	b = append(b, event("messageStart", `{"role":"assistant"}`)...)
	b = append(b, event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello"}}`)...)
	b = append(b, event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" world"}}`)...)
	b = append(b, event("messageStop", `{"stopReason":"end_turn"}`)...)
	b = append(b, AppendMessage(nil, [][2]string{{":exception-type", "throttlingException"}, {":message-type", "exception"}}, []byte(`{"message":"slow down"}`))...)
	return b
}

// collect decodes the stream fed in the given pieces and renders every message and the final
// error as text.
func collect(pieces [][]byte) string {
	var d Decoder
	var out bytes.Buffer
	for _, p := range pieces {
		d.Push(p)
		for {
			m, ok := d.Next()
			if !ok {
				break
			}
			fmt.Fprintf(&out, "%s|%s|%s|%s\n", m.Get(":message-type"), m.Get(":event-type"), m.Get(":exception-type"), m.Payload)
		}
	}
	d.End()
	fmt.Fprintf(&out, "err=%v", d.Err())
	return out.String()
}

// TestSplitAnywhere: the same stream split at every byte boundary, and fed byte by byte, gives
// the same messages.
func TestSplitAnywhere(t *testing.T) {
	s := sample()
	want := collect([][]byte{s})
	if !bytes.Contains([]byte(want), []byte("event|contentBlockDelta||{\"contentBlockIndex\":0,\"delta\":{\"text\":\" world\"}}")) ||
		!bytes.HasSuffix([]byte(want), []byte("exception||throttlingException|{\"message\":\"slow down\"}\nerr=<nil>")) {
		t.Fatalf("decoded\n%s", want)
	}
	for i := 0; i <= len(s); i++ {
		if got := collect([][]byte{s[:i], s[i:]}); got != want {
			t.Fatalf("split at %d:\n%s\nwant\n%s", i, got, want)
		}
	}
	var bytewise [][]byte
	for i := range s {
		bytewise = append(bytewise, s[i:i+1])
	}
	if got := collect(bytewise); got != want {
		t.Fatalf("byte by byte:\n%s\nwant\n%s", got, want)
	}
}

func TestBroken(t *testing.T) {
	good := event("messageStop", `{"stopReason":"end_turn"}`)
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	big := bytes.Clone(good)
	binary.BigEndian.PutUint32(big, 20<<20)
	binary.BigEndian.PutUint32(big[8:], crc32.ChecksumIEEE(big[:8]))
	for name, c := range map[string]struct {
		in   []byte
		want error
	}{
		"prelude crc": {flip(9), ErrPreludeCRC},
		"length":      {flip(3), ErrPreludeCRC},
		"payload":     {flip(len(good) - 6), ErrMessageCRC},
		"message crc": {flip(len(good) - 1), ErrMessageCRC},
		"truncated":   {good[:len(good)-1], ErrTruncated},
	} {
		var d Decoder
		d.Push(c.in)
		if _, ok := d.Next(); ok {
			t.Errorf("%s: decoded a broken message", name)
		}
		d.End()
		if !errors.Is(d.Err(), c.want) {
			t.Errorf("%s: error %v, want %v", name, d.Err(), c.want)
		}
	}
	var d Decoder
	d.Push(big[:12])
	if _, ok := d.Next(); ok {
		t.Fatal("decoded an oversized message")
	}
	var tl *TooLargeError
	if !errors.As(d.Err(), &tl) || tl.Size != 20<<20 {
		t.Fatalf("oversized: %v", d.Err())
	}
}

// TestHeaderTypes reads every header type.
func TestHeaderTypes(t *testing.T) {
	var h []byte
	add := func(name string, typ byte, v ...byte) {
		h = append(h, byte(len(name)))
		h = append(h, name...)
		h = append(h, typ)
		h = append(h, v...)
	}
	add("t", TypeTrue)
	add("f", TypeFalse)
	add("b", TypeByte, 1)
	add("s", TypeShort, 0, 2)
	add("i", TypeInt, 0, 0, 0, 3)
	add("l", TypeLong, 0, 0, 0, 0, 0, 0, 0, 4)
	add("x", TypeBytes, 0, 2, 'h', 'i')
	add("ts", TypeTimestamp, 0, 0, 0, 0, 0, 0, 0, 5)
	add("u", TypeUUID, make([]byte, 16)...)
	hs, ok := parseHeaders(nil, h)
	if !ok || len(hs) != 9 || string(hs[6].Value) != "hi" {
		t.Fatalf("headers %+v ok=%v", hs, ok)
	}
	if _, ok := parseHeaders(nil, []byte{1, 'a', 42}); ok {
		t.Fatal("unknown header type accepted")
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add(sample(), uint16(7))
	f.Add(event("x", "{}"), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		cut := int(split) % (len(data) + 1)
		whole := collect([][]byte{data})
		if got := collect([][]byte{data[:cut], data[cut:]}); got != whole {
			t.Fatalf("split at %d changes the result:\n%s\nvs\n%s", cut, got, whole)
		}
	})
}
