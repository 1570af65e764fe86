package tools

import (
	"context"
	"encoding/base64"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// stubReader is a TextReader that reads nothing: it counts its calls and
// fails with errStub, so tests see when ReadImageText runs the engine
// (hybrid_ocr_test.go reads with the real one).
type stubReader struct{ calls atomic.Int64 }

var errStub = errors.New("stub reader called")

func (r *stubReader) ID() string { return "stub" }
func (r *stubReader) ReadText(ctx context.Context, img image.Image) ([]retriever.TextLine, error) {
	r.calls.Add(1)
	if img.Bounds().Empty() {
		return nil, errors.New("empty image")
	}
	return nil, errStub
}

func TestReadImageTextStored(t *testing.T) {
	rs := buildRetrievalSet(t, toolstest.NewFake(), groundTruth)
	ctx := context.Background()
	r := &stubReader{}
	s, err := New(toolstest.NewFake(), rs.store, Options{Roots: rs.svc.Options().Roots, TextReader: r})
	if err != nil {
		t.Fatal(err)
	}
	id := rs.figures["顶面构造图"]
	path := rs.hitPath(t, id)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]ImageRef{
		"id":       {ID: id},
		"image://": RefFromString("image://" + id),
		"path":     {Path: path},
		"data URI": {DataURI: "data:image/png;base64," + base64.StdEncoding.EncodeToString(data)},
	} {
		out, err := s.ReadImageText(ctx, ReadTextInput{Image: ref})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.Source != "index" || out.ReadBy != "test" || out.ID != id || out.Path != path ||
			len(out.Lines) < 2 || out.Lines[0].Text != "顶面构造图" || out.Lines[0].Confidence != 1 || out.Lines[0].Box[2][0] == 0 {
			t.Errorf("%s: %+v", name, out)
		}
	}
	// A photo read at ingest with no text: no lines, no OCR.
	out, err := s.ReadImageText(ctx, ReadTextInput{Image: ImageRef{ID: rs.photos[0]}})
	if err != nil || out.Source != "index" || len(out.Lines) != 0 || out.Lines == nil {
		t.Errorf("photo: %+v, %v", out, err)
	}
	if n := r.calls.Load(); n != 0 {
		t.Errorf("the engine ran %d times for images whose text is stored", n)
	}
}

func TestReadImageTextNow(t *testing.T) {
	_, f, enc := fakeService(t, Options{})
	ctx := context.Background()
	r := &stubReader{}
	s, err := New(enc, f.Store, Options{TextReader: r})
	if err != nil {
		t.Fatal(err)
	}
	path := f.ByClass["red circle"]
	// Indexed without text (TextBy empty), by id and by path: the engine runs.
	recs := 0
	if err := f.Store.Files(ctx, func(e retriever.FileEntry) error {
		if e.Path == path {
			recs++
			_, err := s.ReadImageText(ctx, ReadTextInput{Image: ImageRef{ID: e.ID}})
			if !errors.Is(err, errStub) || !strings.Contains(err.Error(), path) {
				t.Errorf("by id: %v", err)
			}
		}
		return nil
	}); err != nil || recs != 1 {
		t.Fatal(recs, err)
	}
	if _, err := s.ReadImageText(ctx, ReadTextInput{Image: ImageRef{Path: path}}); !errors.Is(err, errStub) {
		t.Errorf("by path: %v", err)
	}
	if n := r.calls.Load(); n != 2 {
		t.Errorf("engine ran %d times, want 2", n)
	}
	// Without a reader.
	plain, err := New(enc, f.Store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ReadImageText(ctx, ReadTextInput{Image: ImageRef{Path: path}}); !errors.Is(err, ErrNoTextReader) {
		t.Errorf("without a reader: %v", err)
	}
	// Bad references.
	bad := filepath.Join(f.Root, "not-an-image.png")
	if err := os.WriteFile(bad, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		ref   ImageRef
		field string
	}{
		"none":       {ImageRef{}, "image"},
		"two":        {ImageRef{ID: "x", Path: path}, "image"},
		"unknown id": {ImageRef{ID: "00000000-0000-5000-8000-000000000000"}, "image.id"},
		"outside":    {ImageRef{Path: "/etc/passwd"}, "image.path"},
		"not image":  {ImageRef{Path: bad}, "image.path"},
		"bad data":   {ImageRef{DataURI: "data:image/png;base64,AAAA"}, "image.data_uri"},
		"urls off":   {ImageRef{URL: "http://127.0.0.1/x.png"}, "image.url"},
	} {
		_, err := s.ReadImageText(ctx, ReadTextInput{Image: c.ref})
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%s: %v, want an input error on %s", name, err, c.field)
		}
	}
}

// sizeLineReader is a TextReader that "reads" one line naming the image's
// size: enough to see which images ingest handed to it.
type sizeLineReader struct{ calls atomic.Int64 }

func (r *sizeLineReader) ID() string { return "size-line" }
func (r *sizeLineReader) ReadText(ctx context.Context, img image.Image) ([]retriever.TextLine, error) {
	r.calls.Add(1)
	b := img.Bounds()
	return []retriever.TextLine{{Text: "size " + strconv.Itoa(b.Dx()) + "x" + strconv.Itoa(b.Dy()), Confidence: 1,
		Box: [4][2]int{{0, 0}, {b.Dx(), 0}, {b.Dx(), b.Dy()}, {0, b.Dy()}}}}, nil
}

func TestIngestImagesReadsText(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(strconv.FormatBool(on), func(t *testing.T) {
			r := &sizeLineReader{}
			s, f, _ := fakeService(t, Options{AllowIngest: true, TextReader: r, IngestText: on})
			ctx := context.Background()
			extra := filepath.Join(f.Root, "extra")
			paths, err := toolstest.DrawSet(extra, toolstest.DrawOptions{Seed: 9, Count: 3})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := s.IngestImages(ctx, IngestInput{Paths: []string{extra}})
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if on {
				want = 3
			}
			if sum.Indexed != 3 || sum.TextRead != want || int(r.calls.Load()) != want {
				t.Fatalf("IngestText %v: %+v, %d reads; want %d images read", on, sum, r.calls.Load(), want)
			}
			out, err := s.ReadImageText(ctx, ReadTextInput{Image: ImageRef{Path: paths[0].Path}})
			if err != nil {
				t.Fatal(err)
			}
			wantSource := "ocr" // not stored: read now
			if on {
				wantSource = "index"
			}
			if out.Source != wantSource || out.ReadBy != "size-line" || len(out.Lines) != 1 || !strings.HasPrefix(out.Lines[0].Text, "size ") {
				t.Errorf("IngestText %v: ReadImageText = %+v, want source %s", on, out, wantSource)
			}
		})
	}
}
