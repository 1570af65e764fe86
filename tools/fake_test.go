package tools

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// These tests run the operations with the fake encoder (toolstest.Fake:
// images embed as the hues of their pixels, texts as the hues they name),
// so they need neither cgo nor ONNX Runtime: `CGO_ENABLED=0 go test
// ./tools` runs them. The tests in service_test.go check the same
// operations with the real (tiny) CLIP model.

// fakeService indexes one drawing per class (colour-tagged, every third in
// "more") with the fake encoder and returns a Service over it.
func fakeService(t *testing.T, opts Options) (*Service, *toolstest.Fixture, *toolstest.Fake) {
	t.Helper()
	enc := toolstest.NewFake()
	f := toolstest.NewFixtureWith(t, enc,
		toolstest.DrawOptions{Seed: 7, ShapeMajor: true, JPEG: true, Nest: "more"},
		ingest.Options{Tags: tinyshapes.Colors, TopTags: 1})
	s, err := New(enc, f.Store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, f, enc
}

func colorOf(path string) string { return strings.SplitN(filepath.Base(path), "-", 2)[0] }

func TestFakeSearchSimilarClassifyCompare(t *testing.T) {
	s, f, _ := fakeService(t, Options{})
	ctx := context.Background()

	out, err := s.SearchImages(ctx, SearchInput{Query: "something red", TopK: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range out.Hits {
		if colorOf(h.Path) != "red" {
			t.Errorf("search red: hit %s", h.Path)
		}
		if len(h.Tags) != 1 || h.Tags[0].Label != "red" {
			t.Errorf("hit %s tagged %v, want [red]", h.Path, h.Tags)
		}
	}

	more := filepath.Join(f.Root, "more")
	out, err = s.SearchImages(ctx, SearchInput{Query: "blue", TopK: MaxTopK, Filters: Filters{Folder: "more", Tags: []string{"blue", "green"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Hits) == 0 {
		t.Fatal("filtered search: no hits")
	}
	for _, h := range out.Hits {
		if h.Folder != more || (colorOf(h.Path) != "blue" && colorOf(h.Path) != "green") {
			t.Errorf("filtered search: hit %s", h.Path)
		}
	}

	query := f.ByClass["yellow square"]
	sim, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{Path: query}, TopK: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range sim.Hits {
		if h.Path == query {
			t.Errorf("similar: the example %s is among its hits", query)
		}
		if colorOf(h.Path) != "yellow" {
			t.Errorf("similar to a yellow square: hit %s", h.Path)
		}
	}

	cls, err := s.ClassifyImage(ctx, ClassifyInput{Image: ImageRef{Path: f.ByClass["green cross"]}, Labels: []string{"red", "green", "blue"}})
	if err != nil {
		t.Fatal(err)
	}
	if cls.Labels[0].Label != "green" || cls.Labels[0].Probability < 0.9 {
		t.Errorf("classify a green cross: %+v", cls.Labels)
	}

	same, err := s.CompareImages(ctx, CompareInput{A: ImageRef{Path: f.ByClass["purple circle"]}, B: ImageRef{Path: f.ByClass["purple cross"]}})
	if err != nil {
		t.Fatal(err)
	}
	diff, err := s.CompareImages(ctx, CompareInput{A: ImageRef{Path: f.ByClass["purple circle"]}, B: ImageRef{Path: f.ByClass["green circle"]}})
	if err != nil {
		t.Fatal(err)
	}
	if same.Cosine <= diff.Cosine || same.Similarity != (same.Cosine+1)/2 {
		t.Errorf("compare: same colour %+v, other colour %+v", same, diff)
	}
}

func TestFakeIngestStats(t *testing.T) {
	s, f, enc := fakeService(t, Options{AllowIngest: true, IngestTags: []string{"red", "blue"}})
	ctx := context.Background()
	extra := filepath.Join(f.Root, "extra")
	if _, err := toolstest.DrawSet(extra, toolstest.DrawOptions{Seed: 9, Count: 3}); err != nil {
		t.Fatal(err)
	}
	before := enc.ImageCalls.Load()
	sum, err := s.IngestImages(ctx, IngestInput{Paths: []string{extra, f.Root}})
	if err != nil {
		t.Fatal(err)
	}
	// The fixture was tagged with other labels: its 20 records are re-tagged.
	if sum.Indexed != 3 || sum.Retagged != 20 || len(sum.Failed) != 0 {
		t.Errorf("ingest: %+v, want 3 indexed and 20 retagged", sum)
	}
	if enc.ImageCalls.Load() == before {
		t.Error("ingest did not call the encoder")
	}
	st, err := s.IndexStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Model != toolstest.FakeID || st.Dim != len(toolstest.Hues) || st.Images != 23 || st.Tags["red"] == 0 {
		t.Errorf("stats: %+v", st)
	}
}

func TestFakeErrors(t *testing.T) {
	s, f, enc := fakeService(t, Options{})
	ctx := context.Background()
	tests := []struct {
		name  string
		call  func() error
		input bool // an *InputError, for the caller to fix
		want  string
	}{
		{"empty query", func() error { _, err := s.SearchImages(ctx, SearchInput{Query: " "}); return err }, true, "query"},
		{"top_k", func() error { _, err := s.SearchImages(ctx, SearchInput{Query: "red", TopK: MaxTopK + 1}); return err }, true, "top_k"},
		{"no labels", func() error {
			_, err := s.ClassifyImage(ctx, ClassifyInput{Image: ImageRef{Path: f.ByClass["red circle"]}})
			return err
		}, true, "labels"},
		{"outside roots", func() error {
			_, err := s.FindSimilar(ctx, SimilarInput{Image: ImageRef{Path: "/etc/passwd"}})
			return err
		}, true, "image.path"},
		{"ingest off", func() error { _, err := s.IngestImages(ctx, IngestInput{Paths: []string{f.Root}}); return err }, true, "ingest is disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || IsInputError(err) != tt.input || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v (input error: %v), want one mentioning %q (input error: %v)", err, IsInputError(err), tt.want, tt.input)
			}
		})
	}

	// An encoder that fails is the server's problem, not the caller's.
	fail := toolstest.ErrFake
	enc.Fail.Store(&fail)
	_, err := s.SearchImages(ctx, SearchInput{Query: "red"})
	if !errors.Is(err, toolstest.ErrFake) || IsInputError(err) {
		t.Errorf("failing encoder: err = %v, want ErrFake and no input error", err)
	}
}
