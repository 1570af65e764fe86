package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// TestFormatsAndPreviews indexes HEIC, AVIF and camera RAW files found by
// the walk, and checks the summary names the files read through their
// embedded JPEG preview and the records carry each format.
func TestFormatsAndPreviews(t *testing.T) {
	src := filepath.Join("..", "..", "embed", "preprocess", "testdata", "matrix")
	dir := t.TempDir()
	want := map[string]string{ // file → format stored
		"heic-irot1.heic": "heic", "avif-rgb-far.avif": "avif", "camera.nef": "nef", "camera.dng": "dng",
		"png-rgb-far.png": "png",
	}
	for name := range want {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := toolstest.Model(t)
	s := openStore(t, t.TempDir())
	sum, err := ingest.Run(context.Background(), m, s, ingest.Options{Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Found != len(want) || sum.Indexed != len(want) || len(sum.Failed) != 0 {
		t.Fatalf("summary %+v, want %d found and indexed", sum, len(want))
	}
	previews := []string{filepath.Join(dir, "camera.dng"), filepath.Join(dir, "camera.nef")}
	if !slices.Equal(sum.Previews, previews) {
		t.Errorf("Previews %v, want %v", sum.Previews, previews)
	}
	var ids []string
	err = s.Files(context.Background(), func(e retriever.FileEntry) error { ids = append(ids, e.ID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(context.Background(), ids)
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d records, %v", len(got), err)
	}
	for _, r := range got {
		if f := want[filepath.Base(r.Payload.Path)]; r.Payload.Format != f {
			t.Errorf("%s stored as %q, want %q", r.Payload.Path, r.Payload.Format, f)
		}
	}
}
