package langchaingo_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tmc/langchaingo/embeddings"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/tinyshapes"
	lc "github.com/cliprag/cliprag/tools/langchaingo"
)

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestEmbedderTextSpace(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	var e embeddings.Embedder = lc.NewEmbedder(f.model)
	texts := []string{"a photo of a red circle", "a photo of a blue square", "a photo of a red circle"}
	docs, err := e.EmbedDocuments(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(docs), len(texts))
	}
	for i, text := range texts {
		q, err := e.EmbedQuery(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		if len(q) != f.model.Dim() || len(docs[i]) != f.model.Dim() {
			t.Fatalf("dims %d and %d, model dim %d", len(q), len(docs[i]), f.model.Dim())
		}
		if n := norm(q); math.Abs(n-1) > 1e-4 {
			t.Errorf("query vector of %q has norm %v, want 1", text, n)
		}
		if c := embed.Cosine(q, docs[i]); c < 0.99999 {
			t.Errorf("EmbedQuery and EmbedDocuments disagree on %q: cosine %v", text, c)
		}
	}
	if c := embed.Cosine(docs[0], docs[1]); c > 0.999 {
		t.Errorf("different captions embed alike (cosine %v)", c)
	}
	// The same vectors the model itself produces: nothing is faked or re-normalised away.
	direct, err := f.model.EmbedTexts(ctx, texts[:1])
	if err != nil {
		t.Fatal(err)
	}
	if c := embed.Cosine(direct[0], docs[0]); c < 0.99999 {
		t.Errorf("embedder and model disagree: cosine %v", c)
	}
	empty, err := e.EmbedDocuments(ctx, nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("EmbedDocuments(nil) = %v, %v; want no vectors, no error", empty, err)
	}
}

func TestEmbedImagesSameSpace(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	e := lc.NewEmbedder(f.model)
	paths := make([]string, len(f.images))
	for i, im := range f.images {
		paths[i] = im.path
	}
	imgs, err := e.EmbedImages(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	// Each image vector is the one the index holds for that file.
	docs := allDocs(t, f, "a shape")
	ids := map[string]string{}
	for _, d := range docs {
		ids[d.Metadata[lc.MetaPath].(string)] = d.Metadata[lc.MetaID].(string)
	}
	for i, v := range imgs {
		if n := norm(v); math.Abs(n-1) > 1e-4 {
			t.Errorf("image vector %d has norm %v", i, n)
		}
		recs, err := f.svc.Store().Get(ctx, []string{ids[paths[i]]})
		if err != nil || len(recs) != 1 {
			t.Fatalf("record of %s: %v", paths[i], err)
		}
		if c := embed.Cosine(v, recs[0].Vector); c < 0.9999 {
			t.Errorf("%s: EmbedImages and the index disagree (cosine %v)", filepath.Base(paths[i]), c)
		}
	}
	// A caption is closer to images of its own class than to the others':
	// for a class, the mean cosine to its images beats the mean to every
	// other class's images. Colours must always win, and whole classes
	// (colour and shape) 18 times in 20: the bundled model classifies
	// held-out drawings almost perfectly.
	wins := closestGroup(t, e, "a photo of a %s", tinyshapes.Classes(), imgs, func(i int) string { return f.images[i].class })
	if wins < 18 {
		t.Errorf("only %d of 20 class captions are closest to their own class's images", wins)
	}
	colourWins := closestGroup(t, e, "a photo of a %s shape", tinyshapes.Colors, imgs, func(i int) string {
		return strings.Fields(f.images[i].class)[0]
	})
	if colourWins != len(tinyshapes.Colors) {
		t.Errorf("only %d of %d colour captions are closest to their own colour's images", colourWins, len(tinyshapes.Colors))
	}
	if _, err := e.EmbedImages(ctx, []string{filepath.Join(f.root, "missing.png")}); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing file: err = %v, want one naming it", err)
	}
}

func TestEmbedderNilModel(t *testing.T) {
	if _, err := lc.NewEmbedder(nil).EmbedQuery(context.Background(), "x"); err == nil {
		t.Error("embedder without a model: no error")
	}
}

// closestGroup embeds one caption per group (format applied to the group
// name) and counts the captions whose mean cosine to their group's images
// beats their mean cosine to each other group's images.
func closestGroup(t *testing.T, e *lc.Embedder, format string, groups []string, imgs [][]float32, groupOf func(int) string) int {
	t.Helper()
	captions := make([]string, len(groups))
	for i, g := range groups {
		captions[i] = fmt.Sprintf(format, g)
	}
	qv, err := e.EmbedDocuments(context.Background(), captions)
	if err != nil {
		t.Fatal(err)
	}
	wins := 0
	for gi, q := range qv {
		sum := map[string]float64{}
		n := map[string]int{}
		for i, v := range imgs {
			sum[groupOf(i)] += float64(embed.Cosine(q, v))
			n[groupOf(i)]++
		}
		own := sum[groups[gi]] / float64(n[groups[gi]])
		best := n[groups[gi]] > 0
		for g, s := range sum {
			if g != groups[gi] && s/float64(n[g]) >= own {
				best = false
			}
		}
		if best {
			wins++
		} else {
			t.Logf("caption %q is not closest to its own images", captions[gi])
		}
	}
	t.Logf("%d/%d captions (%q) closest to their own images", wins, len(groups), format)
	return wins
}
