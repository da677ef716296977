package config

import (
	"bytes"
	"unicode/utf8"
)

// position turns the byte offset of a JSON syntax error (encoding/json's SyntaxError.Offset:
// the bytes read when the error showed, so the offending byte is the one before it) into the
// 1-based line and column an editor shows, columns counted in characters.
func position(data []byte, offset int64) (line, col int) {
	at := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:at]
	line = 1 + bytes.Count(before, []byte{'\n'})
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[lineStart:])
}
