package retriever

import (
	"strings"
	"unicode/utf8"
)

// File names are bytes, not text: on Linux a name may be any bytes but '/'
// and NUL, and names written under another locale (Latin-1, Shift JIS) are
// often not UTF-8. JSON and protobuf strings hold UTF-8 only (json.Marshal
// turns each invalid byte into U+FFFD; Qdrant refuses the string), so a
// store keeps such a path in two parts: a UTF-8 text for display and
// keyword filters, and the exact bytes beside it. EncodePath and
// DecodePath are that codec, shared by every store's payload encoding so
// that Payload.Path and Payload.Folder round-trip exactly.

// EncodePath splits p for storage: text is p itself when p is valid UTF-8
// (raw is then nil), else p with each byte of an invalid sequence written
// as \xNN, and raw holds p's bytes.
func EncodePath(p string) (text string, raw []byte) {
	if utf8.ValidString(p) {
		return p, nil
	}
	return EscapeInvalidUTF8(p), []byte(p)
}

// DecodePath inverts EncodePath: raw when present, else text.
func DecodePath(text string, raw []byte) string {
	if raw != nil {
		return string(raw)
	}
	return text
}

// EscapeInvalidUTF8 returns s with each byte that is not part of a valid
// UTF-8 sequence written as \xNN (lower-case hex); valid text is unchanged.
func EscapeInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			c := s[i]
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}
