package ingest_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// TestCountsAddUp changes a tree step by step and, at each step, runs a dry
// run and then the real run on it: the dry run predicts the real one
// exactly, and every file found has one outcome (broken links and FIFOs
// are found and failed).
func TestCountsAddUp(t *testing.T) {
	dir := t.TempDir()
	set := drawSet(t, dir, 16, 41)
	enc := toolstest.NewFake()
	s := openStore(t, t.TempDir())
	tags := []string{"red", "green", "blue"}
	steps := []struct {
		name   string
		change func(t *testing.T)
		opts   ingest.Options
		want   string
	}{
		{"first run", func(t *testing.T) {
			must(t, copyFile(set[0].Path, filepath.Join(dir, "copy.png")))
			must(t, os.WriteFile(filepath.Join(dir, "broken.jpg"), []byte("\xff\xd8\xff\xe0 truncated"), 0o644))
			must(t, os.Symlink(filepath.Join(dir, "gone.png"), filepath.Join(dir, "dangling.png")))
			must(t, syscall.Mkfifo(filepath.Join(dir, "pipe.png"), 0o644))
		}, ingest.Options{}, "found 20, indexed 16, updated 0, retagged 0, skipped 0, duplicates 1, pruned 0, failed [broken.jpg dangling.png pipe.png]"},
		{"nothing changed", func(t *testing.T) {}, ingest.Options{},
			"found 20, indexed 0, updated 0, retagged 0, skipped 16, duplicates 1, pruned 0, failed [broken.jpg dangling.png pipe.png]"},
		{"touched, moved, rewritten, removed, copied", func(t *testing.T) {
			later := time.Now().Add(time.Hour)
			must(t, os.Chtimes(set[1].Path, later, later))
			must(t, os.Rename(set[2].Path, filepath.Join(dir, "moved.png")))
			img := tinyshapes.Draw(rand.New(rand.NewSource(7)), set[3].Color, set[3].Shape, tinyshapes.DrawOptions{})
			must(t, tinyshapes.WriteFile(set[3].Path, img))
			must(t, os.Remove(set[4].Path))
			must(t, copyFile(set[5].Path, filepath.Join(dir, "copy2.png")))
		}, ingest.Options{Prune: true},
			"found 20, indexed 1, updated 2, retagged 0, skipped 12, duplicates 2, pruned 1, failed [broken.jpg dangling.png pipe.png]"},
		{"a copy over another file", func(t *testing.T) {
			must(t, copyFile(set[6].Path, set[7].Path))
		}, ingest.Options{Prune: true, Tags: tags},
			"found 20, indexed 0, updated 0, retagged 14, skipped 0, duplicates 3, pruned 1, failed [broken.jpg dangling.png pipe.png]"},
		{"an ignore file and an exclusion leave files out", func(t *testing.T) {
			must(t, os.WriteFile(filepath.Join(dir, ingest.IgnoreFile), []byte("deeper/\n"), 0o644))
		}, ingest.Options{Prune: true, Tags: tags, Exclude: []string{"pipe.png", "copy*.png"}},
			"found 13, indexed 0, updated 0, retagged 0, skipped 10, duplicates 1, pruned 4, failed [broken.jpg dangling.png]"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.change(t)
			opts := st.opts
			opts.Paths = []string{dir}
			dry := opts
			dry.DryRun = true
			want, err := ingest.Run(t.Context(), enc, s, dry)
			must(t, err)
			got, err := ingest.Run(t.Context(), enc, s, opts)
			must(t, err)
			if counts(want) != counts(got) {
				t.Errorf("dry run predicted %s\n            the run did %s", counts(want), counts(got))
			}
			if counts(got) != st.want {
				t.Errorf("run: %s\n     want %s", counts(got), st.want)
			}
			if n := got.Indexed + got.Updated + got.Retagged + got.Skipped + got.Duplicates + len(got.Failed); n != got.Found {
				t.Errorf("outcomes add up to %d, found %d: %+v", n, got.Found, got)
			}
		})
	}
}
