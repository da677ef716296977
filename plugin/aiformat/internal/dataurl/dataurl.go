// Package dataurl splits and builds the base64 data: URLs that OpenAI uses for inline images
// and that other providers spell as {media type, base64 data} pairs.
package dataurl

import "strings"

// Parse splits "data:<media type>;base64,<data>". ok is false for anything else (an http(s)
// URL, or a data URL that is not base64).
func Parse(u string) (mediaType, data string, ok bool) {
	if !strings.HasPrefix(u, "data:") {
		return "", "", false
	}
	rest := u[len("data:"):]
	comma := strings.IndexByte(rest, ',')
	if comma < 0 {
		return "", "", false
	}
	meta := rest[:comma]
	if !strings.HasSuffix(meta, ";base64") {
		return "", "", false
	}
	mediaType = meta[:len(meta)-len(";base64")]
	if i := strings.IndexByte(mediaType, ';'); i >= 0 {
		mediaType = mediaType[:i]
	}
	return mediaType, rest[comma+1:], true
}

// Append appends "data:<media type>;base64,<data>" (unquoted).
func Append(dst []byte, mediaType, data string) []byte {
	dst = append(dst, "data:"...)
	dst = append(dst, mediaType...)
	dst = append(dst, ";base64,"...)
	return append(dst, data...)
}

// GuessType guesses an image media type from a URL's extension, for providers that want one
// with a file URL. Empty when unknown.
func GuessType(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	switch {
	case hasExt(u, ".png"):
		return "image/png"
	case hasExt(u, ".jpg"), hasExt(u, ".jpeg"):
		return "image/jpeg"
	case hasExt(u, ".gif"):
		return "image/gif"
	case hasExt(u, ".webp"):
		return "image/webp"
	case hasExt(u, ".pdf"):
		return "application/pdf"
	}
	return ""
}

func hasExt(u, ext string) bool {
	return len(u) >= len(ext) && strings.EqualFold(u[len(u)-len(ext):], ext)
}
