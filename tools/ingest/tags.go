package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cliprag/cliprag/embed/zeroshot"
	"github.com/cliprag/cliprag/retriever"
)

// tagger chooses zero-shot tags for image vectors.
type tagger struct {
	labels    []string
	templates []string
	vecs      [][]float32 // label embeddings (prompt ensembles); nil until load, and in a dry run
	scale     float32
	top       int
	min       float32
	set       string // the fingerprint stored as Payload.TagSet
}

// tagSet fingerprints what tags are chosen with: the model, the labels,
// the templates and the two limits. Records carry it (Payload.TagSet), so
// a run with another set re-tags them.
func tagSet(model string, labels, templates []string, top int, minProb float32) string {
	b, _ := json.Marshal(struct {
		Model     string   `json:"model"`
		Labels    []string `json:"labels"`
		Templates []string `json:"templates"`
		Top       int      `json:"top"`
		Min       float32  `json:"min"`
	}{model, labels, templates, top, minProb})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// stale reports whether a record tagged with set needs re-tagging.
func (t *tagger) stale(set string) bool { return t != nil && set != t.set }

// newTagger returns the run's tagger, or nil when the run has no tags
// (tags are then left as they are). Its labels are embedded by load.
func newTagger(enc Encoder, opts Options) *tagger {
	if len(opts.Tags) == 0 {
		return nil
	}
	templates := opts.TagTemplates
	if len(templates) == 0 {
		templates = enc.DefaultTemplates()
	}
	t := &tagger{labels: opts.Tags, templates: templates, scale: enc.LogitScale(), top: opts.TopTags, min: max(opts.MinTagProb, 0)}
	t.set = tagSet(enc.ID(), t.labels, templates, t.top, t.min)
	return t
}

// load embeds the labels (prompt ensembles over the templates).
func (t *tagger) load(ctx context.Context, enc Encoder) error {
	if t == nil || t.vecs != nil {
		return nil
	}
	vecs, err := zeroshot.LabelEmbeddings(ctx, enc.EmbedTexts, t.labels, t.templates)
	if err != nil {
		return fmt.Errorf("embed tags: %w", err)
	}
	t.vecs = vecs
	return nil
}

// tags returns the most probable labels for vec, most probable first: at
// most top of them, none below min. Without a tagger, none.
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

// apply sets rec's tags from its vector when they were chosen with another
// set, and reports whether it did.
func (t *tagger) apply(rec *retriever.Record) bool {
	if !t.stale(rec.Payload.TagSet) {
		return false
	}
	rec.Payload.Tags = t.tags(rec.Vector)
	rec.Payload.TagSet = t.set
	return true
}
