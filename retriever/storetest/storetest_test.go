package storetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/retriever"
)

// naive is the simplest Store that follows the contract: a map under a mutex.
// It checks the suite itself: the suite must pass a correct store.
type naive struct {
	mu   sync.RWMutex
	coll *retriever.Collection
	recs map[string]retriever.Record
}

func (s *naive) Ensure(_ context.Context, c retriever.Collection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.coll == nil {
		s.coll = &c
		return nil
	}
	if *s.coll != c {
		return &retriever.MismatchError{Store: "naive", Have: *s.coll, Want: c}
	}
	return nil
}

func (s *naive) Collection(context.Context) (retriever.Collection, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.coll == nil {
		return retriever.Collection{}, retriever.ErrNotFound
	}
	return *s.coll, nil
}

func (s *naive) Upsert(_ context.Context, recs []retriever.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := map[string]bool{}
	paths := map[string]string{}
	for _, r := range recs {
		if len(r.Vector) != s.coll.Dim {
			return fmt.Errorf("vector dim %d", len(r.Vector))
		}
		if p := r.Payload.Path; p != "" {
			if other, ok := paths[p]; ok && other != r.ID {
				return fmt.Errorf("two records at %s", p)
			}
			paths[p] = r.ID
		}
		in[r.ID] = true
	}
	for id, r := range s.recs {
		if _, ok := paths[r.Payload.Path]; ok && !in[id] {
			delete(s.recs, id)
		}
	}
	for _, r := range recs {
		r.Vector = slices.Clone(r.Vector)
		s.recs[r.ID] = r
	}
	return nil
}

func (s *naive) Search(_ context.Context, q []float32, k int, f retriever.Filter) ([]retriever.Hit, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(q) != s.coll.Dim {
		return nil, fmt.Errorf("query dim %d", len(q))
	}
	var hits []retriever.Hit
	for _, r := range s.recs {
		sc := cosine(q, r.Vector)
		if matches(f, r.Payload, sc) {
			hits = append(hits, retriever.Hit{ID: r.ID, Score: float32(sc), Payload: r.Payload})
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	return hits[:min(k, len(hits))], nil
}

func (s *naive) Get(_ context.Context, ids []string) ([]retriever.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []retriever.Record
	for _, id := range ids {
		if r, ok := s.recs[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *naive) Delete(_ context.Context, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.recs, id)
	}
	return nil
}

func (s *naive) Files(_ context.Context, fn func(retriever.FileEntry) error) error {
	s.mu.RLock()
	var es []retriever.FileEntry
	for _, r := range s.recs {
		es = append(es, retriever.FileEntry{ID: r.ID, Path: r.Payload.Path, SHA256: r.Payload.SHA256, Size: r.Payload.Size, ModTime: r.Payload.ModTime, TagSet: r.Payload.TagSet, TextBy: r.Payload.TextBy})
	}
	s.mu.RUnlock()
	for _, e := range es {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *naive) Count(context.Context) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.recs), nil
}

func (s *naive) Tags(context.Context) (map[string]int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := map[string]int{}
	for _, r := range s.recs {
		for _, t := range r.Payload.Tags {
			m[t.Label]++
		}
	}
	return m, nil
}

func (s *naive) String() string { return "naive" }
func (s *naive) Close() error   { return nil }

func TestSuiteAgainstNaiveStore(t *testing.T) {
	Run(t, func(t *testing.T) retriever.Store { return &naive{recs: map[string]retriever.Record{}} })
}

// TestReferenceFilter pins the reference semantics the suite holds backends to.
func TestReferenceFilter(t *testing.T) {
	p := retriever.Payload{Folder: "/a/b", Tags: []retriever.Tag{{Label: "cat"}, {Label: "dog"}}}
	tests := []struct {
		f     retriever.Filter
		score float64
		want  bool
	}{
		{retriever.Filter{}, -1, true},
		{retriever.Filter{FolderPrefix: "/a/b"}, 0, true},
		{retriever.Filter{FolderPrefix: "/a/b/"}, 0, true},
		{retriever.Filter{FolderPrefix: "/a"}, 0, true},
		{retriever.Filter{FolderPrefix: "/"}, 0, true},
		{retriever.Filter{FolderPrefix: "/a/bc"}, 0, false},
		{retriever.Filter{FolderPrefix: "/a/b/c"}, 0, false},
		{retriever.Filter{FolderPrefix: "/a/"}, 0, true},
		{retriever.Filter{FolderPrefix: "/a/bb"}, 0, false},
		{retriever.Filter{FolderPrefix: "/a/b/"}, 0, true},
		{retriever.Filter{AnyTags: []string{"x", "dog"}}, 0, true},
		{retriever.Filter{AnyTags: []string{"x"}}, 0, false},
		{retriever.Filter{AllTags: []string{"cat", "dog"}}, 0, true},
		{retriever.Filter{AllTags: []string{"cat", "x"}}, 0, false},
		{retriever.Filter{MinScore: 0.5}, 0.49, false},
		{retriever.Filter{MinScore: 0.5}, 0.5, true},
		{retriever.Filter{MinScore: -0.5}, -0.4, true},
	}
	for _, tc := range tests {
		if got := matches(tc.f, p, tc.score); got != tc.want {
			t.Errorf("matches(%+v, score %v) = %v, want %v", tc.f, tc.score, got, tc.want)
		}
	}
	if c := cosine([]float32{1, 0}, []float32{1, 1}); math.Abs(c-math.Sqrt2/2) > 1e-12 {
		t.Errorf("cosine = %v", c)
	}
}
