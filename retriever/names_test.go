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
		{"/photos/caf\xe9.jpg", `/photos/caf\xe9.jpg`, true},                // Latin-1 é
		{"/photos/\x83\x4c\x83\x83.jpg", `/photos/\x83L\x83\x83.jpg`, true}, // Shift JIS
		{"/a/\xed\xa0\x80.png", `/a/\xed\xa0\x80.png`, true},                // a UTF-16 surrogate, invalid in UTF-8
		{"/a/\xff", `/a/\xff`, true},
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
