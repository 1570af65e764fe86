package langchaingo_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/llms/fake"
	"github.com/tmc/langchaingo/schema"

	"github.com/cliprag/cliprag/tools"
	lc "github.com/cliprag/cliprag/tools/langchaingo"
)

// allDocs returns every indexed image for query, unfiltered, best first.
func allDocs(t *testing.T, f *docFixture, query string) []schema.Document {
	t.Helper()
	docs, err := lc.NewRetriever(f.svc, lc.WithTopK(tools.MaxTopK)).GetRelevantDocuments(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(f.images) {
		t.Fatalf("unfiltered search returned %d documents, want all %d", len(docs), len(f.images))
	}
	return docs
}

func metaString(t *testing.T, d schema.Document, key string) string {
	t.Helper()
	v, ok := d.Metadata[key].(string)
	if !ok {
		t.Fatalf("Metadata[%q] = %#v (%T), want a string", key, d.Metadata[key], d.Metadata[key])
	}
	return v
}

func metaTags(t *testing.T, d schema.Document) []string {
	t.Helper()
	v, ok := d.Metadata[lc.MetaTags].([]string)
	if !ok {
		t.Fatalf("Metadata[tags] = %#v (%T), want []string", d.Metadata[lc.MetaTags], d.Metadata[lc.MetaTags])
	}
	return v
}

func paths(t *testing.T, docs []schema.Document) []string {
	t.Helper()
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = metaString(t, d, lc.MetaPath)
	}
	return out
}

func TestDocumentFields(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	var r schema.Retriever = lc.NewRetriever(f.svc, lc.WithTopK(10))
	docs, err := r.GetRelevantDocuments(ctx, "a photo of a blue square")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 10 {
		t.Fatalf("got %d documents, want 10", len(docs))
	}
	for i, d := range docs {
		p := metaString(t, d, lc.MetaPath)
		want, ok := f.byPath[p]
		if !ok {
			t.Fatalf("doc %d: path %s is not a docFixture image", i, p)
		}
		id := metaString(t, d, lc.MetaID)
		recs, err := f.svc.Store().Get(ctx, []string{id})
		if err != nil || len(recs) != 1 || recs[0].Payload.Path != p {
			t.Fatalf("doc %d: id %s does not name %s in the store (%v, %d records)", i, id, p, err, len(recs))
		}
		for key, wantV := range map[string]any{
			lc.MetaSource:   p,
			lc.MetaURI:      "image://" + id,
			lc.MetaFileName: filepath.Base(p),
			lc.MetaFolder:   filepath.Dir(p),
			lc.MetaMIMEType: want.mime,
			lc.MetaFormat:   map[string]string{"image/png": "png", "image/jpeg": "jpeg"}[want.mime],
			lc.MetaWidth:    want.width,
			lc.MetaHeight:   want.height,
			lc.MetaRank:     i + 1,
		} {
			if got := d.Metadata[key]; got != wantV {
				t.Errorf("doc %d (%s): Metadata[%q] = %#v, want %#v", i, filepath.Base(p), key, got, wantV)
			}
		}
		score, ok := d.Metadata[lc.MetaScore].(float64)
		if !ok || float32(score) != d.Score || score < -1 || score > 1 {
			t.Errorf("doc %d: Metadata[score] %#v and Score %v disagree or are out of range", i, d.Metadata[lc.MetaScore], d.Score)
		}
		if i > 0 && d.Score > docs[i-1].Score {
			t.Errorf("doc %d: score %v above the previous %v: not best first", i, d.Score, docs[i-1].Score)
		}
		tags := metaTags(t, d)
		scores, _ := d.Metadata[lc.MetaTagScores].(map[string]float64)
		if len(tags) == 0 || len(tags) > 2 || len(scores) != len(tags) {
			t.Errorf("doc %d: tags %v with scores %v, want 1–2 ingest tags with a score each", i, tags, scores)
		}
		for _, tag := range tags {
			if !strings.Contains(d.PageContent, tag) {
				t.Errorf("doc %d: PageContent %q lacks tag %q", i, d.PageContent, tag)
			}
		}
		for _, s := range []string{filepath.Base(p), filepath.Dir(p)} {
			if !strings.Contains(d.PageContent, s) {
				t.Errorf("doc %d: PageContent %q lacks %q", i, d.PageContent, s)
			}
		}
		if !strings.HasPrefix(d.PageContent, "Image ") || len(d.PageContent) > 300 {
			t.Errorf("doc %d: PageContent %q is not a short image line", i, d.PageContent)
		}
	}
}

func TestTopK(t *testing.T) {
	f := docShared.Get(t)
	all := allDocs(t, f, "a red circle")
	for _, tc := range []struct {
		name    string
		opts    []lc.Option
		want    int
		wantErr string
	}{
		{"default", nil, tools.DefaultTopK, ""},
		{"one", []lc.Option{lc.WithTopK(1)}, 1, ""},
		{"three", []lc.Option{lc.WithTopK(3)}, 3, ""},
		{"more than indexed", []lc.Option{lc.WithTopK(tools.MaxTopK)}, len(f.images), ""},
		{"negative", []lc.Option{lc.WithTopK(-1)}, 0, "WithTopK"},
		{"too many", []lc.Option{lc.WithTopK(tools.MaxTopK + 1)}, 0, "WithTopK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := lc.NewRetriever(f.svc, tc.opts...).GetRelevantDocuments(context.Background(), "a red circle")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !tools.IsInputError(err) {
					t.Fatalf("err = %v, want an input error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != tc.want {
				t.Fatalf("got %d documents, want %d", len(docs), tc.want)
			}
			// The first k of a larger search, in the same order.
			if got, want := paths(t, docs), paths(t, all[:tc.want]); !slices.Equal(got, want) {
				t.Errorf("top %d = %v, want the head of the full ranking %v", tc.want, got, want)
			}
		})
	}
}

func TestScoreThreshold(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	all := allDocs(t, f, "a yellow triangle")
	// A threshold between two distinct scores in the middle of the ranking.
	mid := len(all) / 2
	for mid < len(all)-1 && all[mid].Score == all[mid+1].Score {
		mid++
	}
	if mid == len(all)-1 {
		t.Fatal("all scores tie; cannot place a threshold")
	}
	th := (all[mid].Score + all[mid+1].Score) / 2
	docs, err := lc.NewRetriever(f.svc, lc.WithTopK(tools.MaxTopK), lc.WithScoreThreshold(th)).GetRelevantDocuments(ctx, "a yellow triangle")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != mid+1 {
		t.Fatalf("threshold %v kept %d documents, want the %d scoring above it", th, len(docs), mid+1)
	}
	for _, d := range docs {
		if d.Score < th {
			t.Errorf("%s scored %v below the threshold %v", d.Metadata[lc.MetaFileName], d.Score, th)
		}
	}
	// Above every score: nothing; out of range: an error naming the option.
	docs, err = lc.NewRetriever(f.svc, lc.WithScoreThreshold(all[0].Score+0.001)).GetRelevantDocuments(ctx, "a yellow triangle")
	if err != nil || len(docs) != 0 {
		t.Errorf("threshold above the best score: %d documents, err %v; want none", len(docs), err)
	}
	_, err = lc.NewRetriever(f.svc, lc.WithScoreThreshold(1.5)).GetRelevantDocuments(ctx, "a yellow triangle")
	if err == nil || !strings.Contains(err.Error(), "WithScoreThreshold") {
		t.Errorf("threshold 1.5: err = %v, want one naming WithScoreThreshold", err)
	}
}

func TestFilters(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	all := allDocs(t, f, "a shape")
	// The index's tags as the tiny model assigned them: pick a tag some but
	// not all images carry, and a pair that some images carry together.
	count := map[string]int{}
	pairs := map[[2]string]int{}
	for _, d := range all {
		tags := metaTags(t, d)
		for _, tag := range tags {
			count[tag]++
		}
		if len(tags) == 2 {
			pairs[[2]string{tags[0], tags[1]}]++
		}
	}
	var tag string
	for tg, n := range count {
		if n < len(all) && (tag == "" || n > count[tag] || (n == count[tag] && tg < tag)) {
			tag = tg
		}
	}
	var pair [2]string
	for p := range pairs {
		if pair[0] == "" || p[0]+p[1] < pair[0]+pair[1] {
			pair = p
		}
	}
	if tag == "" {
		t.Fatalf("no tag to filter on: %v", count)
	}
	has := func(d schema.Document, tg string) bool { return slices.Contains(metaTags(t, d), tg) }
	expect := func(keep func(schema.Document) bool) []string {
		var out []string
		for _, d := range all {
			if keep(d) {
				out = append(out, metaString(t, d, lc.MetaPath))
			}
		}
		return out
	}
	circles := filepath.Join(f.root, "circle")
	tests := []struct {
		name string
		opts []lc.Option
		want []string
	}{
		{"any tag " + tag, []lc.Option{lc.WithTags(tag)}, expect(func(d schema.Document) bool { return has(d, tag) })},
		{"folder", []lc.Option{lc.WithFolder(circles)}, expect(func(d schema.Document) bool {
			return filepath.Dir(metaString(t, d, lc.MetaPath)) == circles
		})},
		{"folder relative to the root", []lc.Option{lc.WithFolder("circle")}, expect(func(d schema.Document) bool {
			return filepath.Dir(metaString(t, d, lc.MetaPath)) == circles
		})},
		{"tag and folder", []lc.Option{lc.WithTags(tag), lc.WithFolder(circles)}, expect(func(d schema.Document) bool {
			return has(d, tag) && filepath.Dir(metaString(t, d, lc.MetaPath)) == circles
		})},
		{"unknown tag", []lc.Option{lc.WithTags("no such tag")}, nil},
	}
	if pair[0] != "" {
		tests = append(tests, struct {
			name string
			opts []lc.Option
			want []string
		}{"all tags " + pair[0] + "+" + pair[1], []lc.Option{lc.WithAllTags(pair[0], pair[1])}, expect(func(d schema.Document) bool {
			return has(d, pair[0]) && has(d, pair[1])
		})})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]lc.Option{lc.WithTopK(tools.MaxTopK)}, tc.opts...)
			docs, err := lc.NewRetriever(f.svc, opts...).GetRelevantDocuments(ctx, "a shape")
			if err != nil {
				t.Fatal(err)
			}
			if got := paths(t, docs); !slices.Equal(got, tc.want) {
				t.Errorf("got %d documents %v\nwant %d %v", len(got), got, len(tc.want), tc.want)
			}
		})
	}
	if len(expect(func(d schema.Document) bool { return filepath.Dir(metaString(t, d, lc.MetaPath)) == circles })) != 10 {
		t.Errorf("the circle folder should hold 10 images")
	}
}

func TestWithLeavesOriginal(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	r := lc.NewRetriever(f.svc, lc.WithTopK(2))
	r3 := r.With(lc.WithTopK(3), lc.WithFolder("square"))
	d2, err := r.GetRelevantDocuments(ctx, "a green cross")
	if err != nil {
		t.Fatal(err)
	}
	d3, err := r3.GetRelevantDocuments(ctx, "a green cross")
	if err != nil {
		t.Fatal(err)
	}
	if len(d2) != 2 || len(d3) != 3 {
		t.Fatalf("got %d and %d documents, want 2 and 3", len(d2), len(d3))
	}
	for _, p := range paths(t, d3) {
		if filepath.Base(filepath.Dir(p)) != "square" {
			t.Errorf("With(WithFolder(square)) returned %s", p)
		}
	}
}

func TestGetSimilarDocuments(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	r := lc.NewRetriever(f.svc, lc.WithTopK(4))
	ex := f.images[5]
	all := allDocs(t, f, "a shape")
	var exID string
	for _, d := range all {
		if metaString(t, d, lc.MetaPath) == ex.path {
			exID = metaString(t, d, lc.MetaID)
		}
	}
	raw, err := os.ReadFile(ex.path)
	if err != nil {
		t.Fatal(err)
	}
	dataURI := "data:" + ex.mime + ";base64," + base64.StdEncoding.EncodeToString(raw)

	for _, tc := range []struct{ name, ref string }{
		{"path", ex.path},
		{"relative path", filepath.Join(filepath.Base(filepath.Dir(ex.path)), filepath.Base(ex.path))},
		{"id", exID},
		{"image uri", "image://" + exID},
		{"data uri", dataURI}, // content already indexed is left out, however it is given (issue 12)
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := r.GetSimilarDocuments(ctx, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 4 {
				t.Fatalf("got %d documents, want 4", len(docs))
			}
			for _, p := range paths(t, docs) {
				if p == ex.path {
					t.Errorf("the example %s is among its own similar images", p)
				}
			}
		})
	}
	for _, tc := range []struct{ name, ref, want string }{
		{"empty", "  ", "empty image reference"},
		{"outside the roots", "/etc/hostname", "outside the allowed roots"},
		{"missing file", filepath.Join(f.root, "circle", "nope.png"), "does not exist"},
		{"unknown id", "00000000-0000-5000-8000-000000000000", "no indexed image"},
		{"bad data uri", "data:image/png;base64,!!!", "base64"},
		{"url refused", "https://example.com/a.png", "url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.GetSimilarDocuments(ctx, tc.ref)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestThumbnails(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	r := lc.NewRetriever(f.svc, lc.WithTopK(3))
	docs, err := r.GetRelevantDocuments(ctx, "a purple cross")
	if err != nil {
		t.Fatal(err)
	}
	thumbs, err := r.Thumbnails(ctx, docs, 64)
	if err != nil {
		t.Fatal(err)
	}
	if len(thumbs) != len(docs) {
		t.Fatalf("%d thumbnails for %d documents", len(thumbs), len(docs))
	}
	for i, b := range thumbs {
		if len(b) < 100 || b[0] != 0xFF || b[1] != 0xD8 {
			t.Errorf("thumbnail %d is not a JPEG (%d bytes)", i, len(b))
		}
	}
	bad := []schema.Document{{PageContent: "x", Metadata: map[string]any{lc.MetaPath: "/etc/hostname"}}}
	if _, err := r.Thumbnails(ctx, bad, 64); err == nil {
		t.Error("thumbnail of a file outside the roots succeeded")
	}
	if _, err := r.Thumbnails(ctx, docs, 0); err == nil {
		t.Error("thumbnail size 0 accepted")
	}
}

func TestRetrievalQAChain(t *testing.T) {
	f := docShared.Get(t)
	ctx := context.Background()
	llm := &recordingLLM{LLM: fake.NewFakeLLM([]string{"The red circles are red-circle-1.png and red-circle-2.png."})}
	r := lc.NewRetriever(f.svc, lc.WithTopK(3))
	chain := chains.NewRetrievalQAFromLLM(llm, r)
	chain.ReturnSourceDocuments = true

	const question = "Which pictures show a red circle?"
	out, err := chains.Call(ctx, chain, map[string]any{"query": question})
	if err != nil {
		t.Fatal(err)
	}
	if out["text"] != "The red circles are red-circle-1.png and red-circle-2.png." {
		t.Errorf("chain output %q is not the LLM's answer", out["text"])
	}
	src, ok := out["source_documents"].([]schema.Document)
	if !ok || len(src) != 3 {
		t.Fatalf("source_documents = %#v, want 3 documents", out["source_documents"])
	}
	want, err := r.GetRelevantDocuments(ctx, question)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(paths(t, src), paths(t, want)) {
		t.Errorf("chain retrieved %v, the retriever returns %v", paths(t, src), paths(t, want))
	}
	prompt := llm.text()
	if len(llm.prompts) != 1 {
		t.Fatalf("LLM called %d times, want once", len(llm.prompts))
	}
	if !strings.Contains(prompt, question) {
		t.Errorf("the question did not reach the prompt:\n%s", prompt)
	}
	for _, d := range src {
		name := metaString(t, d, lc.MetaFileName)
		if !strings.Contains(prompt, d.PageContent) || !strings.Contains(prompt, name) {
			t.Errorf("retrieved image %s did not reach the prompt:\n%s", name, prompt)
		}
	}
	// Images that were not retrieved are not in the prompt.
	for _, im := range f.images {
		if !slices.Contains(paths(t, src), im.path) && strings.Contains(prompt, filepath.Base(im.path)+" ") {
			t.Errorf("image %s reached the prompt without being retrieved", filepath.Base(im.path))
		}
	}

	// chains.Run (one input, one output key) works too, and a retriever
	// error stops the chain with that error.
	chain.ReturnSourceDocuments = false
	ans, err := chains.Run(ctx, chain, "a blue square")
	if err != nil || ans == "" {
		t.Fatalf("chains.Run: %q, %v", ans, err)
	}
	bad := chains.NewRetrievalQAFromLLM(llm, lc.NewRetriever(f.svc, lc.WithTopK(-2)))
	if _, err := chains.Run(ctx, bad, "a blue square"); err == nil || !tools.IsInputError(err) {
		t.Errorf("chain over a misconfigured retriever: err = %v, want the retriever's input error", err)
	}
	var ie *tools.InputError
	if _, err := chains.Run(ctx, chains.NewRetrievalQAFromLLM(llm, r), strings.Repeat("x", tools.MaxQueryChars+1)); !errors.As(err, &ie) || ie.Field != "query" {
		t.Errorf("over-long query: err = %v, want an input error on query", err)
	}
}

func TestNilRetriever(t *testing.T) {
	var r *lc.Retriever
	if _, err := r.GetRelevantDocuments(context.Background(), "x"); err == nil {
		t.Error("nil retriever: no error")
	}
	if _, err := lc.NewRetriever(nil).GetSimilarDocuments(context.Background(), "x"); err == nil {
		t.Error("retriever without a service: no error")
	}
}
