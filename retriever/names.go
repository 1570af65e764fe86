package retriever

import (
	"strings"
	"unicode/utf8"
)

// File names are bytes, not text: on Linux a name may be any bytes but '/'
// and NUL, and names written under another locale (Latin-1, Shift JIS) are
// often not UTF-8. JSON and protobuf strings hold UTF-8 only (json.Marshal
// turns each invalid byte into U+FFFD; Qdrant refuses the string), so a
// store keeps such a path in two parts: a UTF-8 text, which keyword
// filters match, and the exact bytes beside it. EncodePath and DecodePath
// are that codec, shared by every store's payload encoding so that
// Payload.Path and Payload.Folder round-trip exactly.

// EncodePath splits p for storage. When p is valid UTF-8, text is p and
// raw is nil. Otherwise raw holds p's bytes and text is p with each
// backslash doubled, each byte of an invalid sequence written as \xNN, and
// a NUL at the end: no file name contains a NUL, so the text of a name
// that is not UTF-8 never equals that of another name, and an exact
// keyword match on texts is an exact match on names.
func EncodePath(p string) (text string, raw []byte) {
	if utf8.ValidString(p) {
		return p, nil
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(p) + 8)
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[p[i]>>4])
			b.WriteByte(hex[p[i]&15])
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteString(p[i : i+n])
		}
		i += n
	}
	b.WriteByte(0)
	return b.String(), []byte(p)
}

// DecodePath inverts EncodePath: raw when present, else text.
func DecodePath(text string, raw []byte) string {
	if raw != nil {
		return string(raw)
	}
	return text
}

// PathKey returns the text EncodePath stores for p, which keyword filters
// on a stored path or folder match.
func PathKey(p string) string {
	text, _ := EncodePath(p)
	return text
}
