package ingest

import (
	"slices"
	"testing"

	"github.com/cliprag/cliprag/embed/imageformat"
)

// TestDefaultExtensionsFromTable checks the walk indexes every extension of
// every format in the format table, and only those.
func TestDefaultExtensionsFromTable(t *testing.T) {
	var want []string
	for _, f := range imageformat.Formats() {
		want = append(want, f.Extensions...)
	}
	if len(want) == 0 || !slices.Equal(DefaultExtensions, want) {
		t.Fatalf("DefaultExtensions %v, want the table's %v", DefaultExtensions, want)
	}
	w := newWalker(false, nil)
	for _, e := range []string{".jpg", ".png", ".tiff"} {
		if !w.exts[e] {
			t.Errorf("default walker skips %s", e)
		}
	}
}
