package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunReportEmpty checks that a report over a results file with no
// results is an error that says so, not a panic in the writer.
func TestRunReportEmpty(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "results.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	called := false
	write := func(io.Writer, []Result, []string, string, string, string) error {
		called = true
		return nil
	}
	err := runReport("peers-report", "test", []string{"-results", empty}, write)
	if err == nil || !strings.Contains(err.Error(), "no results") {
		t.Errorf("err = %v, want one saying there are no results", err)
	}
	if called {
		t.Error("the writer ran on no results")
	}
}
