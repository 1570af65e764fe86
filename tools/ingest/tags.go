package ingest

import (
	"context"
	"fmt"
	"sort"

	"github.com/cliprag/cliprag/embed/zeroshot"
	"github.com/cliprag/cliprag/retriever"
)

// tagger chooses zero-shot tags for image vectors.
type tagger struct {
	labels []string
	vecs   [][]float32 // label embeddings (prompt ensembles); nil in a dry run
	scale  float32
	top    int
	min    float32
}

// newTagger embeds the tag labels, or returns nil when the run has none. A
// dry run embeds nothing.
func newTagger(ctx context.Context, enc Encoder, opts Options) (*tagger, error) {
	if len(opts.Tags) == 0 {
		return nil, nil
	}
	t := &tagger{labels: opts.Tags, scale: enc.LogitScale(), top: opts.TopTags, min: opts.MinTagProb}
	if opts.DryRun {
		return t, nil
	}
	templates := opts.TagTemplates
	if len(templates) == 0 {
		templates = enc.DefaultTemplates()
	}
	vecs, err := zeroshot.LabelEmbeddings(ctx, enc.EmbedTexts, opts.Tags, templates)
	if err != nil {
		return nil, fmt.Errorf("embed tags: %w", err)
	}
	t.vecs = vecs
	return t, nil
}

// tags returns the most probable labels for vec, most probable first: at
// most top of them, none below min.
func (t *tagger) tags(vec []float32) []retriever.Tag {
	if t == nil || t.vecs == nil || vec == nil {
		return nil
	}
	probs := zeroshot.Probs(vec, t.vecs, t.scale)
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	var tags []retriever.Tag
	for _, i := range idx[:min(t.top, len(idx))] {
		if probs[i] < t.min {
			break
		}
		tags = append(tags, retriever.Tag{Label: t.labels[i], Score: probs[i]})
	}
	return tags
}
