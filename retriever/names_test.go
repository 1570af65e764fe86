package retriever_test

import (
	"testing"
	"unicode/utf8"

	"github.com/cliprag/cliprag/retriever"
)

func TestEncodePath(t *testing.T) {
	tests := []struct {
		path, text string
		raw        bool
	}{
		{"/photos/cat.jpg", "/photos/cat.jpg", false},
		{"/照片/猫.jpg", "/照片/猫.jpg", false},
		{`/photos/back\slash.jpg`, `/photos/back\slash.jpg`, false},
		{"/photos/caf\xe9.jpg", "/photos/caf\\xe9.jpg\x00", true},                  // Latin-1 é
		{"/photos/\x83\x4c\x83\x83.jpg", "/photos/\\x83L\\x83\\x83.jpg\x00", true}, // Shift JIS
		{"/a/\xed\xa0\x80.png", "/a/\\xed\\xa0\\x80.png\x00", true},                // a UTF-16 surrogate, invalid in UTF-8
		{"/a/\\xe9\xff", "/a/\\\\xe9\\xff\x00", true},
		{"", "", false},
	}
	for _, tc := range tests {
		text, raw := retriever.EncodePath(tc.path)
		if text != tc.text || (raw != nil) != tc.raw {
			t.Errorf("EncodePath(%q) = %q, raw %v; want %q, raw %v", tc.path, text, raw != nil, tc.text, tc.raw)
		}
		if !utf8.ValidString(text) {
			t.Errorf("EncodePath(%q): text %q is not UTF-8", tc.path, text)
		}
		if got := retriever.DecodePath(text, raw); got != tc.path {
			t.Errorf("DecodePath(EncodePath(%q)) = %q", tc.path, got)
		}
	}
}

// TestPathKeyInjective: names that differ have different keys, also when
// one is valid UTF-8 that spells the other's escape.
func TestPathKeyInjective(t *testing.T) {
	names := []string{
		"/a/\xe9", `/a/\xe9`, `/a/\\xe9`, "/a/\\\xe9", "/a/\xe9\\xff", "/a/\\xe9\xff", "/a/\xe9\xff", "/a/é",
	}
	seen := map[string]string{}
	for _, n := range names {
		k := retriever.PathKey(n)
		if other, ok := seen[k]; ok {
			t.Errorf("%q and %q share the key %q", n, other, k)
		}
		seen[k] = n
	}
}
