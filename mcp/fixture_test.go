package mcp

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
)

var (
	modelOnce sync.Once
	model     *embed.Model
	modelErr  error
)

// tinyModel loads the bundled tiny CLIP once for the test binary. Without
// ONNX Runtime it skips, except under CI=true where it fails.
func tinyModel(t testing.TB) *embed.Model {
	t.Helper()
	modelOnce.Do(func() {
		model, modelErr = embed.Load(context.Background(), testModel(), embed.WithThreads(2))
	})
	if modelErr != nil {
		if os.Getenv("CI") != "true" && strings.Contains(modelErr.Error(), "ONNXRUNTIME_LIB") {
			t.Skipf("ONNX Runtime not available (set ONNXRUNTIME_LIB): %v", modelErr)
		}
		t.Fatalf("load tiny-shapes: %v", modelErr)
	}
	return model
}

// fixture is an indexed folder of drawn images: one per class of the tiny
// model's domain, alternating PNG and JPEG, some in a sub-folder.
type fixture struct {
	root   string // resolved
	store  retriever.Store
	byName map[string]string // "red circle" -> path
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	m := tinyModel(t)
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{root: filepath.Join(base, "images"), byName: map[string]string{}}
	rng := rand.New(rand.NewSource(7))
	i := 0
	for _, s := range tinyshapes.Shapes {
		for _, c := range tinyshapes.Colors {
			dir := f.root
			if i%3 == 2 {
				dir = filepath.Join(f.root, "more")
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			ext := ".png"
			if i%2 == 1 {
				ext = ".jpg"
			}
			p := filepath.Join(dir, fmt.Sprintf("%s-%s%s", c, s, ext))
			if err := tinyshapes.WriteFile(p, tinyshapes.Draw(rng, c, s, tinyshapes.DrawOptions{})); err != nil {
				t.Fatal(err)
			}
			f.byName[c+" "+s] = p
			i++
		}
	}
	st, err := local.Open(filepath.Join(base, "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.store = st
	sum, err := ingest.Run(context.Background(), m, st, ingest.Options{Paths: []string{f.root}, Tags: tinyshapes.Shapes, TopTags: 1})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if sum.Indexed != len(f.byName) || len(sum.Failed) > 0 {
		t.Fatalf("ingest: %+v", sum)
	}
	return f
}

// service returns a Service over the fixture.
func (f *fixture) service(t *testing.T, opts tools.Options) *tools.Service {
	t.Helper()
	s, err := tools.New(tinyModel(t), f.store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testModel is the model tests use: the bundled tiny-shapes, or the
// directory or registry name in CLIPRAG_TEST_MODEL.
func testModel() string {
	if m := os.Getenv("CLIPRAG_TEST_MODEL"); m != "" {
		return m
	}
	return "tiny-shapes"
}
