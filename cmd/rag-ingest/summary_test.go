package main

import (
	"strings"
	"testing"

	"github.com/cliprag/cliprag/tools/ingest"
)

// TestSummaryEscapesNames: a failed file's name cannot emit escape codes
// or add lines to the summary.
func TestSummaryEscapesNames(t *testing.T) {
	var b strings.Builder
	printSummary(&b, ingest.Summary{Found: 1, Failed: []ingest.Failure{{Path: "/x/\x1b[2Ja\nb\xff.png", Reason: "decode: corrupt"}}}, "m", "s")
	out := b.String()
	if strings.Contains(out, "\x1b") || strings.Count(out, "\n") != 3 || !strings.Contains(out, `failed: /x/\x1b[2Ja\nb\xff.png: decode: corrupt`) {
		t.Fatalf("summary:\n%q", out)
	}
}

// TestSummaryText: a run with -ocr says how many images it read and what
// it found; a dry run, which reads nothing, only how many it would read.
func TestSummaryText(t *testing.T) {
	tests := []struct {
		s    ingest.Summary
		want string
	}{
		{ingest.Summary{TextBy: "ocr", TextRead: 3, TextLines: 7}, "read text in 3 images (7 lines) with ocr\n"},
		{ingest.Summary{TextBy: "ocr", TextRead: 3, TextLines: 7, TextSkipped: 2}, "read text in 3 images (7 lines, 2 text boxes could not be read) with ocr\n"},
		{ingest.Summary{TextBy: "ocr", TextRead: 3, DryRun: true}, "dry run, would have: read text in 3 images with ocr\n"},
		{ingest.Summary{}, ""},
	}
	for _, tc := range tests {
		var b strings.Builder
		printSummary(&b, tc.s, "m", "s")
		got := ""
		for _, l := range strings.SplitAfter(b.String(), "\n") {
			if strings.Contains(l, "read text") {
				got = l
			}
		}
		if got != tc.want {
			t.Errorf("%+v: text line %q, want %q", tc.s, got, tc.want)
		}
	}
}
