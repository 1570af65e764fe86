package langchaingo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// fixture is one tinyshapes-drawn PNG per class under root, indexed with
// the tiny model (tagged with the 20 class labels) into an on-disk store.
type fixture struct {
	root  string            // resolved
	paths map[string]string // "red circle" -> path
	ids   map[string]string // path -> id
	svc   *tools.Service
}

var shared = toolstest.Shared[*fixture]{Build: buildFixture}

func TestMain(m *testing.M) { toolstest.Main(m, &shared, &docShared) }

func buildFixture(ctx context.Context, m toolstest.Encoder, base string) (*fixture, error) {
	fx, err := toolstest.BuildFixture(ctx, m, base, toolstest.DrawOptions{
		Rand: rand.New(rand.NewPCG(3, 4)), Draw: tinyshapes.DrawOptions{Width: 180, Height: 140},
	}, ingest.Options{Tags: tinyshapes.Classes(), TopTags: 1})
	if err != nil {
		return nil, err
	}
	f := &fixture{root: fx.Root, paths: fx.ByClass, ids: map[string]string{}}
	f.svc, err = tools.New(m, fx.Store, tools.Options{Roots: []string{f.root}})
	if err != nil {
		fx.Store.Close()
		return nil, err
	}
	out, err := f.svc.SearchImages(ctx, tools.SearchInput{Query: "a shape", TopK: tools.MaxTopK})
	for _, h := range out.Hits {
		f.ids[h.Path] = h.ID
	}
	if err == nil && len(f.ids) != len(f.paths) {
		err = fmt.Errorf("indexed %d images, drew %d", len(f.ids), len(f.paths))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Close closes the fixture's store.
func (f *fixture) Close() error { return f.svc.Store().Close() }
