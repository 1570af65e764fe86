package toolstest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools/ingest"
)

// Fixture is a folder of drawn images indexed into a local store beside
// it.
type Fixture struct {
	Root    string // the image folder, <base>/images
	Index   string // the store's directory, <base>/index
	Store   *local.Store
	Images  []Image
	ByClass map[string]string // "red circle" → path (the last drawn of the class)
}

// BuildFixture draws images as draw says into base/images and indexes
// them with m into a new local store at base/index, with ing (whose Paths
// default to the image folder). Every image must be indexed and none may
// fail. The caller closes the store.
func BuildFixture(ctx context.Context, m Encoder, base string, draw DrawOptions, ing ingest.Options) (*Fixture, error) {
	f := &Fixture{Root: filepath.Join(base, "images"), Index: filepath.Join(base, "index")}
	var err error
	if f.Images, err = DrawSet(f.Root, draw); err != nil {
		return nil, err
	}
	f.ByClass = make(map[string]string, len(f.Images))
	for _, im := range f.Images {
		f.ByClass[im.Class] = im.Path
	}
	if len(ing.Paths) == 0 {
		ing.Paths = []string{f.Root}
	}
	if f.Store, err = Index(ctx, m, f.Index, ing, len(f.Images)); err != nil {
		return nil, err
	}
	return f, nil
}

// Close closes the store.
func (f *Fixture) Close() error { return f.Store.Close() }

// NewFixture is BuildFixture with the model from Model in a new temporary
// folder of the test (symlinks resolved, so Root is what a service that
// resolves paths reports). The store closes when the test ends.
func NewFixture(t testing.TB, draw DrawOptions, ing ingest.Options) *Fixture {
	t.Helper()
	return NewFixtureWith(t, Model(t), draw, ing)
}

// FakeFixture is NewFixture with the fake encoder (see Fake): it needs
// neither cgo nor ONNX Runtime.
func FakeFixture(t testing.TB, draw DrawOptions, ing ingest.Options) *Fixture {
	t.Helper()
	return NewFixtureWith(t, NewFake(), draw, ing)
}

// NewFixtureWith is NewFixture with the encoder m.
func NewFixtureWith(t testing.TB, m Encoder, draw DrawOptions, ing ingest.Options) *Fixture {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := BuildFixture(context.Background(), m, base, draw, ing)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Store.Close() })
	return f
}

// Mixed is the fixture of the tools and mcp tests: one image per class,
// shape by shape (red circle, green circle, …), alternating PNG and JPEG,
// every third in the sub-folder "more", tagged zero-shot with the top one
// of tinyshapes.Shapes.
func Mixed(t testing.TB) *Fixture {
	t.Helper()
	return NewFixture(t,
		DrawOptions{Seed: 7, ShapeMajor: true, JPEG: true, Nest: "more"},
		ingest.Options{Tags: tinyshapes.Shapes, TopTags: 1})
}

// Index ingests opts.Paths with m into the local store at dir, creating
// it, and checks that want images were indexed and none failed. The
// caller closes the store.
func Index(ctx context.Context, m Encoder, dir string, opts ingest.Options, want int) (*local.Store, error) {
	st, err := local.Open(dir, nil)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	sum, err := ingest.Run(ctx, m, st, opts)
	if err == nil && (sum.Indexed != want || len(sum.Failed) > 0) {
		err = fmt.Errorf("indexed %d of %d images: %+v", sum.Indexed, want, sum)
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("ingest %v: %w", opts.Paths, err)
	}
	return st, nil
}

// Shared is a fixture that a package's tests share, built once per test
// binary on first use. Close it after the tests, as Main does:
//
//	var shared = toolstest.Shared[*fixture]{Build: buildFixture}
//
//	func TestMain(m *testing.M) { toolstest.Main(m, &shared) }
type Shared[T any] struct {
	// Build makes the fixture from the model LoadModel returns (or the
	// fake encoder, when Fake is set), in dir, a new temporary folder
	// (symlinks resolved) that Close removes.
	Build func(ctx context.Context, m Encoder, dir string) (T, error)
	// Fake builds the fixture with NewFake instead of the real model, so it
	// needs neither cgo nor ONNX Runtime.
	Fake bool

	once  sync.Once
	val   T
	built bool
	skip  string
	err   error
	dir   string
}

// Get returns the fixture, building it the first time. Without ONNX
// Runtime it skips the test (fails it under CI=true); it fails the test
// when the fixture could not be built, then and on every later call.
func (s *Shared[T]) Get(t testing.TB) T {
	t.Helper()
	s.once.Do(func() { s.val, s.err = s.build() })
	if s.skip != "" {
		t.Skip(s.skip)
	}
	if s.err != nil {
		t.Fatalf("fixture: %v", s.err)
	}
	return s.val
}

func (s *Shared[T]) build() (T, error) {
	var zero T
	var m Encoder = NewFake()
	if !s.Fake {
		var skip string
		var err error
		if m, skip, err = loadEncoder(); skip != "" || err != nil {
			s.skip = skip
			return zero, err
		}
	}
	dir, err := os.MkdirTemp("", "cliprag-test-*")
	if err != nil {
		return zero, err
	}
	s.dir = dir
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return zero, err
	}
	v, err := s.Build(context.Background(), m, dir)
	s.built = err == nil
	return v, err
}

// Close closes the fixture when it is an io.Closer and removes its
// folder. It does nothing when the fixture was never built.
func (s *Shared[T]) Close() {
	if c, ok := any(s.val).(io.Closer); ok && s.built {
		c.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Main is a TestMain: it runs the tests, closes the shared fixtures and
// exits with the tests' status.
func Main(m *testing.M, shared ...interface{ Close() }) {
	code := m.Run()
	for _, s := range shared {
		s.Close()
	}
	os.Exit(code)
}
