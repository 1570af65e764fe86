package ingest_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/embed/zeroshot"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// TestRetag changes the tag set, the templates and the limits of an
// indexed folder and checks that each change re-tags every record from its
// stored vector (no file read or decoded, no image model call, one text
// call for the labels), that an unchanged set or a run without tags
// re-tags nothing and leaves tags as they are, and that a dry run predicts
// the re-tagging without doing it.
func TestRetag(t *testing.T) {
	dir := t.TempDir()
	set := toolstest.Draw(t, dir, toolstest.DrawOptions{Seed: 31, Count: 12})
	n := len(set)
	enc := toolstest.NewFake()
	s := openStore(t, t.TempDir())
	colours := []string{"red", "yellow", "green", "blue", "purple"}

	if sum, err := ingest.Run(t.Context(), enc, s, ingest.Options{Paths: []string{dir}}); err != nil || sum.Indexed != n {
		t.Fatalf("untagged index: %+v, %v", sum, err)
	}
	steps := []struct {
		name     string
		opts     ingest.Options
		retagged int
		texts    int64 // text-tower calls
		tagged   bool  // records carry tags afterwards
		wantTop  bool  // the top tag is the drawn colour
	}{
		{"first tag set", ingest.Options{Tags: colours}, n, 1, true, true},
		{"same set again", ingest.Options{Tags: colours}, 0, 0, true, true},
		{"no tags given: left as they are", ingest.Options{}, 0, 0, true, true},
		{"another set", ingest.Options{Tags: colours[:2]}, n, 1, true, false},
		{"another template", ingest.Options{Tags: colours, TagTemplates: []string{"a {} thing"}}, n, 1, true, true},
		{"another cap", ingest.Options{Tags: colours, TagTemplates: []string{"a {} thing"}, TopTags: 1}, n, 1, true, true},
		{"another threshold", ingest.Options{Tags: colours, TagTemplates: []string{"a {} thing"}, TopTags: 1, MinTagProb: 0.9}, n, 1, true, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			opts := st.opts
			opts.Paths = []string{dir}
			// The dry run predicts the step exactly and does nothing.
			dry := opts
			dry.DryRun = true
			before := takeSnapshot(t, s)
			texts, images := enc.TextCalls.Load(), enc.ImageCalls.Load()
			want, err := ingest.Run(t.Context(), enc, s, dry)
			if err != nil {
				t.Fatal(err)
			}
			if enc.TextCalls.Load() != texts || enc.ImageCalls.Load() != images {
				t.Errorf("the dry run called the model")
			}
			if got := takeSnapshot(t, s); !equalSnapshots(got, before) {
				t.Errorf("the dry run changed the index")
			}

			var reads atomic.Int64
			opts = ingest.WithStageHook(opts, func(stage string) {
				if stage == "read" || stage == "decode" {
					reads.Add(1)
				}
			})
			sum, err := ingest.Run(t.Context(), enc, s, opts)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Retagged != st.retagged || sum.Skipped != n-st.retagged || sum.Indexed+sum.Updated != 0 {
				t.Errorf("summary %+v, want %d retagged and %d skipped", sum, st.retagged, n-st.retagged)
			}
			if counts(want) != counts(sum) {
				t.Errorf("dry run predicted %s; the run did %s", counts(want), counts(sum))
			}
			if r := reads.Load(); r != 0 {
				t.Errorf("%d files read or decoded", r)
			}
			if d := enc.ImageCalls.Load() - images; d != 0 {
				t.Errorf("%d image model calls", d)
			}
			if d := enc.TextCalls.Load() - texts; d != st.texts {
				t.Errorf("%d text model calls, want %d", d, st.texts)
			}
			checkTags(t, s, set, st.opts, st.tagged && st.retagged > 0, st.wantTop)
			if st.retagged == 0 {
				if got := takeSnapshot(t, s); !equalSnapshots(got, before) {
					t.Errorf("a run that re-tagged nothing changed records")
				}
			}
		})
	}
}

// checkTags checks every record's tags against opts: at most TopTags, none
// below the threshold, most probable first, labels from opts.Tags; with
// wantTop, the top tag is the drawn colour.
func checkTags(t *testing.T, s retriever.Store, set []toolstest.Image, opts ingest.Options, check, wantTop bool) {
	t.Helper()
	if !check {
		return
	}
	colour := map[string]string{}
	for _, im := range set {
		colour[im.Path] = im.Color
	}
	top, minProb := opts.TopTags, opts.MinTagProb
	if top == 0 {
		top = ingest.DefaultTopTags
	}
	if minProb == 0 {
		minProb = ingest.DefaultMinTagProb
	}
	for _, r := range allRecords(t, s) {
		tags := r.Payload.Tags
		if r.Payload.TagSet == "" || len(tags) == 0 || len(tags) > top {
			t.Errorf("%s: tag set %q, tags %+v (at most %d)", r.Payload.Path, r.Payload.TagSet, tags, top)
			continue
		}
		for i, tg := range tags {
			if tg.Score < minProb || (i > 0 && tg.Score > tags[i-1].Score) || !slices.Contains(opts.Tags, tg.Label) {
				t.Errorf("%s: tags %+v break the limits (top %d, min %.2f, labels %v)", r.Payload.Path, tags, top, minProb, opts.Tags)
			}
		}
		if wantTop && tags[0].Label != colour[r.Payload.Path] {
			t.Errorf("%s: top tag %q, drawn %s", r.Payload.Path, tags[0].Label, colour[r.Payload.Path])
		}
	}
}

func equalSnapshots(a, b snapshot) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestTagThreshold is the measurement behind ingest.DefaultMinTagProb:
// over 200 images drawn from the tiny model's 20 classes, tagged against
// its shapes, its colours and its classes, the default threshold keeps the
// true label of every image and no wrong label of any. It logs the
// distributions the default was chosen from.
func TestTagThreshold(t *testing.T) {
	m := toolstest.Model(t)
	ctx := context.Background()
	set := toolstest.Draw(t, t.TempDir(), toolstest.DrawOptions{Seed: 77, PerClass: 10, JPEG: true})
	pre := m.Preprocessor()
	pixels := make([][]float32, len(set))
	for i, im := range set {
		p, err := pre.LoadFile(im.Path)
		must(t, err)
		pixels[i] = p
	}
	vecs, err := m.EmbedPixels(ctx, pixels)
	must(t, err)
	tests := []struct {
		name   string
		labels []string
		truth  func(toolstest.Image) string
	}{
		{"shapes", tinyshapes.Shapes, func(im toolstest.Image) string { return im.Shape }},
		{"colours", tinyshapes.Colors, func(im toolstest.Image) string { return im.Color }},
		{"classes", tinyshapes.Classes(), func(im toolstest.Image) string { return im.Class }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lv, err := zeroshot.LabelEmbeddings(ctx, m.EmbedTexts, tc.labels, m.DefaultTemplates())
			must(t, err)
			minTrue, maxWrong := float32(1), float32(0)
			lost, extra := 0, 0
			for i, v := range vecs {
				for j, p := range zeroshot.Probs(v, lv, m.LogitScale()) {
					isTrue := tc.labels[j] == tc.truth(set[i])
					switch {
					case isTrue:
						minTrue = min(minTrue, p)
						if p < ingest.DefaultMinTagProb {
							lost++
						}
					default:
						maxWrong = max(maxWrong, p)
						if p >= ingest.DefaultMinTagProb {
							extra++
						}
					}
				}
			}
			t.Logf("%d images: true labels ≥ %.3f, wrong labels ≤ %.3f", len(set), minTrue, maxWrong)
			if lost > 0 || extra > 0 {
				t.Errorf("at %.2f: %d true labels dropped, %d wrong labels kept", ingest.DefaultMinTagProb, lost, extra)
			}
		})
	}
}
