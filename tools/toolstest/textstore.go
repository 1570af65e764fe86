package toolstest

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/fulltext"
)

// TextStore adds a full-text search over the records' text
// (retriever.TextSearcher) to any store, as the real stores have one, for
// tests of what is built on it (hybrid search, the text a hit carries):
// Okapi BM25 (k1 1.2, b 0.75) over the terms of package retriever/fulltext,
// counting every partial match (the stores ask for half the query's weight). It keeps the text
// and TextBy of the records written through it (Upsert, SetText) beside
// the wrapped store and puts them back into the records and hits it
// returns, so it works whether or not the wrapped store keeps text.
//
// It is safe for concurrent use.
type TextStore struct {
	retriever.Store

	mu   sync.RWMutex
	text map[string]storedText

	// TextCalls counts SearchText calls.
	TextCalls atomic.Int64
}

type storedText struct {
	lines []retriever.TextLine
	by    string
}

var _ retriever.TextSearcher = (*TextStore)(nil)

// NewTextStore wraps st.
func NewTextStore(st retriever.Store) *TextStore {
	return &TextStore{Store: st, text: map[string]storedText{}}
}

// SetText sets the text of the record id (by: Payload.TextBy).
func (s *TextStore) SetText(id string, lines []retriever.TextLine, by string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.text[id] = storedText{lines: slices.Clone(lines), by: by}
}

// Upsert writes recs to the wrapped store and keeps their text.
func (s *TextStore) Upsert(ctx context.Context, recs []retriever.Record) error {
	if err := s.Store.Upsert(ctx, recs); err != nil {
		return err
	}
	for _, r := range recs {
		if r.Payload.TextBy != "" || len(r.Payload.Text) > 0 {
			s.SetText(r.ID, r.Payload.Text, r.Payload.TextBy)
		}
	}
	return nil
}

// Delete deletes from the wrapped store and forgets the text.
func (s *TextStore) Delete(ctx context.Context, ids []string) error {
	if err := s.Store.Delete(ctx, ids); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.text, id)
	}
	return nil
}

func (s *TextStore) fill(id string, p *retriever.Payload) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t, ok := s.text[id]; ok {
		p.Text, p.TextBy = slices.Clone(t.lines), t.by
	}
}

// Get returns the wrapped store's records with their text.
func (s *TextStore) Get(ctx context.Context, ids []string) ([]retriever.Record, error) {
	recs, err := s.Store.Get(ctx, ids)
	for i := range recs {
		s.fill(recs[i].ID, &recs[i].Payload)
	}
	return recs, err
}

// Search returns the wrapped store's hits with their text.
func (s *TextStore) Search(ctx context.Context, v []float32, k int, f retriever.Filter) ([]retriever.Hit, error) {
	hits, err := s.Store.Search(ctx, v, k, f)
	for i := range hits {
		s.fill(hits[i].ID, &hits[i].Payload)
	}
	return hits, err
}

// Files reports the records with their TextBy.
func (s *TextStore) Files(ctx context.Context, fn func(retriever.FileEntry) error) error {
	return s.Store.Files(ctx, func(e retriever.FileEntry) error {
		s.mu.RLock()
		if t, ok := s.text[e.ID]; ok {
			e.TextBy = t.by
		}
		s.mu.RUnlock()
		return fn(e)
	})
}

// SearchText ranks the records whose text shares terms with query by BM25
// and returns up to k of them, best first, filtered by f's tags and folder.
func (s *TextStore) SearchText(ctx context.Context, query string, k int, f retriever.Filter) ([]retriever.Hit, error) {
	s.TextCalls.Add(1)
	qt := map[string]bool{}
	for _, t := range fulltext.Terms(query) {
		qt[t] = true
	}
	s.mu.RLock()
	docs := make(map[string][]string, len(s.text))
	total := 0
	for id, t := range s.text {
		var terms []string
		for _, l := range t.lines {
			terms = append(terms, fulltext.Terms(l.Text)...)
		}
		docs[id] = terms
		total += len(terms)
	}
	s.mu.RUnlock()
	if len(docs) == 0 || len(qt) == 0 {
		return nil, ctx.Err()
	}
	avg := float64(total) / float64(len(docs))
	df := map[string]int{}
	for _, terms := range docs {
		seen := map[string]bool{}
		for _, t := range terms {
			if qt[t] && !seen[t] {
				seen[t] = true
				df[t]++
			}
		}
	}
	type scoredID struct {
		id    string
		score float64
	}
	var ranked []scoredID
	n := float64(len(docs))
	for id, terms := range docs {
		tf := map[string]int{}
		for _, t := range terms {
			if qt[t] {
				tf[t]++
			}
		}
		var sc float64
		for t, c := range tf {
			idf := math.Log(1 + (n-float64(df[t])+0.5)/(float64(df[t])+0.5))
			fc := float64(c)
			sc += idf * fc * 2.2 / (fc + 1.2*(0.25+0.75*float64(len(terms))/avg))
		}
		if sc > 0 {
			ranked = append(ranked, scoredID{id, sc})
		}
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].score != ranked[j].score {
			return ranked[i].score > ranked[j].score
		}
		return ranked[i].id < ranked[j].id
	})
	ids := make([]string, len(ranked))
	score := make(map[string]float64, len(ranked))
	for i, r := range ranked {
		ids[i], score[r.id] = r.id, r.score
	}
	recs, err := s.Get(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []retriever.Hit
	for _, r := range recs {
		if len(out) == k {
			break
		}
		if matchFilter(r.Payload, f) {
			out = append(out, retriever.Hit{ID: r.ID, Score: float32(score[r.ID]), Payload: r.Payload})
		}
	}
	return out, nil
}

// matchFilter applies f's tags and folder to p.
func matchFilter(p retriever.Payload, f retriever.Filter) bool {
	has := func(l string) bool {
		return slices.ContainsFunc(p.Tags, func(t retriever.Tag) bool { return t.Label == l })
	}
	if len(f.AnyTags) > 0 && !slices.ContainsFunc(f.AnyTags, has) {
		return false
	}
	for _, l := range f.AllTags {
		if !has(l) {
			return false
		}
	}
	if pre := f.FolderPrefix; pre != "" {
		rel, err := filepath.Rel(pre, p.Folder)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return false
		}
	}
	return true
}
