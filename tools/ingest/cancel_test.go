package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// countingEncoder is the fake encoder counting the images it embedded:
// those of the EmbedPixels calls that returned vectors.
type countingEncoder struct {
	*toolstest.Fake
	embedded atomic.Int64
}

func (c *countingEncoder) EmbedPixels(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	vecs, err := c.Fake.EmbedPixels(ctx, pixels)
	if err == nil {
		c.embedded.Add(int64(len(vecs)))
	}
	return vecs, err
}

// TestCancelAtEveryStage cancels a run when a stage finishes its k-th piece
// of work, for every stage and a few k, and checks that nothing embedded
// is lost: every image the model embedded is in the index and counted as
// indexed, and one more run indexes exactly the rest.
func TestCancelAtEveryStage(t *testing.T) {
	dir := t.TempDir()
	set := drawSet(t, dir, 30, 21)
	must(t, copyFile(set[0].Path, filepath.Join(dir, "copy.png")))                                // a duplicate
	must(t, os.WriteFile(filepath.Join(dir, "broken.png"), []byte("\x89PNG\r\n\x1a\nno"), 0o644)) // a failure
	distinct := len(set)

	type tc struct {
		stage string
		k     int
	}
	var cases []tc
	for _, st := range ingest.Stages {
		for _, k := range []int{1, 2, 5} {
			cases = append(cases, tc{st, k})
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%d", c.stage, c.k), func(t *testing.T) {
			enc := &countingEncoder{Fake: toolstest.NewFake()}
			s := openStore(t, t.TempDir())
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var calls atomic.Int64
			fired := atomic.Bool{}
			opts := ingest.WithStageHook(ingest.Options{Paths: []string{dir}, Workers: 2, BatchSize: 4, Prune: true, Tags: toolstest.Hues, Text: &sizeReader{id: "r"}},
				func(stage string) {
					if stage == c.stage && calls.Add(1) == int64(c.k) {
						fired.Store(true)
						cancel()
					}
				})
			sum, err := ingest.Run(ctx, enc, s, opts)
			if fired.Load() && err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled run: %v, want context.Canceled", err)
			}
			if !fired.Load() && err != nil {
				t.Fatalf("run: %v", err)
			}
			embedded := int(enc.embedded.Load())
			n, err := s.Count(t.Context())
			if err != nil && !errors.Is(err, retriever.ErrNotFound) {
				t.Fatal(err)
			}
			if n != embedded || sum.Indexed != embedded {
				t.Errorf("embedded %d, index holds %d, summary says indexed %d: %+v", embedded, n, sum.Indexed, sum)
			}
			if done := sum.Indexed + sum.Duplicates + len(sum.Failed); done > sum.Found {
				t.Errorf("counts exceed what was found: %+v", sum)
			}

			// Resuming indexes exactly what is missing.
			again, err := ingest.Run(t.Context(), enc, s, ingest.Options{Paths: []string{dir}, Workers: 2, BatchSize: 4, Tags: toolstest.Hues})
			if err != nil {
				t.Fatal(err)
			}
			if again.Indexed != distinct-n || again.Skipped != n {
				t.Errorf("resume after %d written: %+v, want %d indexed and %d skipped", n, again, distinct-n, n)
			}
			if n, _ := s.Count(t.Context()); n != distinct {
				t.Errorf("index holds %d records after resuming, want %d", n, distinct)
			}
		})
	}
}

// TestProgressEvents checks what a run reports: one task that starts with
// the files that need work, moves one file at a time, and ends done with
// every one of them counted; a run with nothing to do reports nothing.
func TestProgressEvents(t *testing.T) {
	dir := t.TempDir()
	set := drawSet(t, dir, 12, 22)
	must(t, copyFile(set[0].Path, filepath.Join(dir, "copy.png")))
	must(t, os.WriteFile(filepath.Join(dir, "broken.png"), []byte("\x89PNG\r\n\x1a\nno"), 0o644))
	s := openStore(t, t.TempDir())
	enc := toolstest.NewFake()
	tests := []struct {
		name  string
		total int64
	}{
		{"first run", int64(len(set) + 2)},
		{"nothing changed: the failure and the duplicate are read again", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var evs []progress.Event
			sum, err := ingest.Run(t.Context(), enc, s, ingest.Options{Paths: []string{dir}, Workers: 2,
				Progress: func(e progress.Event) { evs = append(evs, e) }})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) < 2 || evs[0].State != progress.Start || evs[len(evs)-1].State != progress.Done {
				t.Fatalf("events %+v, want Start ... Done", evs)
			}
			for i, e := range evs {
				if e.Task != ingest.ProgressTask || e.Unit != progress.Items || e.Items != "files" || e.Total != tc.total {
					t.Errorf("event %d: %+v, want task %q counting %d files", i, e, ingest.ProgressTask, tc.total)
				}
				if i > 0 && e.N < evs[i-1].N {
					t.Errorf("event %d: N went back from %d to %d", i, evs[i-1].N, e.N)
				}
			}
			if last := evs[len(evs)-1]; last.N != tc.total {
				t.Errorf("done at %d of %d files (summary %+v)", last.N, tc.total, sum)
			}
		})
	}
	// Without them, nothing is left to do.
	must(t, os.Remove(filepath.Join(dir, "broken.png")))
	must(t, os.Remove(filepath.Join(dir, "copy.png")))
	var evs []progress.Event
	if _, err := ingest.Run(t.Context(), enc, s, ingest.Options{Paths: []string{dir}, Progress: func(e progress.Event) { evs = append(evs, e) }}); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("a run with nothing to do reported %+v", evs)
	}
}
