package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools/toolstest"
)

func TestServiceSearch(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{})
	ctx := context.Background()

	out, err := s.SearchImages(ctx, SearchInput{Query: "a photo of a red circle"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Hits) != DefaultTopK {
		t.Fatalf("%d hits, want %d", len(out.Hits), DefaultTopK)
	}
	if got := class(out.Hits[0].Path); got != "red circle" {
		t.Fatalf("top hit %s (%s), want a red circle", out.Hits[0].Path, got)
	}
	for i, h := range out.Hits {
		if h.Rank != i+1 || h.ID == "" || h.URI != "image://"+h.ID || h.Width == 0 || h.Height == 0 || h.MIMEType == "" {
			t.Errorf("hit %d incomplete: %+v", i, h)
		}
		if i > 0 && h.Score > out.Hits[i-1].Score {
			t.Errorf("hits not sorted by score: %v after %v", h.Score, out.Hits[i-1].Score)
		}
	}

	// Every class as a query: the top hit is that class for at least 90 %.
	right := 0
	for name := range f.ByClass {
		out, err := s.SearchImages(ctx, SearchInput{Query: "a photo of a " + name, TopK: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Hits) == 1 && class(out.Hits[0].Path) == name {
			right++
		}
	}
	if right < len(f.ByClass)*9/10 {
		t.Errorf("top-1 right for %d of %d classes, want at least 90%%", right, len(f.ByClass))
	}
}

func TestServiceSearchFilters(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{})
	ctx := context.Background()
	more := filepath.Join(f.Root, "more")
	tests := []struct {
		name  string
		in    SearchInput
		check func(t *testing.T, hits []Hit)
	}{
		{"folder", SearchInput{Query: "a shape", TopK: 100, Filters: Filters{Folder: more}}, func(t *testing.T, hits []Hit) {
			if len(hits) == 0 {
				t.Fatal("no hits")
			}
			for _, h := range hits {
				if !strings.HasPrefix(h.Path, more+string(filepath.Separator)) {
					t.Errorf("hit %s outside %s", h.Path, more)
				}
			}
		}},
		{"relative folder", SearchInput{Query: "a shape", TopK: 100, Filters: Filters{Folder: "more"}}, func(t *testing.T, hits []Hit) {
			for _, h := range hits {
				if h.Folder != more {
					t.Errorf("hit %s outside %s", h.Path, more)
				}
			}
		}},
		{"tags", SearchInput{Query: "a shape", TopK: 100, Filters: Filters{Tags: []string{"circle"}}}, func(t *testing.T, hits []Hit) {
			if len(hits) == 0 {
				t.Fatal("no hits")
			}
			for _, h := range hits {
				if len(h.Tags) == 0 || h.Tags[0].Label != "circle" {
					t.Errorf("hit %s has tags %v", h.Path, h.Tags)
				}
			}
		}},
		{"min score", SearchInput{Query: "a photo of a red circle", TopK: 100, Filters: Filters{MinScore: 0.2}}, func(t *testing.T, hits []Hit) {
			for _, h := range hits {
				if h.Score < 0.2 {
					t.Errorf("hit %s scores %v < 0.2", h.Path, h.Score)
				}
			}
		}},
		{"top k", SearchInput{Query: "a photo of a red circle", TopK: 100}, func(t *testing.T, hits []Hit) {
			if len(hits) != len(f.ByClass) {
				t.Errorf("%d hits, want all %d", len(hits), len(f.ByClass))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.SearchImages(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out.Hits)
		})
	}
}

func TestServiceInputErrors(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{})
	ctx := context.Background()
	red := ImageRef{Path: f.ByClass["red circle"]}
	tests := []struct {
		name, field string
		call        func() error
	}{
		{"empty query", "query", func() error { _, err := s.SearchImages(ctx, SearchInput{Query: " "}); return err }},
		{"long query", "query", func() error {
			_, err := s.SearchImages(ctx, SearchInput{Query: strings.Repeat("a", MaxQueryChars+1)})
			return err
		}},
		{"top_k too big", "top_k", func() error { _, err := s.SearchImages(ctx, SearchInput{Query: "x", TopK: 101}); return err }},
		{"min_score", "min_score", func() error {
			_, err := s.SearchImages(ctx, SearchInput{Query: "x", Filters: Filters{MinScore: 2}})
			return err
		}},
		{"no image", "image", func() error { _, err := s.FindSimilar(ctx, SimilarInput{}); return err }},
		{"two images", "image", func() error {
			_, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{Path: "a", ID: "b"}})
			return err
		}},
		{"unknown id", "image.id", func() error {
			_, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{ID: "00000000-0000-5000-8000-000000000000"}})
			return err
		}},
		{"path escape", "image.path", func() error {
			_, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{Path: filepath.Join(f.Root, "..", "index")}})
			return err
		}},
		{"not an image", "image.path", func() error {
			p := filepath.Join(f.Root, "notes.txt")
			writeFile(t, p, []byte("hello"))
			_, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{Path: p}})
			return err
		}},
		{"bad data uri", "image.data_uri", func() error {
			_, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{DataURI: "data:image/png;base64,aGVsbG8="}})
			return err
		}},
		{"url disabled", "image.url", func() error {
			_, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{URL: "https://example.com/a.png"}})
			return err
		}},
		{"no labels", "labels", func() error { _, err := s.ClassifyImage(ctx, ClassifyInput{Image: red}); return err }},
		{"too many labels", "labels", func() error {
			_, err := s.ClassifyImage(ctx, ClassifyInput{Image: red, Labels: make([]string, MaxLabels+1)})
			return err
		}},
		{"long label", "labels", func() error {
			_, err := s.ClassifyImage(ctx, ClassifyInput{Image: red, Labels: []string{strings.Repeat("x", MaxLabelChars+1)}})
			return err
		}},
		{"duplicate label", "labels", func() error {
			_, err := s.ClassifyImage(ctx, ClassifyInput{Image: red, Labels: []string{"a", "a"}})
			return err
		}},
		{"template", "template", func() error {
			_, err := s.ClassifyImage(ctx, ClassifyInput{Image: red, Labels: []string{"a"}, Template: "no slot"})
			return err
		}},
		{"compare b", "b", func() error { _, err := s.CompareImages(ctx, CompareInput{A: red}); return err }},
		{"ingest disabled", "", func() error { _, err := s.IngestImages(ctx, IngestInput{Paths: []string{f.Root}}); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *InputError", err)
			}
			if ie.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", ie.Field, tc.field, err)
			}
		})
	}
}

func dataURI(t *testing.T, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
}

func TestServiceSimilar(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{})
	ctx := context.Background()
	redPath := f.ByClass["red circle"]
	redID := f.id(t, s, redPath)
	fresh := tinyshapes.Draw(rand.New(rand.NewSource(1234)), "blue", "square", tinyshapes.DrawOptions{})
	tests := []struct {
		name  string
		ref   ImageRef
		self  string // path that must not be a hit
		class string // expected class of the top hit, "" when the query itself is the only one
	}{
		{"by id", ImageRef{ID: redID}, redPath, ""},
		{"by path", ImageRef{Path: redPath}, redPath, ""},
		{"by relative path", ImageRef{Path: strings.TrimPrefix(redPath, f.Root+"/")}, redPath, ""},
		{"by data uri", ImageRef{DataURI: dataURI(t, fresh)}, "", "blue square"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.FindSimilar(ctx, SimilarInput{Image: tc.ref, TopK: 19})
			if err != nil {
				t.Fatal(err)
			}
			want := 19
			if len(out.Hits) != want {
				t.Fatalf("%d hits, want %d", len(out.Hits), want)
			}
			for _, h := range out.Hits {
				if h.Path == tc.self {
					t.Errorf("the query image %s is among the hits", tc.self)
				}
			}
			if tc.class != "" && class(out.Hits[0].Path) != tc.class {
				t.Errorf("top hit %s, want a %s", out.Hits[0].Path, tc.class)
			}
		})
	}
}

func TestServiceClassifyCompare(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{})
	ctx := context.Background()
	labels := tinyshapes.Classes()
	right := 0
	rng := rand.New(rand.NewSource(99))
	for _, c := range tinyshapes.Colors {
		for _, sh := range tinyshapes.Shapes {
			img := tinyshapes.Draw(rng, c, sh, tinyshapes.DrawOptions{})
			out, err := s.ClassifyImage(ctx, ClassifyInput{Image: ImageRef{DataURI: dataURI(t, img)}, Labels: labels})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Labels) != len(labels) {
				t.Fatalf("%d labels, want %d", len(out.Labels), len(labels))
			}
			sum := 0.0
			for i, l := range out.Labels {
				sum += l.Probability
				if i > 0 && l.Probability > out.Labels[i-1].Probability {
					t.Fatalf("labels not sorted: %+v", out.Labels)
				}
			}
			if math.Abs(sum-1) > 1e-4 {
				t.Fatalf("probabilities sum to %v", sum)
			}
			if out.Labels[0].Label == c+" "+sh {
				right++
			}
		}
	}
	if right < 18 {
		t.Errorf("zero-shot right for %d of 20 fresh images, want at least 18", right)
	}
	t.Run("template", func(t *testing.T) {
		out, err := s.ClassifyImage(ctx, ClassifyInput{Image: ImageRef{Path: f.ByClass["green triangle"]}, Labels: []string{"green triangle", "red square", "blue cross"}, Template: "a photo of a {}"})
		if err != nil {
			t.Fatal(err)
		}
		if out.Labels[0].Label != "green triangle" {
			t.Errorf("best label %+v", out.Labels)
		}
	})

	t.Run("compare", func(t *testing.T) {
		redPath := f.ByClass["red circle"]
		same, err := s.CompareImages(ctx, CompareInput{A: ImageRef{Path: redPath}, B: ImageRef{Path: redPath}})
		if err != nil {
			t.Fatal(err)
		}
		if same.Cosine < 0.999 || math.Abs(same.Similarity-(same.Cosine+1)/2) > 1e-6 {
			t.Errorf("same image: %+v", same)
		}
		img := tinyshapes.Draw(rand.New(rand.NewSource(5)), "red", "circle", tinyshapes.DrawOptions{})
		near, err := s.CompareImages(ctx, CompareInput{A: ImageRef{Path: redPath}, B: ImageRef{DataURI: dataURI(t, img)}})
		if err != nil {
			t.Fatal(err)
		}
		far, err := s.CompareImages(ctx, CompareInput{A: ImageRef{Path: redPath}, B: ImageRef{Path: f.ByClass["blue square"]}})
		if err != nil {
			t.Fatal(err)
		}
		if !(near.Cosine > far.Cosine) {
			t.Errorf("red circle vs red circle %v not above red circle vs blue square %v", near.Cosine, far.Cosine)
		}
	})
}

func TestServiceIngestStatsRead(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{Roots: []string{f.Root}, AllowIngest: true})
	ctx := context.Background()

	st, err := s.IndexStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Images != 20 || st.Model != toolstest.Model(t).ID() || st.Dim != toolstest.Model(t).Dim() || len(st.Roots) != 1 || st.Roots[0] != f.Root {
		t.Fatalf("stats %+v", st)
	}
	total := 0
	for _, n := range st.Tags {
		total += n
	}
	if total != 20 {
		t.Errorf("tag counts %v add up to %d, want 20 (one tag per image)", st.Tags, total)
	}

	// A big image, added by ingest, read back downscaled.
	small := tinyshapes.Draw(rand.New(rand.NewSource(3)), "purple", "cross", tinyshapes.DrawOptions{})
	big := image.NewRGBA(image.Rect(0, 0, 1800, 1200))
	draw.CatmullRom.Scale(big, big.Bounds(), small, small.Bounds(), draw.Src, nil)
	bigPath := filepath.Join(f.Root, "new", "big-purple-cross.png")
	if err := os.MkdirAll(filepath.Dir(bigPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tinyshapes.WriteFile(bigPath, big); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestImages(ctx, IngestInput{Paths: []string{"/etc"}}); !IsInputError(err) {
		t.Fatalf("ingest outside the roots: %v", err)
	}
	sum, err := s.IngestImages(ctx, IngestInput{Paths: []string{"new"}})
	if err != nil || sum.Indexed != 1 {
		t.Fatalf("ingest: %+v, %v", sum, err)
	}
	out, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{Path: bigPath}, TopK: 100})
	if err != nil || len(out.Hits) != 20 {
		t.Fatalf("similar after ingest: %d hits, %v", len(out.Hits), err)
	}
	q, err := s.SearchImages(ctx, SearchInput{Query: "a photo of a purple cross", TopK: 3})
	if err != nil {
		t.Fatal(err)
	}
	var bigID string
	for _, h := range q.Hits {
		if h.Path == bigPath {
			bigID = h.ID
		}
	}
	if bigID == "" {
		t.Fatalf("new image not in the top 3 for its class: %+v", q.Hits)
	}
	img, err := s.ReadImage(ctx, bigID, ResourceMaxSide)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(img.Data))
	if err != nil || format != "jpeg" || img.MIMEType != "image/jpeg" || cfg.Width != 1024 || cfg.Height != 683 {
		t.Fatalf("read big image: %s %dx%d %s, %v", format, cfg.Width, cfg.Height, img.MIMEType, err)
	}
	// A small PNG comes back as it is.
	redPath := f.ByClass["red circle"]
	img, err = s.ReadImage(ctx, f.id(t, s, redPath), ResourceMaxSide)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(redPath)
	if !bytes.Equal(raw, img.Data) || img.MIMEType != "image/png" {
		t.Errorf("small image not returned as is (%s, %d bytes vs %d)", img.MIMEType, len(img.Data), len(raw))
	}
}

func TestServiceRootsFromIndex(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{})
	roots, err := s.Roots(context.Background())
	if err != nil || len(roots) != 1 || roots[0] != f.Root {
		t.Fatalf("roots %v, %v; want [%s]", roots, err, f.Root)
	}
	if _, _, err := s.readFile(context.Background(), filepath.Join(f.Root, "..", "index", "index.db")); !IsInputError(err) {
		t.Errorf("index folder readable: %v", err)
	}
}

func TestServiceTimeoutAndConcurrency(t *testing.T) {
	f := newFixture(t)
	s := f.service(t, Options{Timeout: time.Nanosecond})
	if _, err := s.SearchImages(context.Background(), SearchInput{Query: "a red circle"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("1 ns timeout: err = %v, want deadline exceeded", err)
	}
	s = f.service(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 16 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			out, err := s.SearchImages(context.Background(), SearchInput{Query: "a photo of a yellow square"})
			if err == nil && class(out.Hits[0].Path) != "yellow square" {
				err = errors.New("wrong top hit " + out.Hits[0].Path)
			}
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := s.FindSimilar(context.Background(), SimilarInput{Image: ImageRef{Path: f.ByClass["red circle"]}, TopK: i + 1})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
