package langchaingo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
)

// fixture is one tinyshapes-drawn PNG per class under root, indexed with
// the tiny model (tagged with the 20 class labels) into an on-disk store.
type fixture struct {
	root  string            // resolved
	paths map[string]string // "red circle" -> path
	ids   map[string]string // path -> id
	model *embed.Model
	svc   *tools.Service
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	fixSkip string
	fixDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.svc.Store().Close()
		fix.model.Close()
	}
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

func getFixture(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = buildFixture() })
	if fixSkip != "" {
		t.Skip(fixSkip)
	}
	if fixErr != nil {
		t.Fatalf("fixture: %v", fixErr)
	}
	return fix
}

func buildFixture() (*fixture, error) {
	ctx := context.Background()
	m, err := embed.Load(ctx, "tiny-shapes", embed.WithThreads(2))
	if err != nil {
		if os.Getenv("CI") != "true" && strings.Contains(err.Error(), "ONNXRUNTIME_LIB") {
			fixSkip = fmt.Sprintf("ONNX Runtime not available (set ONNXRUNTIME_LIB): %v", err)
			return nil, nil
		}
		return nil, fmt.Errorf("load tiny-shapes: %w", err)
	}
	dir, err := os.MkdirTemp("", "cliprag-lctools-*")
	if err != nil {
		return nil, err
	}
	fixDir = dir
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	f := &fixture{root: filepath.Join(base, "images"), paths: map[string]string{}, ids: map[string]string{}, model: m}
	if err := os.MkdirAll(f.root, 0o755); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range tinyshapes.ClassList() {
		p := filepath.Join(f.root, c.Color+"-"+c.Shape+".png")
		if err := tinyshapes.WriteFile(p, tinyshapes.Draw(rng, c.Color, c.Shape, tinyshapes.DrawOptions{Width: 180, Height: 140})); err != nil {
			return nil, err
		}
		f.paths[c.String()] = p
	}
	st, err := local.Open(filepath.Join(base, "index"))
	if err != nil {
		return nil, err
	}
	if _, err := ingest.Run(ctx, m, st, ingest.Options{Paths: []string{f.root}, Tags: tinyshapes.Classes(), TopTags: 1}); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	f.svc, err = tools.New(m, st, tools.Options{Roots: []string{f.root}})
	if err != nil {
		return nil, err
	}
	out, err := f.svc.SearchImages(ctx, tools.SearchInput{Query: "a shape", TopK: tools.MaxTopK})
	if err != nil {
		return nil, err
	}
	for _, h := range out.Hits {
		f.ids[h.Path] = h.ID
	}
	if len(f.ids) != len(f.paths) {
		return nil, fmt.Errorf("indexed %d images, drew %d", len(f.ids), len(f.paths))
	}
	return f, nil
}
