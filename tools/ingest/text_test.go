package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// sizeReader is a fake text reader that needs no cgo: it reads an image
// as one line naming its size and the hue of its centre, and a second line
// "fault system" (so the store's text index has a word every record
// shares). What it reads comes from the pixels it is given, so a test
// sees which image reached it, at what resolution.
type sizeReader struct {
	id    string
	calls atomic.Int64
	fail  error
}

func (r *sizeReader) ID() string { return r.id }

func (r *sizeReader) ReadText(ctx context.Context, img image.Image) ([]retriever.TextLine, error) {
	r.calls.Add(1)
	if r.fail != nil {
		return nil, r.fail
	}
	b := img.Bounds()
	c := img.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2)
	cr, cg, cb, _ := c.RGBA()
	box := [4][2]int{{0, 0}, {b.Dx() - 1, 0}, {b.Dx() - 1, b.Dy() - 1}, {0, b.Dy() - 1}}
	return []retriever.TextLine{
		{Text: fmt.Sprintf("size %dx%d centre %02x%02x%02x", b.Dx(), b.Dy(), cr>>8, cg>>8, cb>>8), Confidence: 0.9, Box: box},
		{Text: "fault system", Confidence: 0.8, Box: box},
	}, nil
}

// wantText is what sizeReader reads in a record's image, from its payload.
func wantText(p retriever.Payload) string {
	return fmt.Sprintf("size %dx%d ", p.Width, p.Height)
}

// checkText checks every record: read by textBy (none: never read) with
// sizeReader's lines for its own image at full size.
func checkText(t *testing.T, s retriever.Store, textBy string) {
	t.Helper()
	for _, r := range allRecords(t, s) {
		switch {
		case r.Payload.TextBy != textBy:
			t.Errorf("%s: text by %q, want %q", r.Payload.Path, r.Payload.TextBy, textBy)
		case textBy == "" && r.Payload.Text != nil:
			t.Errorf("%s: text %+v without a reader", r.Payload.Path, r.Payload.Text)
		case textBy != "" && (len(r.Payload.Text) != 2 || !strings.HasPrefix(r.Payload.Text[0].Text, wantText(r.Payload))):
			t.Errorf("%s: text %+v, want the lines of its %dx%d image", r.Payload.Path, r.Payload.Text, r.Payload.Width, r.Payload.Height)
		}
	}
}

// TestText turns text reading on for an index made without it, and checks
// that the stored records gain their text without a model call (their
// vectors kept), that a dry run predicts it without reading, that later
// runs read nothing new, that runs without a reader keep the text (a
// touched file included), that another reader reads everything again
// (tags re-chosen on the way), that a new file is read with its
// embedding, and that the store's text index finds the text.
func TestText(t *testing.T) {
	dir := t.TempDir()
	set := drawSet(t, dir, 12, 41)
	n := len(set)
	enc := toolstest.NewFake()
	s := openStore(t, t.TempDir())
	r1 := &sizeReader{id: "size-reader/1"}
	run := func(opts ingest.Options) ingest.Summary {
		t.Helper()
		opts.Paths, opts.Workers, opts.BatchSize = []string{dir}, 2, 5
		sum, err := ingest.Run(t.Context(), enc, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := sum.Indexed + sum.Updated + sum.Retagged + sum.Skipped + sum.Duplicates + len(sum.Failed); got != sum.Found {
			t.Errorf("counts do not add up: %+v", sum)
		}
		return sum
	}

	sum := run(ingest.Options{})
	if sum.Indexed != n || sum.TextBy != "" || sum.TextRead != 0 {
		t.Fatalf("index without text: %+v", sum)
	}
	checkText(t, s, "")
	before := takeSnapshot(t, s)
	images := enc.ImageCalls.Load()

	// A dry run predicts the reading and reads nothing.
	sum = run(ingest.Options{Text: r1, DryRun: true})
	if sum.TextRead != n || sum.Updated != n || sum.TextBy != r1.id || sum.TextLines != 0 || r1.calls.Load() != 0 {
		t.Fatalf("dry run: %+v, %d reads", sum, r1.calls.Load())
	}
	checkText(t, s, "")

	// Turned on: every record read, no image embedded, vectors kept.
	sum = run(ingest.Options{Text: r1})
	if sum.TextRead != n || sum.Updated != n || sum.Indexed != 0 || sum.TextLines != 2*n || r1.calls.Load() != int64(n) {
		t.Fatalf("reading the index's text: %+v, %d reads", sum, r1.calls.Load())
	}
	if enc.ImageCalls.Load() != images {
		t.Errorf("reading text embedded images: %d image calls, want %d", enc.ImageCalls.Load(), images)
	}
	if after := takeSnapshot(t, s); !equalSnapshots(before, after) {
		t.Errorf("reading text changed the records' vectors or payloads")
	}
	checkText(t, s, r1.id)

	// Again: nothing to read.
	sum = run(ingest.Options{Text: r1})
	if sum.TextRead != 0 || sum.Skipped != n || r1.calls.Load() != int64(n) {
		t.Fatalf("second run with text: %+v, %d reads", sum, r1.calls.Load())
	}
	// Without a reader the text stays, also in a touched file's record.
	later := time.Now().Add(time.Hour)
	must(t, os.Chtimes(set[3].Path, later, later))
	sum = run(ingest.Options{})
	if sum.Updated != 1 || sum.TextRead != 0 {
		t.Fatalf("touched file without text: %+v", sum)
	}
	checkText(t, s, r1.id)

	// Another reader reads every record again, and tags are chosen on the way.
	r2 := &sizeReader{id: "size-reader/2"}
	sum = run(ingest.Options{Text: r2, Tags: toolstest.Hues})
	if sum.TextRead != n || sum.Updated != n || sum.Retagged != 0 || r2.calls.Load() != int64(n) {
		t.Fatalf("another reader: %+v, %d reads", sum, r2.calls.Load())
	}
	checkText(t, s, r2.id)
	for _, r := range allRecords(t, s) {
		if r.Payload.TagSet == "" || len(r.Payload.Tags) == 0 {
			t.Errorf("%s: not tagged when read again for text", r.Payload.Path)
		}
	}
	if enc.ImageCalls.Load() != images {
		t.Errorf("reading again embedded images")
	}

	// A new file: embedded and read.
	must(t, copyFile(set[0].Path, dir+"/new-but-same.png"))
	extra := drawSet(t, t.TempDir(), 1, 99)
	must(t, copyFile(extra[0].Path, dir+"/new"+extraExt(extra[0].Path)))
	sum = run(ingest.Options{Text: r2, Tags: toolstest.Hues})
	if sum.Indexed != 1 || sum.Duplicates != 1 || sum.TextRead != 1 {
		t.Fatalf("a new file with text: %+v", sum)
	}
	checkText(t, s, r2.id)

	// The store's text index has it.
	hits, err := s.SearchText(t.Context(), "Fault System", 100, retriever.Filter{})
	if err != nil || len(hits) != n+1 {
		t.Fatalf("SearchText = %d hits, %v; want %d", len(hits), err, n+1)
	}
	p := hits[0].Payload
	hits, err = s.SearchText(t.Context(), strings.TrimSpace(p.Text[0].Text), 3, retriever.Filter{})
	if err != nil || len(hits) == 0 || hits[0].Payload.Path != p.Path {
		t.Errorf("SearchText(%q) = %+v, %v; want %s first", p.Text[0].Text, hits, err, p.Path)
	}
}

func extraExt(p string) string { return p[strings.LastIndex(p, "."):] }

// TestTextWithoutReader: a run without a reader never reaches one, and a
// reader's error stops the run (it is the engine's, not one file's), with
// nothing read counted.
func TestTextErrors(t *testing.T) {
	dir := t.TempDir()
	drawSet(t, dir, 6, 42)
	enc := toolstest.NewFake()
	s := openStore(t, t.TempDir())
	bad := &sizeReader{id: "broken", fail: errors.New("models missing")}
	sum, err := ingest.Run(t.Context(), enc, s, ingest.Options{Paths: []string{dir}, Text: bad})
	if err == nil || !strings.Contains(err.Error(), "models missing") {
		t.Fatalf("run with a failing reader: %+v, %v; want its error", sum, err)
	}
	if sum.TextRead != 0 {
		t.Errorf("failing reader counted %d reads", sum.TextRead)
	}
	// The run stops early: the reader is not asked for every file.
	if c := bad.calls.Load(); c == 0 || c > 2 {
		t.Errorf("failing reader asked %d times, want 1 or 2 (two readers)", c)
	}
}

// TestTextProgress: a run that reads text says how many files it has read
// in its progress events.
func TestTextProgress(t *testing.T) {
	dir := t.TempDir()
	set := drawSet(t, dir, 5, 43)
	var last progress.Event
	r := &sizeReader{id: "p"}
	_, err := ingest.Run(t.Context(), toolstest.NewFake(), openStore(t, t.TempDir()), ingest.Options{Paths: []string{dir}, Text: r,
		Progress: func(e progress.Event) { last = e }})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("text read in %d", len(set)); last.State != progress.Done || last.Detail != want {
		t.Errorf("last event %+v, want Done with detail %q", last, want)
	}
}

// skippingReader is sizeReader that also reports one box it could not
// read per image, as the OCR engine does for a box it cannot crop.
type skippingReader struct{ sizeReader }

func (r *skippingReader) ReadTextCounted(ctx context.Context, img image.Image) ([]retriever.TextLine, int, error) {
	lines, err := r.ReadText(ctx, img)
	return lines, 1, err
}

// TestTextSkippedBoxes: boxes a reader could not read are counted in the
// summary; the lines it did read are stored.
func TestTextSkippedBoxes(t *testing.T) {
	dir := t.TempDir()
	set := drawSet(t, dir, 4, 44)
	s := openStore(t, t.TempDir())
	r := &skippingReader{sizeReader{id: "skip"}}
	sum, err := ingest.Run(t.Context(), toolstest.NewFake(), s, ingest.Options{Paths: []string{dir}, Text: r})
	if err != nil {
		t.Fatal(err)
	}
	if sum.TextSkipped != len(set) || sum.TextRead != len(set) || sum.TextLines != 2*len(set) {
		t.Errorf("summary %+v, want %d skipped boxes", sum, len(set))
	}
	checkText(t, s, "skip")
}
