package tools

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// TestIngestStaysInRoots: ingest_images never follows a symbolic link out
// of the roots (the links are reported), and the roots derived from the
// index do not grow through a link even when the index already holds a
// path below one (as an index written before this check may).
func TestIngestStaysInRoots(t *testing.T) {
	s, f, _ := fakeService(t, Options{AllowIngest: true})
	ctx := context.Background()
	outside := filepath.Join(filepath.Dir(f.Root), "outside")
	imgs, err := toolstest.DrawSet(outside, toolstest.DrawOptions{Seed: 11, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(f.Root, "outdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(imgs[0].Path, filepath.Join(f.Root, "outfile.png")); err != nil {
		t.Fatal(err)
	}
	sum, err := s.IngestImages(ctx, IngestInput{Paths: []string{f.Root}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Indexed != 0 {
		t.Errorf("ingest indexed %d files through links out of the root", sum.Indexed)
	}
	reasons := map[string]string{}
	for _, fl := range sum.Failed {
		reasons[fl.Path] = fl.Reason
	}
	for _, p := range []string{filepath.Join(f.Root, "outdir"), filepath.Join(f.Root, "outfile.png")} {
		if !strings.Contains(reasons[p], "leads outside") {
			t.Errorf("%s: reason %q, want a link-out report", p, reasons[p])
		}
	}
	err = f.Store.Files(ctx, func(e retriever.FileEntry) error {
		if strings.HasPrefix(e.Path, filepath.Join(f.Root, "outdir")) || e.Path == filepath.Join(f.Root, "outfile.png") {
			t.Errorf("indexed %s", e.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestImages(ctx, IngestInput{Paths: []string{filepath.Join(f.Root, "outdir")}}); err == nil {
		t.Error("ingest of a link out named as the path succeeded")
	}

	// An index that holds a path below the link (written by an older
	// version, say): the roots a new service derives stay the image folder.
	rec := retriever.Record{ID: retriever.RecordID(strings.Repeat("ab", 32), toolstest.FakeID), Vector: make([]float32, len(toolstest.Hues)),
		Payload: retriever.Payload{Path: filepath.Join(f.Root, "outdir", filepath.Base(imgs[1].Path)), Folder: filepath.Join(f.Root, "outdir"), Model: toolstest.FakeID}}
	rec.Vector[0] = 1
	if err := f.Store.Upsert(ctx, []retriever.Record{rec}); err != nil {
		t.Fatal(err)
	}
	fresh, err := New(s.Encoder(), f.Store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	roots, err := fresh.Roots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || roots[0] != f.Root {
		t.Fatalf("derived roots %v, want only %s", roots, f.Root)
	}
	for _, p := range []string{rec.Payload.Path, imgs[1].Path} {
		if _, _, err := fresh.readFile(ctx, p); err == nil {
			t.Errorf("%s was readable", p)
		}
	}
	if _, err := fresh.HitThumbnail(ctx, Hit{Path: rec.Payload.Path}, 64); err == nil {
		t.Error("a thumbnail through the link out was made")
	}
}

// TestIngestWaitsWithinDeadline: while another ingest holds the lock (one
// stuck in I/O, say), a second call ends at its own deadline instead of
// waiting for the lock forever.
func TestIngestWaitsWithinDeadline(t *testing.T) {
	s, f, _ := fakeService(t, Options{AllowIngest: true, Timeout: 200 * time.Millisecond})
	s.ingestSem <- struct{}{} // the stuck ingest
	done := make(chan error, 1)
	go func() {
		_, err := s.IngestImages(context.Background(), IngestInput{Paths: []string{f.Root}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "already running") {
			t.Fatalf("err = %v, want the deadline while waiting", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ingest waited for the lock past its deadline")
	}
	<-s.ingestSem
	if _, err := s.IngestImages(context.Background(), IngestInput{Paths: []string{f.Root}}); err != nil {
		t.Fatalf("ingest after the lock was released: %v", err)
	}
}

// TestNonRegularFilesRefused: a FIFO named as an image, or ingested, is
// refused at once with a clear reason; one inside an ingested folder is
// reported and the rest indexed.
func TestNonRegularFilesRefused(t *testing.T) {
	s, f, _ := fakeService(t, Options{AllowIngest: true, Timeout: time.Minute})
	fifo := filepath.Join(f.Root, "more", "pipe.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{Path: fifo}})
		if !IsInputError(err) || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("similar to a FIFO: err = %v", err)
		}
		_, err = s.CompareImages(ctx, CompareInput{A: ImageRef{Path: fifo}, B: ImageRef{Path: f.Images[0].Path}})
		if !IsInputError(err) || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("compare with a FIFO: err = %v", err)
		}
		if _, err := s.HitThumbnail(ctx, Hit{Path: fifo}, 64); err == nil || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("thumbnail of a FIFO: err = %v", err)
		}
		sum, err := s.IngestImages(ctx, IngestInput{Paths: []string{fifo}})
		if err != nil || len(sum.Failed) != 1 || !strings.Contains(sum.Failed[0].Reason, "FIFO") {
			t.Errorf("ingest of a FIFO: %+v, %v", sum, err)
		}
		sum, err = s.IngestImages(ctx, IngestInput{Paths: []string{f.Root}})
		if err != nil || len(sum.Failed) != 1 || sum.Failed[0].Path != fifo || sum.Skipped != len(f.Images) {
			t.Errorf("ingest of a folder with a FIFO: %+v, %v", sum, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("a call blocked on a FIFO")
	}
}
