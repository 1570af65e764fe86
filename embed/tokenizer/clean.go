package tokenizer

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the text-cleaning helpers that make the Go tokenizers agree
// with the Python reference implementations character for character:
// Python's str.isspace, str.strip, str.lower (with its final-sigma rule),
// html.unescape, and the `regex` module's \s.

// pyIsSpace reports whether Python's str.isspace is true for r: the Unicode
// White_Space characters plus U+001C..U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is Python's str.strip() with no argument.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// collapseSpace is `regex.sub(r'\s+', ' ', s)`: every run of White_Space
// characters (the `regex` module's \s, which is Go's unicode.IsSpace) becomes
// a single ASCII space.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !inSpace {
				b.WriteByte(' ')
				inSpace = true
			}
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

// pyLower is Python's str.lower(): the full lower-case mapping, which differs
// from Go's strings.ToLower for U+0130 (İ → "i̇") and for capital sigma, which
// becomes final sigma (ς) at the end of a word.
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3a3:
			if finalSigma(s, i) {
				b.WriteRune(0x3c2)
			} else {
				b.WriteRune(0x3c3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma implements the Unicode Final_Sigma condition for the capital
// sigma at byte offset i of s, as CPython's handle_capital_sigma does:
// a cased letter, then case-ignorables, then Σ, not followed by
// case-ignorables and a cased letter.
func finalSigma(s string, i int) bool {
	j := i
	var c rune
	found := false
	for j > 0 {
		r, w := utf8.DecodeLastRuneInString(s[:j])
		j -= w
		if !caseIgnorable(r) {
			c, found = r, true
			break
		}
	}
	if !found || !cased(c) {
		return false
	}
	for _, r := range s[i+utf8.RuneLen(0x3a3):] {
		if !caseIgnorable(r) {
			return !cased(r)
		}
	}
	return true
}

// cased is Unicode's Cased property.
func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable is Unicode's Case_Ignorable property.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// pyUnescape is Python's html.unescape. Named references are resolved with Go's
// HTML5 entity table (html.UnescapeString, which resolves a single reference
// exactly as Python does); numeric references follow Python's rules, which
// differ from Go's for invalid code points (Python drops them).
func pyUnescape(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:] // s[0] == '&'
		n, repl, ok := charRef(s[1:])
		if ok {
			b.WriteString(repl)
			s = s[1+n:]
		} else {
			b.WriteByte('&')
			s = s[1:]
		}
		i = strings.IndexByte(s, '&')
	}
	b.WriteString(s)
	return b.String()
}

// charRef matches Python's `#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?`
// at the start of s (the text after '&') and returns the length matched and
// the replacement.
func charRef(s string) (n int, repl string, ok bool) {
	if s == "" {
		return 0, "", false
	}
	if s[0] == '#' {
		i, base := 1, uint64(10)
		if len(s) > 1 && (s[1] == 'x' || s[1] == 'X') {
			i, base = 2, 16
		}
		start := i
		var num uint64
		for i < len(s) {
			d, isDigit := digitVal(s[i], base)
			if !isDigit {
				break
			}
			if num <= 0x10ffff {
				num = num*base + d
			}
			i++
		}
		if i == start {
			return 0, "", false
		}
		if i < len(s) && s[i] == ';' {
			i++
		}
		return i, numericRef(num), true
	}
	// Named reference: up to 32 characters other than \t \n \f space < & # ;
	i, count := 0, 0
	for i < len(s) && count < 32 {
		c := s[i]
		if c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';' {
			break
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
		count++
	}
	if i == 0 {
		return 0, "", false
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	return i, html.UnescapeString("&" + s[:i]), true
}

func digitVal(c byte, base uint64) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case base == 16 && c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case base == 16 && c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

// numericRef is the replacement Python's html.unescape gives for &#num;.
func numericRef(num uint64) string {
	if r, ok := invalidCharRefs[num]; ok {
		return r
	}
	if (num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff {
		return "\ufffd"
	}
	if invalidCodePoint(num) {
		return ""
	}
	return string(rune(num))
}

// invalidCharRefs is Python's html._invalid_charrefs (Windows-1252 fix-ups).
var invalidCharRefs = map[uint64]string{
	0x00: "\ufffd", 0x0d: "\r", 0x80: "\u20ac", 0x81: "\u0081", 0x82: "\u201a", 0x83: "\u0192",
	0x84: "\u201e", 0x85: "\u2026", 0x86: "\u2020", 0x87: "\u2021", 0x88: "\u02c6", 0x89: "\u2030",
	0x8a: "\u0160", 0x8b: "\u2039", 0x8c: "\u0152", 0x8d: "\u008d", 0x8e: "\u017d", 0x8f: "\u008f",
	0x90: "\u0090", 0x91: "\u2018", 0x92: "\u2019", 0x93: "\u201c", 0x94: "\u201d", 0x95: "\u2022",
	0x96: "\u2013", 0x97: "\u2014", 0x98: "\u02dc", 0x99: "\u2122", 0x9a: "\u0161", 0x9b: "\u203a",
	0x9c: "\u0153", 0x9d: "\u009d", 0x9e: "\u017e", 0x9f: "\u0178",
}

// invalidCodePoint is Python's html._invalid_codepoints.
func invalidCodePoint(n uint64) bool {
	switch {
	case n >= 0x1 && n <= 0x8, n == 0xb, n >= 0xe && n <= 0x1f, n >= 0x7f && n <= 0x9f,
		n >= 0xfdd0 && n <= 0xfdef:
		return true
	}
	return n&0xfffe == 0xfffe && n <= 0x10ffff
}
