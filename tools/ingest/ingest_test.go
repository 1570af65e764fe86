package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// drawSet draws n images of the tiny model's domain into dir, cycling
// through the 20 classes, alternating PNG and JPEG, some in a sub-folder.
func drawSet(t testing.TB, dir string, n int, seed int64) []toolstest.Image {
	t.Helper()
	return toolstest.Draw(t, dir, toolstest.DrawOptions{
		Seed: seed, Count: n, ShapeMajor: true, JPEG: true, Nest: filepath.Join("nested", "deeper"),
		Name: func(i int, c tinyshapes.Class) string { return fmt.Sprintf("%03d-%s-%s", i, c.Color, c.Shape) },
	})
}

func openStore(t testing.TB, dir string) *local.Store {
	t.Helper()
	s, err := local.Open(dir, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// snapshot is the comparable content of an index: path → id and vector.
type snapshot map[string]string

func takeSnapshot(t testing.TB, s retriever.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	snap := snapshot{}
	var ids []string
	if err := s.Files(ctx, func(e retriever.FileEntry) error {
		ids = append(ids, e.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Get(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if want := retriever.RecordID(r.Payload.SHA256, r.Payload.Model); r.ID != want {
			t.Errorf("%s: id %s, want %s from its hash", r.Payload.Path, r.ID, want)
		}
		var b strings.Builder
		for _, v := range r.Vector {
			fmt.Fprintf(&b, "%.5f,", v)
		}
		tags := make([]string, 0, len(r.Payload.Tags))
		for _, tg := range r.Payload.Tags {
			tags = append(tags, fmt.Sprintf("%s=%.4f", tg.Label, tg.Score))
		}
		snap[r.Payload.Path] = fmt.Sprintf("%s|%d|%dx%d|%s|%s|%s", r.ID, r.Payload.Size, r.Payload.Width, r.Payload.Height, r.Payload.Format, strings.Join(tags, ";"), b.String())
	}
	return snap
}

func TestIncremental(t *testing.T) {
	m := toolstest.Model(t)
	ctx := context.Background()
	dir := t.TempDir()
	set := drawSet(t, dir, 24, 1)
	// Things that must not be indexed, or must fail without stopping the run.
	must(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "broken.jpg"), []byte("\xff\xd8\xff\xe0 truncated"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, ".hidden"), 0o755))
	must(t, copyFile(set[0].Path, filepath.Join(dir, ".hidden", "secret.png")))
	must(t, os.Symlink(dir, filepath.Join(dir, "nested", "loop"))) // a symlink loop

	s := openStore(t, t.TempDir())
	opts := ingest.Options{Paths: []string{dir}, Workers: 2, BatchSize: 5}

	sum, err := ingest.Run(ctx, m, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Indexed != len(set) || sum.Found != len(set)+1 || len(sum.Failed) != 1 || sum.Skipped != 0 {
		t.Fatalf("first run: %+v", sum)
	}
	if !strings.HasSuffix(sum.Failed[0].Path, "broken.jpg") || sum.Failed[0].Reason == "" {
		t.Errorf("failure: %+v", sum.Failed[0])
	}
	if n, _ := s.Count(ctx); n != len(set) {
		t.Fatalf("count %d, want %d", n, len(set))
	}
	first := takeSnapshot(t, s)

	// Second run: no model work at all.
	sum, err = ingest.Run(ctx, m, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Indexed != 0 || sum.Updated != 0 || sum.Skipped != len(set) {
		t.Fatalf("second run did work: %+v", sum)
	}

	// Touch one file: same content, new time → record rewritten, no model work.
	later := time.Now().Add(time.Hour)
	must(t, os.Chtimes(set[1].Path, later, later))
	// Rewrite another with new content → re-embedded, old record gone.
	img := tinyshapes.Draw(rand.New(rand.NewSource(99)), set[2].Color, set[2].Shape, tinyshapes.DrawOptions{})
	must(t, tinyshapes.WriteFile(set[2].Path, img))
	// Move one: same content, new path → no model work.
	moved := filepath.Join(dir, "moved"+filepath.Ext(set[3].Path))
	must(t, os.Rename(set[3].Path, moved))
	// Remove one.
	must(t, os.Remove(set[4].Path))

	dry, err := ingest.Run(ctx, m, s, ingest.Options{Paths: []string{dir}, Prune: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := takeSnapshot(t, s); len(got) != len(first) {
		t.Errorf("dry run changed the index: %d records, want %d", len(got), len(first))
	}

	opts.Prune = true
	sum, err = ingest.Run(ctx, m, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The changed file is embedded, the touched and moved ones rewritten;
	// the removed file pruned (the moved one's record moved with it), and
	// broken.jpg fails again (failed files are retried every run).
	if sum.Indexed != 1 || sum.Updated != 2 || sum.Pruned != 1 || len(sum.Failed) != 1 {
		t.Errorf("after changes: %+v (want indexed 1, updated 2, pruned 1, failed 1)", sum)
	}
	if d, r := counts(dry), counts(sum); d != r {
		t.Errorf("dry run predicted %s, the run did %s", d, r)
	}
	after := takeSnapshot(t, s)
	if len(after) != len(set)-1 {
		t.Errorf("records after prune: %d, want %d", len(after), len(set)-1)
	}
	if _, ok := after[set[4].Path]; ok {
		t.Error("removed file still indexed")
	}
	if _, ok := after[set[3].Path]; ok {
		t.Error("moved file still indexed at its old path")
	}
	if a, b := strings.SplitN(after[moved], "|", 2)[0], strings.SplitN(first[set[3].Path], "|", 2)[0]; a != b {
		t.Errorf("moved file got a new id %s, want %s", a, b)
	}
	if after[set[2].Path] == first[set[2].Path] {
		t.Error("rewritten file was not re-embedded")
	}
}

func TestSearchAndTags(t *testing.T) {
	m := toolstest.Model(t)
	ctx := context.Background()
	dir := t.TempDir()
	set := drawSet(t, dir, 40, 2)
	s := openStore(t, t.TempDir())
	labels := tinyshapes.Classes()
	// With no threshold, -top-tags alone decides how many tags an image gets.
	sum, err := ingest.Run(ctx, m, s, ingest.Options{Paths: []string{dir}, Tags: labels, TopTags: 2, MinTagProb: -1})
	if err != nil || sum.Indexed != len(set) {
		t.Fatalf("ingest: %+v, %v", sum, err)
	}
	// Tags: the top tag is the drawn class for nearly every image.
	want := map[string]string{}
	for _, sh := range set {
		want[sh.Path] = sh.Color + " " + sh.Shape
	}
	right := 0
	err = s.Files(ctx, func(e retriever.FileEntry) error {
		recs, err := s.Get(ctx, []string{e.ID})
		if err != nil || len(recs) != 1 {
			return fmt.Errorf("get %s: %v", e.ID, err)
		}
		tags := recs[0].Payload.Tags
		if len(tags) != 2 || tags[0].Score < tags[1].Score {
			t.Errorf("%s: tags %+v", e.Path, tags)
		}
		if len(tags) > 0 && tags[0].Label == want[e.Path] {
			right++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if acc := float64(right) / float64(len(set)); acc < 0.85 {
		t.Errorf("top tag right for %.0f%% of images, want ≥ 85%%", 100*acc)
	}
	// Search: a caption finds its class, and tag filters work.
	q, err := m.EmbedTexts(ctx, []string{"a photo of a blue square"})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search(ctx, q[0], 1, retriever.Filter{})
	if err != nil || len(hits) != 1 {
		t.Fatalf("search: %v %v", hits, err)
	}
	if want[hits[0].Payload.Path] != "blue square" {
		t.Errorf("top hit for blue square: %s", hits[0].Payload.Path)
	}
	hits, err = s.Search(ctx, q[0], 50, retriever.Filter{AnyTags: []string{"red circle"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		found := false
		for _, tg := range h.Payload.Tags {
			found = found || tg.Label == "red circle"
		}
		if !found {
			t.Errorf("filtered hit %s lacks the tag: %+v", h.Payload.Path, h.Payload.Tags)
		}
	}
}

func TestDuplicates(t *testing.T) {
	m := toolstest.Model(t)
	ctx := context.Background()
	dir := t.TempDir()
	set := drawSet(t, dir, 4, 3)
	must(t, copyFile(set[0].Path, filepath.Join(dir, "copy.png")))
	s := openStore(t, t.TempDir())
	opts := ingest.Options{Paths: []string{dir}}
	for run := range 2 {
		sum, err := ingest.Run(ctx, m, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Duplicates != 1 || (run == 0 && sum.Indexed != 4) || (run == 1 && sum.Indexed+sum.Updated != 0) {
			t.Errorf("run %d: %+v", run, sum)
		}
	}
	if n, _ := s.Count(ctx); n != 4 {
		t.Errorf("count %d, want 4", n)
	}
}

func TestModelMismatch(t *testing.T) {
	m := toolstest.Model(t)
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	must(t, s.Ensure(ctx, retriever.Collection{Model: "clip-vit-b-32", Dim: 512}))
	_, err := ingest.Run(ctx, m, s, ingest.Options{Paths: []string{t.TempDir()}})
	if err == nil || !strings.Contains(err.Error(), "clip-vit-b-32") || !strings.Contains(err.Error(), m.ID()) {
		t.Errorf("want a mismatch error naming both models, got %v", err)
	}
}

func TestMissingPath(t *testing.T) {
	m := toolstest.Model(t)
	s := openStore(t, t.TempDir())
	_, err := ingest.Run(context.Background(), m, s, ingest.Options{Paths: []string{"/no/such/folder"}})
	if err == nil || !strings.Contains(err.Error(), "/no/such/folder") {
		t.Errorf("got %v", err)
	}
}

// TestInterrupted kills an ingest subprocess mid-run, with SIGKILL and with
// SIGINT, re-runs it, and checks the index equals an uninterrupted run's.
func TestInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	m := toolstest.Model(t)
	ctx := context.Background()
	dir := t.TempDir()
	drawSet(t, dir, 120, 4)
	tags := tinyshapes.Classes()[:6]
	tagFile := filepath.Join(t.TempDir(), "tags.txt")
	must(t, os.WriteFile(tagFile, []byte(strings.Join(tags, "\n")), 0o644))

	refDir := t.TempDir()
	ref := openStore(t, refDir)
	if _, err := ingest.Run(ctx, m, ref, ingest.Options{Paths: []string{dir}, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	want := takeSnapshot(t, ref)

	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			var storeDir string
			killed := false
			for attempt := 0; attempt < 3 && !killed; attempt++ {
				storeDir = t.TempDir() // a fresh index each attempt
				killed = runAndKill(t, dir, storeDir, tagFile, sig)
			}
			if !killed {
				t.Fatal("the child finished before it could be interrupted")
			}
			s := openStore(t, storeDir)
			partial, _ := s.Count(ctx)
			if partial == 0 || partial >= len(want) {
				t.Logf("interrupted with %d of %d records written", partial, len(want))
			}
			sum, err := ingest.Run(ctx, m, s, ingest.Options{Paths: []string{dir}, Tags: tags})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Skipped != partial || sum.Indexed != len(want)-partial {
				t.Errorf("resume: %+v, want %d skipped and %d indexed", sum, partial, len(want)-partial)
			}
			got := takeSnapshot(t, s)
			if len(got) != len(want) {
				t.Fatalf("%d records after resume, want %d", len(got), len(want))
			}
			for p, w := range want {
				if g := got[p]; !sameRecord(g, w) {
					t.Errorf("%s differs after resume:\n got %.120s\nwant %.120s", p, g, w)
				}
			}
		})
	}
}

// sameRecord compares two snapshot lines, allowing float noise in the last
// printed digit of the vectors (batches of another size run other kernels).
func sameRecord(a, b string) bool {
	pa, pb := strings.Split(a, "|"), strings.Split(b, "|")
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa[:len(pa)-2] {
		if pa[i] != pb[i] {
			return false
		}
	}
	va, vb := strings.Split(pa[len(pa)-1], ","), strings.Split(pb[len(pb)-1], ",")
	if len(va) != len(vb) {
		return false
	}
	for i := range va {
		var x, y float64
		fmt.Sscanf(va[i], "%g", &x)
		fmt.Sscanf(vb[i], "%g", &y)
		if d := x - y; d > 1e-4 || d < -1e-4 {
			return false
		}
	}
	return true
}

// runAndKill starts an ingest child and sends it sig once it has written
// its first records. It reports whether the child was still running then.
func runAndKill(t *testing.T, dir, storeDir, tagFile string, sig syscall.Signal) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildIngest$")
	cmd.Env = append(os.Environ(), "CLIPRAG_INGEST_CHILD=1", "CHILD_DIR="+dir, "CHILD_STORE="+storeDir, "CHILD_TAGS="+tagFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		// Progress lines look like "ingest: 17/120 files ..."; wait for some progress.
		var done, total int
		if _, err := fmt.Sscanf(line, "ingest: %d/%d", &done, &total); err == nil && done >= 10 && done < total-10 {
			must(t, cmd.Process.Signal(sig))
			sent = true
			break
		}
	}
	go func() { _, _ = bufio.NewReader(out).WriteTo(discard{}) }()
	err = cmd.Wait()
	if sent && sig == syscall.SIGINT && err != nil {
		t.Logf("child after SIGINT: %v", err)
	}
	return sent
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestChildIngest is the child process of TestInterrupted.
func TestChildIngest(t *testing.T) {
	if os.Getenv("CLIPRAG_INGEST_CHILD") != "1" {
		t.Skip("child process of TestInterrupted")
	}
	ctx, stop := signalContext()
	defer stop()
	m := toolstest.Model(t)
	s, err := local.Open(os.Getenv("CHILD_STORE"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data, err := os.ReadFile(os.Getenv("CHILD_TAGS"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ingest.Run(ctx, m, s, ingest.Options{
		Paths: []string{os.Getenv("CHILD_DIR")}, Tags: strings.Split(string(data), "\n"),
		BatchSize: 2, Workers: 1, Progress: func(e progress.Event) {
			if e.State == progress.Update {
				fmt.Printf("ingest: %d/%d files\n", e.N, e.Total)
			}
		},
	})
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
}

// counts is the part of a summary a dry run predicts.
func counts(s ingest.Summary) string {
	var failed []string
	for _, f := range s.Failed {
		failed = append(failed, filepath.Base(f.Path))
	}
	return fmt.Sprintf("found %d, indexed %d, updated %d, retagged %d, skipped %d, duplicates %d, pruned %d, failed %v",
		s.Found, s.Indexed, s.Updated, s.Retagged, s.Skipped, s.Duplicates, s.Pruned, failed)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}
