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

// drawn is one image of the fixture.
type drawn struct {
	path          string
	class         string // "red circle"
	width, height int
	mime          string
}

// fixture is a folder of tinyshapes-drawn images (two per class, one folder
// per shape, PNG and JPEG) indexed with the tiny model into a store on
// disk, tagged zero-shot with the 20 class labels.
type fixture struct {
	root   string // resolved
	images []drawn
	byPath map[string]drawn
	model  *embed.Model
	svc    *tools.Service
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

// getFixture builds the shared fixture once for the test binary. Without
// ONNX Runtime it skips, except under CI=true where it fails.
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
	dir, err := os.MkdirTemp("", "cliprag-lcgo-*")
	if err != nil {
		return nil, err
	}
	fixDir = dir
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	f := &fixture{root: filepath.Join(base, "images"), byPath: map[string]drawn{}, model: m}
	rng := rand.New(rand.NewPCG(11, 12))
	i := 0
	for _, c := range tinyshapes.ClassList() {
		for n := 1; n <= 2; n++ {
			folder := filepath.Join(f.root, c.Shape)
			if err := os.MkdirAll(folder, 0o755); err != nil {
				return nil, err
			}
			ext, mime := ".png", "image/png"
			if i%2 == 1 {
				ext, mime = ".jpg", "image/jpeg"
			}
			d := drawn{
				path:  filepath.Join(folder, fmt.Sprintf("%s-%s-%d%s", c.Color, c.Shape, n, ext)),
				class: c.String(), width: 160 + 4*i, height: 120 + 2*i, mime: mime,
			}
			img := tinyshapes.Draw(rng, c.Color, c.Shape, tinyshapes.DrawOptions{Width: d.width, Height: d.height})
			if err := tinyshapes.WriteFile(d.path, img); err != nil {
				return nil, err
			}
			f.images = append(f.images, d)
			f.byPath[d.path] = d
			i++
		}
	}
	st, err := local.Open(filepath.Join(base, "index"))
	if err != nil {
		return nil, err
	}
	sum, err := ingest.Run(ctx, m, st, ingest.Options{Paths: []string{f.root}, Tags: tinyshapes.Classes(), TopTags: 2})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	if sum.Indexed != len(f.images) || len(sum.Failed) > 0 {
		return nil, fmt.Errorf("ingest: %+v", sum)
	}
	f.svc, err = tools.New(m, st, tools.Options{Roots: []string{f.root}})
	if err != nil {
		return nil, err
	}
	return f, nil
}
