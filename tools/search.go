package tools

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/cliprag/cliprag/retriever"
)

// topK validates and defaults a top_k argument.
func topK(k int) (int, error) {
	switch {
	case k == 0:
		return DefaultTopK, nil
	case k < 0:
		return 0, inputErr("top_k", "must be positive, got %d", k)
	case k > MaxTopK:
		return 0, inputErr("top_k", "at most %d, got %d: ask for fewer", MaxTopK, k)
	}
	return k, nil
}

// filter validates f and turns it into a store filter.
func (s *Service) filter(ctx context.Context, f Filters) (retriever.Filter, error) {
	var out retriever.Filter
	if math.IsNaN(f.MinScore) || f.MinScore < -1 || f.MinScore > 1 {
		return out, inputErr("min_score", "must be between -1 and 1, got %v", f.MinScore)
	}
	out.MinScore = float32(f.MinScore)
	clean := func(field string, tags []string) ([]string, error) {
		if len(tags) > MaxLabels {
			return nil, inputErr(field, "at most %d tags, got %d", MaxLabels, len(tags))
		}
		var r []string
		for _, t := range tags {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if utf8.RuneCountInString(t) > MaxLabelChars {
				return nil, inputErr(field, "a tag is longer than %d characters", MaxLabelChars)
			}
			r = append(r, t)
		}
		return r, nil
	}
	var err error
	if out.AnyTags, err = clean("tags", f.Tags); err != nil {
		return out, err
	}
	if out.AllTags, err = clean("all_tags", f.AllTags); err != nil {
		return out, err
	}
	if folder := f.Folder; folder != "" { // a folder name is never trimmed
		if !filepath.IsAbs(folder) {
			roots, err := s.Roots(ctx)
			if err != nil {
				return out, err
			}
			if len(roots) != 1 {
				return out, inputErr("folder", "%q is relative; give an absolute folder (roots: %s)", folder, strings.Join(roots, ", "))
			}
			folder = filepath.Join(roots[0], folder)
		}
		out.FolderPrefix = filepath.Clean(folder)
	}
	return out, nil
}

// SearchImages finds the indexed images that best match a text query.
func (s *Service) SearchImages(ctx context.Context, in SearchInput) (SearchOutput, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	q := strings.TrimSpace(in.Query)
	if q == "" {
		return SearchOutput{}, inputErr("query", "is empty: describe the images to find, e.g. \"a diagram of the fault system\"")
	}
	if n := utf8.RuneCountInString(q); n > MaxQueryChars {
		return SearchOutput{}, inputErr("query", "is %d characters; at most %d", n, MaxQueryChars)
	}
	k, err := topK(in.TopK)
	if err != nil {
		return SearchOutput{}, err
	}
	f, err := s.filter(ctx, in.Filters)
	if err != nil {
		return SearchOutput{}, err
	}
	mode, err := s.searchMode(in.Mode)
	if err != nil {
		return SearchOutput{}, err
	}
	enc, err := s.encoder()
	if err != nil {
		return SearchOutput{}, err
	}
	vecs, err := enc.EmbedTexts(ctx, []string{q})
	if err != nil {
		return SearchOutput{}, fmt.Errorf("embed query: %w", err)
	}
	out := SearchOutput{Query: q, Mode: mode}
	terms := queryTerms(q)
	if mode != ModeCLIP {
		cands, err := s.searchText(ctx, mode, vecs[0], q, k, f, fuseWeighted)
		if err != nil {
			return SearchOutput{}, err
		}
		if len(cands) > 0 || mode == ModeText {
			out.Hits = make([]Hit, 0, len(cands))
			for i, c := range cands {
				h := hitFrom(i+1, c.hit)
				h.Text, h.TextScore = hitText(c.hit.Payload.Text, terms), float64(c.textScore)
				out.Hits = append(out.Hits, h)
			}
			return out, nil
		}
	}
	// clip, or hybrid with no text match: CLIP's ranking exactly, and the
	// output says so.
	out.Mode = ModeCLIP
	hits, err := s.store.Search(ctx, vecs[0], k, f)
	if err != nil {
		return SearchOutput{}, fmt.Errorf("search %s: %w", s.store, err)
	}
	out.Hits = make([]Hit, 0, len(hits))
	for i, h := range hits {
		hit := hitFrom(i+1, h)
		hit.Text = hitText(h.Payload.Text, terms)
		out.Hits = append(out.Hits, hit)
	}
	return out, nil
}

// FindSimilar finds the indexed images most similar to an example image.
// The example itself (same id, same file, or the same bytes indexed under
// any path) is left out of the hits.
func (s *Service) FindSimilar(ctx context.Context, in SimilarInput) (SearchOutput, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	k, err := topK(in.TopK)
	if err != nil {
		return SearchOutput{}, err
	}
	f, err := s.filter(ctx, in.Filters)
	if err != nil {
		return SearchOutput{}, err
	}
	img, err := s.resolve(ctx, "image", in.Image)
	if err != nil {
		return SearchOutput{}, err
	}
	hits, err := s.store.Search(ctx, img.vec, k+2, f) // room for the example under its id and its path
	if err != nil {
		return SearchOutput{}, fmt.Errorf("search %s: %w", s.store, err)
	}
	out := SearchOutput{Query: img.desc, Hits: make([]Hit, 0, k)}
	for _, h := range hits {
		if (img.id != "" && h.ID == img.id) || (img.contentID != "" && h.ID == img.contentID) ||
			(img.path != "" && samePath(h.Payload.Path, img.path)) {
			continue
		}
		if len(out.Hits) == k {
			break
		}
		out.Hits = append(out.Hits, hitFrom(len(out.Hits)+1, h))
	}
	return out, nil
}

// samePath reports whether an indexed path names the resolved file.
func samePath(indexed, path string) bool {
	if indexed == path {
		return true
	}
	a, err := filepath.EvalSymlinks(indexed)
	if err != nil {
		return false
	}
	b, err := filepath.EvalSymlinks(path)
	return err == nil && a == b
}
