package ingest_test

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// watchWait bounds every wait for the watcher; a healthy run takes well
// under a second.
const watchWait = 60 * time.Second

// indexed returns the paths in the index, relative to dir, sorted.
func indexed(t *testing.T, s retriever.Store, dir string) []string {
	t.Helper()
	var out []string
	err := s.Files(t.Context(), func(e retriever.FileEntry) error {
		rel, err := filepath.Rel(dir, e.Path)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil && !errors.Is(err, retriever.ErrNotFound) {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestWatch runs a real watch over a folder and changes it step by step:
// after each change the index comes to hold exactly the folder's images
// (files added, rewritten, moved, deleted, folders created, moved and
// deleted, an ignore file added), moved files keep their vectors (no model
// call), a record lost behind the watch's back comes back with a rescan,
// and the watch ends when its context does.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	toolstest.Draw(t, filepath.Join(dir, "a"), toolstest.DrawOptions{Seed: 51, Count: 3})
	enc := toolstest.NewFake()
	s := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runs := make(chan ingest.WatchRun, 100)
	done := make(chan error, 1)
	go func() {
		done <- ingest.Watch(ctx, enc, s, ingest.Options{Paths: []string{dir}, Workers: 2}, ingest.WatchOptions{
			Debounce: 20 * time.Millisecond, Rescan: -1,
			OnRun: func(r ingest.WatchRun) { runs <- r },
		})
	}()
	// waitFor waits for runs until the index holds want.
	waitFor := func(t *testing.T, want []string) {
		t.Helper()
		want = slices.Sorted(slices.Values(want))
		deadline := time.After(watchWait)
		for {
			if got := indexed(t, s, dir); slices.Equal(got, want) {
				return
			}
			select {
			case r := <-runs:
				if r.Err != nil {
					t.Fatalf("%s run over %v: %v", r.Reason, r.Paths, r.Err)
				}
			case err := <-done:
				t.Fatalf("the watch ended: %v", err)
			case <-deadline:
				t.Fatalf("after %s the index holds %v, want %v", watchWait, indexed(t, s, dir), want)
			}
		}
	}
	draw := func(t *testing.T, rel string, seed int64) {
		t.Helper()
		p := filepath.Join(dir, rel)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		img := tinyshapes.Draw(rand.New(rand.NewSource(seed)), "red", "circle", tinyshapes.DrawOptions{})
		tmp := filepath.Join(filepath.Dir(p), ".tmp-"+filepath.Base(p)) // written whole, then renamed in
		must(t, tinyshapes.WriteFile(tmp, img))
		must(t, os.Rename(tmp, p))
	}
	waitFor(t, []string{"a/red-square.png", "a/red-triangle.png", "a/red-circle.png"})

	steps := []struct {
		name      string
		change    func(t *testing.T)
		want      []string
		noImageAt bool // the model must not run
	}{
		{"add a file", func(t *testing.T) { draw(t, "a/new.png", 1) },
			[]string{"a/red-square.png", "a/red-triangle.png", "a/new.png", "a/red-circle.png"}, false},
		{"move a file", func(t *testing.T) {
			must(t, os.Rename(filepath.Join(dir, "a/new.png"), filepath.Join(dir, "moved.png")))
		},
			[]string{"a/red-square.png", "a/red-triangle.png", "a/red-circle.png", "moved.png"}, true},
		{"a new folder with a file", func(t *testing.T) { draw(t, "b/c/deep.png", 2) },
			[]string{"a/red-square.png", "a/red-triangle.png", "a/red-circle.png", "b/c/deep.png", "moved.png"}, false},
		{"move a folder", func(t *testing.T) { must(t, os.Rename(filepath.Join(dir, "b"), filepath.Join(dir, "a", "b"))) },
			[]string{"a/b/c/deep.png", "a/red-square.png", "a/red-triangle.png", "a/red-circle.png", "moved.png"}, true},
		{"a file in the moved folder", func(t *testing.T) { draw(t, "a/b/c/later.png", 3) },
			[]string{"a/b/c/deep.png", "a/b/c/later.png", "a/red-square.png", "a/red-triangle.png", "a/red-circle.png", "moved.png"}, false},
		{"delete a file and a folder", func(t *testing.T) {
			must(t, os.Remove(filepath.Join(dir, "moved.png")))
			must(t, os.RemoveAll(filepath.Join(dir, "a", "b")))
		}, []string{"a/red-square.png", "a/red-triangle.png", "a/red-circle.png"}, true},
		{"an ignore file", func(t *testing.T) {
			must(t, os.WriteFile(filepath.Join(dir, "a", ingest.IgnoreFile), []byte("*-triangle.*\n"), 0o644))
		}, []string{"a/red-square.png", "a/red-circle.png"}, true},
		{"rewrite a file", func(t *testing.T) { draw(t, "a/red-circle.png", 4) },
			[]string{"a/red-square.png", "a/red-circle.png"}, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			images := enc.ImageCalls.Load()
			st.change(t)
			waitFor(t, st.want)
			if n := enc.ImageCalls.Load() - images; st.noImageAt && n != 0 {
				t.Errorf("%d image model calls", n)
			}
		})
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watch returned %v after its context ended", err)
		}
	case <-time.After(watchWait):
		t.Fatal("the watch did not end with its context")
	}
}

// TestWatchRescan loses a record behind the watch's back (no file changes,
// so no notification) and checks that a rescan brings it back.
func TestWatchRescan(t *testing.T) {
	dir := t.TempDir()
	toolstest.Draw(t, dir, toolstest.DrawOptions{Seed: 52, Count: 3})
	enc := toolstest.NewFake()
	s := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runs := make(chan ingest.WatchRun, 100)
	done := make(chan error, 1)
	go func() {
		done <- ingest.Watch(ctx, enc, s, ingest.Options{Paths: []string{dir}}, ingest.WatchOptions{
			Rescan: 50 * time.Millisecond, OnRun: func(r ingest.WatchRun) { runs <- r },
		})
	}()
	deadline := time.After(watchWait)
	lost := false
	for rescans := 0; ; {
		select {
		case r := <-runs:
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Reason == ingest.WatchRescan {
				rescans++
			}
		case <-deadline:
			t.Fatal("no rescan brought the record back")
		}
		n, _ := s.Count(t.Context())
		switch {
		case !lost && n == 3:
			var id string
			must(t, s.Files(t.Context(), func(e retriever.FileEntry) error { id = e.ID; return nil }))
			must(t, s.Delete(t.Context(), []string{id}))
			lost, rescans = true, 0
		case lost && rescans > 0 && n == 3:
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}
