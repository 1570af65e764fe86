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
