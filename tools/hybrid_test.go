package tools

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/retriever/qdrant/qdranttest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// The retrieval set: testdata/twins holds figures drawn by
// scripts/ocr/gen_images.py --twins 2 (two drawings, each with twenty
// Chinese titles under one English caption: the title is the only thing
// that tells a figure from its twins), and photos drawn with tinyshapes
// (no text) are added beside them. These tests give the figures the text
// the generator rendered (its manifest); hybrid_ocr_test.go reads it with
// the real OCR engine instead.

// twin is one figure of testdata/twins.
type twin struct {
	File, Group string
	Lines       []retriever.TextLine
	Title       string
}

func twins(t testing.TB) []twin {
	t.Helper()
	fh, err := os.Open("testdata/twins/manifest.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []twin
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m struct {
			File, Group string
			Lines       []struct {
				Text string
				Box  [][2]float64
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		tw := twin{File: m.File, Group: m.Group, Title: m.Lines[0].Text}
		for _, l := range m.Lines {
			var box [4][2]int
			for i, p := range l.Box {
				box[i] = [2]int{int(math.Round(p[0])), int(math.Round(p[1]))}
			}
			tw.Lines = append(tw.Lines, retriever.TextLine{Text: l.Text, Confidence: 1, Box: box})
		}
		out = append(out, tw)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// retrievalSet is the figures and photos indexed with enc into a memory
// store with a text index; text gives each figure its lines.
type retrievalSet struct {
	svc     *Service
	store   retriever.Store
	figures map[string]string // title → record id (of the first group)
	titles  []twinQuery
	byTitle map[string][]string // title → the ids of the figures with it
	photos  []string            // record ids
}

type twinQuery struct{ title, id string }

const photoClasses = 24

func buildRetrievalSet(t testing.TB, enc Encoder, text func(tw twin) []retriever.TextLine) *retrievalSet {
	t.Helper()
	return buildRetrievalSetIn(t, enc, text, bm25Index)
}

// The text indexes the retrieval set is measured over.
const (
	bm25Index   = "toolstest BM25" // toolstest.TextStore: every partial match, by BM25
	localIndex  = "local"          // the embedded store's full-text index
	qdrantIndex = "qdrant"         // Qdrant's (CLIPRAG_QDRANT_ADDR; skipped without, failing under CI=true)
)

// buildRetrievalSetIn is buildRetrievalSet over the text index named by
// index.
func buildRetrievalSetIn(t testing.TB, enc Encoder, text func(tw twin) []retriever.TextLine, index string) *retrievalSet {
	t.Helper()
	ctx := context.Background()
	dir, err := filepath.Abs("testdata/twins")
	if err != nil {
		t.Fatal(err)
	}
	photoDir := t.TempDir()
	type item struct {
		path  string
		lines []retriever.TextLine
	}
	var items []item
	tws := twins(t)
	for _, tw := range tws {
		items = append(items, item{filepath.Join(dir, tw.File), text(tw)})
	}
	rng := rand.New(rand.NewSource(3))
	classes := tinyshapes.ClassList()
	for i := range photoClasses {
		c := classes[i%len(classes)]
		p := filepath.Join(photoDir, fmt.Sprintf("%s-%s-%d.png", c.Color, c.Shape, i))
		if err := tinyshapes.WriteFile(p, tinyshapes.Draw(rng, c.Color, c.Shape, tinyshapes.DrawOptions{})); err != nil {
			t.Fatal(err)
		}
		items = append(items, item{path: p})
	}
	mem := local.OpenMemory(nil)
	t.Cleanup(func() { mem.Close() })
	var st retriever.Store = toolstest.NewTextStore(mem)
	switch index {
	case localIndex:
		st = mem
	case qdrantIndex:
		q := qdranttest.Open(t)
		t.Cleanup(func() { q.Close() })
		st = q
	}
	if err := st.Ensure(ctx, retriever.Collection{Model: enc.ID(), Dim: enc.Dim()}); err != nil {
		t.Fatal(err)
	}
	set := &retrievalSet{store: st, figures: map[string]string{}, byTitle: map[string][]string{}}
	var recs []retriever.Record
	for i, it := range items {
		data, err := os.ReadFile(it.path)
		if err != nil {
			t.Fatal(err)
		}
		px, info, err := enc.Preprocessor().Bytes(it.path, data)
		if err != nil {
			t.Fatal(err)
		}
		vecs, err := enc.EmbedPixels(ctx, [][]float32{px})
		if err != nil {
			t.Fatal(err)
		}
		id := contentID(data, enc.ID())
		recs = append(recs, retriever.Record{ID: id, Vector: vecs[0], Payload: retriever.Payload{
			Path: it.path, Folder: filepath.Dir(it.path), Format: info.Format, Width: info.Width, Height: info.Height,
			Model: enc.ID(), Text: it.lines, TextBy: "test",
		}})
		if i < len(tws) {
			set.titles = append(set.titles, twinQuery{tws[i].Title, id})
			set.byTitle[tws[i].Title] = append(set.byTitle[tws[i].Title], id)
			if _, ok := set.figures[tws[i].Title]; !ok {
				set.figures[tws[i].Title] = id
			}
		} else {
			set.photos = append(set.photos, id)
		}
	}
	if err := st.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if set.svc, err = New(enc, st, Options{Roots: []string{dir, photoDir}}); err != nil {
		t.Fatal(err)
	}
	return set
}

// groundTruth gives a figure the lines the generator drew.
func groundTruth(tw twin) []retriever.TextLine { return tw.Lines }

// titleRanks runs every title query through a hybrid search with fuse and
// returns how many found a figure with that title (the two groups each
// have one) at rank 1, and the mean reciprocal rank of the best of them.
func (rs *retrievalSet) titleRanks(t testing.TB, fuse fusion) (at1 int, mrr float64) {
	t.Helper()
	ctx := context.Background()
	enc, _ := rs.svc.encoder()
	for _, q := range rs.titles {
		vecs, err := enc.EmbedTexts(ctx, []string{q.title})
		if err != nil {
			t.Fatal(err)
		}
		cands, err := rs.svc.searchText(ctx, ModeHybrid, vecs[0], q.title, 10, retriever.Filter{}, fuse)
		if err != nil {
			t.Fatal(err)
		}
		r := 0
		for i, c := range cands {
			if slices.Contains(rs.byTitle[q.title], c.hit.ID) {
				r = i + 1
				break
			}
		}
		if r == 1 {
			at1++
		}
		if r > 0 {
			mrr += 1 / float64(r)
		}
	}
	return at1, mrr / float64(len(rs.titles))
}

// rrfK is the k of reciprocal rank fusion (Cormack, Clarke and Büttcher).
const rrfK = 60

// fuseRRF is reciprocal rank fusion, which hybrid search was measured
// against (TestFusionChoice): Σ 1/(rrfK + rank) over the CLIP ranking
// and, for images whose text matched, the text ranking.
func fuseRRF(c []scored) []float64 {
	out := make([]float64, len(c))
	for i, x := range c {
		out[i] = 1 / float64(rrfK+x.clipRank)
		if x.textRank > 0 {
			out[i] += 1 / float64(rrfK+x.textRank)
		}
	}
	return out
}

// weighted is fuseWeighted with another text weight.
func weighted(w float64) fusion {
	return func(c []scored) []float64 { return fuseWeightedBy(c, w) }
}

// TestFusionChoice measures the fusions on the retrieval set with the fake
// encoder and the generator's text, and checks that the one hybrid search
// uses is no worse than the others at finding a figure by its title.
// go test ./tools -run TestFusionChoice -v prints the figures.
func TestFusionChoice(t *testing.T) {
	for _, index := range []string{bm25Index, localIndex, qdrantIndex} {
		t.Run(index, func(t *testing.T) {
			reportFusions(t, buildRetrievalSetIn(t, toolstest.NewFake(), groundTruth, index))
		})
	}
}

func reportFusions(t *testing.T, rs *retrievalSet) {
	t.Helper()
	fusions := []struct {
		name string
		f    fusion
	}{
		{"weighted 0.5 (used)", fuseWeighted},
		{"weighted 0.3", weighted(0.3)},
		{"weighted 0.7", weighted(0.7)},
		{"rrf k=60", fuseRRF},
	}
	n := len(rs.titles)
	chosen := 0
	for i, fu := range fusions {
		at1, mrr := rs.titleRanks(t, fu.f)
		t.Logf("%-18s title at rank 1: %d/%d (%.1f%%), MRR %.3f", fu.name, at1, n, 100*float64(at1)/float64(n), mrr)
		if i == 0 {
			chosen = at1
		}
	}
	if float64(chosen) < 0.95*float64(n) {
		t.Errorf("hybrid search finds %d/%d figures by their title at rank 1; want ≥ 95%%", chosen, n)
	}
}

// TestHybridSearch checks hybrid search's promises with the fake encoder
// and the generator's text: a title finds its figure first; a query that
// matches no text keeps CLIP's ranking exactly; images without text keep
// their CLIP order; filters and the minimum score (on the CLIP cosine)
// still apply; hits carry their text, the matching lines first.
func TestHybridSearch(t *testing.T) {
	rs := buildRetrievalSet(t, toolstest.NewFake(), groundTruth)
	ctx := context.Background()
	s := rs.svc

	out, err := s.SearchImages(ctx, SearchInput{Query: "断裂体系叠合图", TopK: 5})
	if err != nil {
		t.Fatal(err)
	}
	if out.Mode != ModeHybrid {
		t.Errorf("default mode %q, want hybrid on an index with text", out.Mode)
	}
	if len(out.Hits) == 0 || !strings.HasPrefix(out.Hits[0].Text, "断裂体系叠合图\n") {
		t.Fatalf("title query: first hit %+v, want the figure with its title first in its text", out.Hits)
	}
	if out.Hits[0].TextScore <= 0 {
		t.Errorf("title query: text score %v", out.Hits[0].TextScore)
	}

	// Queries that match no text: hybrid ranks exactly as clip.
	for _, q := range []string{"red", "something blue", "紫色"} {
		clip, err := s.SearchImages(ctx, SearchInput{Query: q, TopK: 20, Mode: ModeCLIP})
		if err != nil {
			t.Fatal(err)
		}
		hyb, err := s.SearchImages(ctx, SearchInput{Query: q, TopK: 20})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(clip.Hits), ids(hyb.Hits)) || !slices.EqualFunc(clip.Hits, hyb.Hits, func(a, b Hit) bool { return a.Score == b.Score }) {
			t.Errorf("%q: hybrid %v, clip %v", q, ids(hyb.Hits), ids(clip.Hits))
		}
		if hyb.Mode != ModeCLIP {
			t.Errorf("%q matches no text: mode %q, want clip (how the hits were ranked)", q, hyb.Mode)
		}
	}

	// A query matching some text: the images without text keep their CLIP order.
	q := "red Seismic"
	clip, err := s.SearchImages(ctx, SearchInput{Query: q, TopK: MaxTopK, Mode: ModeCLIP})
	if err != nil {
		t.Fatal(err)
	}
	hyb, err := s.SearchImages(ctx, SearchInput{Query: q, TopK: MaxTopK, Mode: ModeHybrid})
	if err != nil {
		t.Fatal(err)
	}
	photo := func(hits []Hit) []string {
		var out []string
		for _, h := range hits {
			if slices.Contains(rs.photos, h.ID) {
				out = append(out, h.ID)
			}
		}
		return out
	}
	if p, c := photo(hyb.Hits), photo(clip.Hits); !slices.Equal(p, c[:min(len(c), len(p))]) || len(p) == 0 {
		t.Errorf("photos in hybrid order %v, clip order %v", p, c)
	}
	if len(hyb.Hits) == 0 || hyb.Hits[0].TextScore == 0 || !strings.Contains(strings.SplitN(hyb.Hits[0].Text, "\n", 2)[0], "Seismic") {
		t.Errorf("%q: first hit %+v, want a figure whose caption says Seismic, that line first", q, hyb.Hits[:1])
	}

	// Text mode: only images whose text matches, best first.
	txt, err := s.SearchImages(ctx, SearchInput{Query: "顶面构造图", TopK: 3, Mode: ModeText})
	if err != nil {
		t.Fatal(err)
	}
	if len(txt.Hits) != 3 || txt.Hits[0].ID != rs.figures["顶面构造图"] && !strings.HasPrefix(txt.Hits[0].Text, "顶面构造图") {
		t.Errorf("text mode: %+v", txt.Hits)
	}
	for _, h := range txt.Hits {
		if h.TextScore <= 0 || slices.Contains(rs.photos, h.ID) {
			t.Errorf("text mode hit %s: text score %v", h.Path, h.TextScore)
		}
	}

	// Filters: the folder of the photos leaves the figures out; the
	// minimum score applies to the CLIP cosine.
	photoDir := filepath.Dir(rs.hitPath(t, rs.photos[0]))
	f, err := s.SearchImages(ctx, SearchInput{Query: "断裂体系叠合图 red", TopK: 10, Filters: Filters{Folder: photoDir}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range f.Hits {
		if h.Folder != photoDir {
			t.Errorf("folder filter: hit %s", h.Path)
		}
	}
	all, err := s.SearchImages(ctx, SearchInput{Query: "断裂体系叠合图 red", TopK: MaxTopK})
	if err != nil {
		t.Fatal(err)
	}
	var cut float64
	for _, h := range all.Hits {
		cut = max(cut, h.Score/2)
	}
	m, err := s.SearchImages(ctx, SearchInput{Query: "断裂体系叠合图 red", TopK: MaxTopK, Filters: Filters{MinScore: float64(cut)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Hits) == 0 || len(m.Hits) == len(all.Hits) {
		t.Errorf("min score %v: %d of %d hits", cut, len(m.Hits), len(all.Hits))
	}
	for _, h := range m.Hits {
		if h.Score < float64(float32(cut)) {
			t.Errorf("min score %v: hit %s scores %v", cut, h.Path, h.Score)
		}
	}

	// Bad modes.
	if _, err := s.SearchImages(ctx, SearchInput{Query: "x", Mode: "ocr"}); !IsInputError(err) || !strings.Contains(err.Error(), "mode:") {
		t.Errorf("mode ocr: %v", err)
	}
}

func (rs *retrievalSet) hitPath(t *testing.T, id string) string {
	t.Helper()
	recs, err := rs.store.Get(context.Background(), []string{id})
	if err != nil || len(recs) != 1 {
		t.Fatal(id, err)
	}
	return recs[0].Payload.Path
}

func ids(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// TestHybridWithoutText: on photos with no text, and on a store without a
// text index, every mode but text ranks exactly as CLIP; text is an error
// where there is no text index.
func TestHybridWithoutText(t *testing.T) {
	_, f, _ := fakeService(t, Options{})
	ctx := context.Background()
	// A store without a text index: the embedded store's methods but SearchText.
	s, err := New(toolstest.NewFake(), struct{ retriever.Store }{f.Store}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := New(toolstest.NewFake(), f.Store, Options{}) // indexed without --ocr: no text
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"red", "a blue square", "green yellow"} {
		clip, err := s.SearchImages(ctx, SearchInput{Query: q, TopK: MaxTopK})
		if err != nil {
			t.Fatal(err)
		}
		if clip.Mode != ModeCLIP {
			t.Errorf("mode %q on a store without text search", clip.Mode)
		}
		for _, c := range []struct {
			svc  *Service
			mode string
		}{{s, ModeHybrid}, {ts, ""}, {ts, ModeHybrid}} {
			out, err := c.svc.SearchImages(ctx, SearchInput{Query: q, TopK: MaxTopK, Mode: c.mode})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(out.Hits), ids(clip.Hits)) {
				t.Errorf("%q mode %q: %v, want %v", q, c.mode, ids(out.Hits), ids(clip.Hits))
			}
		}
	}
	if _, err := s.SearchImages(ctx, SearchInput{Query: "red", Mode: ModeText}); !IsInputError(err) || !strings.Contains(err.Error(), "no text search") {
		t.Errorf("text mode without a text index: %v", err)
	}
}

func TestHitText(t *testing.T) {
	lines := func(ss ...string) []retriever.TextLine {
		var out []retriever.TextLine
		for _, s := range ss {
			out = append(out, retriever.TextLine{Text: s})
		}
		return out
	}
	long := strings.Repeat("断", 400)
	for _, c := range []struct {
		name  string
		lines []retriever.TextLine
		query string
		want  string
	}{
		{"none", nil, "x", ""},
		{"order kept without a match", lines("图例", "Legend"), "red", "图例\nLegend"},
		{"matching first", lines("0 500 1000", "Figure 3. Fault system overlay map", "断裂体系叠合图"), "断裂体系叠合图", "断裂体系叠合图\n0 500 1000\nFigure 3. Fault system overlay map"},
		{"most matches first", lines("Fault", "fault system overlay"), "ＦＡＵＬＴ system", "fault system overlay\nFault"},
		{"stop words do not match", lines("one", "map of the basin"), "the map", "map of the basin\none"},
		{"spaces squeezed", lines("  a   b  "), "", "a b"},
		{"cut", lines(long), "", strings.Repeat("断", MaxHitTextChars-1) + "…"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := hitText(c.lines, queryTerms(c.query)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
