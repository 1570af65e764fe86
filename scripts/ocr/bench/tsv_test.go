package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestParseTSV: Tesseract's TSV has no quoting; a word that starts with a
// double quote must not swallow the rows after it.
func TestParseTSV(t *testing.T) {
	tsv := "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n" +
		"1\t1\t0\t0\t0\t0\t0\t0\t500\t100\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t10\t30\t80\t30\t96\tPress\n" +
		"5\t1\t1\t1\t1\t2\t100\t30\t90\t30\t90\t\"Save\n" +
		"5\t1\t1\t1\t1\t3\t200\t30\t60\t30\t95\tnow\n" +
		"1\t2\t0\t0\t0\t0\t0\t0\t500\t100\t-1\t\n" +
		"5\t2\t1\t1\t1\t1\t10\t30\t80\t30\t96\tSecond\n" +
		"5\t2\t1\t1\t1\t2\t100\t30\t80\t30\t96\tline\"\n"
	path := filepath.Join(t.TempDir(), "out.tsv")
	if err := os.WriteFile(path, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	pages, err := parseTSV(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{1: `Press "Save now`, 2: `Second line"`}
	for page, text := range want {
		if len(pages[page]) != 1 || pages[page][0].Text != text {
			t.Errorf("page %d: %+v, want one line %q", page, pages[page], text)
		}
	}
	if b := pages[1][0].Box; len(b) != 4 || b[0] != [2]float64{10, 30} || b[2] != [2]float64{260, 60} {
		t.Errorf("page 1 box %v", b)
	}
}
