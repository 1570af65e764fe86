package langchaingo_test

import (
	"context"
	"math/rand/v2"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// drawn is one image of the docFixture.
type drawn struct {
	path          string
	class         string // "red circle"
	width, height int
	mime          string
}

// docFixture is a folder of tinyshapes-drawn images (two per class, one folder
// per shape, PNG and JPEG) indexed with the tiny model into a store on
// disk, tagged zero-shot with the 20 class labels.
type docFixture struct {
	root   string // resolved
	images []drawn
	byPath map[string]drawn
	model  toolstest.Encoder
	svc    *tools.Service
}

var docShared = toolstest.Shared[*docFixture]{Build: buildDocFixture}

func buildDocFixture(ctx context.Context, m toolstest.Encoder, base string) (*docFixture, error) {
	fx, err := toolstest.BuildFixture(ctx, m, base, toolstest.DrawOptions{
		Rand: rand.New(rand.NewPCG(11, 12)), PerClass: 2, ByShape: true, JPEG: true,
		Size: func(i int) (int, int) { return 160 + 4*i, 120 + 2*i },
	}, ingest.Options{Tags: tinyshapes.Classes(), TopTags: 2})
	if err != nil {
		return nil, err
	}
	f := &docFixture{root: fx.Root, byPath: map[string]drawn{}, model: m}
	for _, im := range fx.Images {
		d := drawn{path: im.Path, class: im.Class, width: im.Width, height: im.Height, mime: im.MIME}
		f.images = append(f.images, d)
		f.byPath[d.path] = d
	}
	f.svc, err = tools.New(m, fx.Store, tools.Options{Roots: []string{f.root}})
	if err != nil {
		fx.Store.Close()
		return nil, err
	}
	return f, nil
}

// Close closes the docFixture's store.
func (f *docFixture) Close() error { return f.svc.Store().Close() }
