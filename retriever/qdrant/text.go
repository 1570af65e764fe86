package qdrant

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/fulltext"
)

// textCandidates is the most points SearchText ranks for one query.
// Qdrant's text match is a filter without a score, so the matching points
// are ranked here; a query whose terms are in more points than this ranks
// the first textCandidates of them that Qdrant returns.
const textCandidates = 4000

// textIndex is the full-text index on the lines' normalised text: Qdrant's
// multilingual tokenizer (words in scripts written with spaces, dictionary
// segmentation of Chinese and Japanese), lower-cased.
func textIndex() *qc.PayloadIndexParams {
	return qc.NewPayloadIndexParamsText(&qc.TextIndexParams{
		Tokenizer: qc.TokenizerType_Multilingual,
		Lowercase: qc.PtrOf(true),
	})
}

// candidateQuery is what SearchText asks Qdrant's text index for: the
// query normalised as the indexed text is, and the terms package fulltext
// makes of it (Chinese characters and pairs), so a point matches when any
// of them is one of its tokens.
func candidateQuery(query string, terms []string) string {
	return fulltext.Normalize(query) + " " + strings.Join(terms, " ")
}

// SearchText returns up to k points whose text matches query, best first.
// Qdrant's text index (any token of the query) picks the candidates that
// pass f; package fulltext ranks them as the embedded store does, BM25 in
// (0, 1], with document frequencies counted among the candidates and the
// collection size from the number of points with text.
func (s *Store) SearchText(ctx context.Context, query string, k int, f retriever.Filter) ([]retriever.Hit, error) {
	hits := []retriever.Hit{}
	if _, err := s.current(ctx); err != nil {
		return nil, fmt.Errorf("qdrant text search %s: %w", s, err)
	}
	terms := fulltext.QueryTerms(query)
	if k <= 0 || len(terms) == 0 {
		return hits, nil
	}
	filter := toFilter(f)
	if filter == nil {
		filter = &qc.Filter{}
	}
	match := &qc.Filter{Should: []*qc.Condition{qc.NewMatchTextAny(fTextNorm, candidateQuery(query, terms))}}
	if nums := numericTerms(terms); len(nums) > 0 {
		match.Should = append(match.Should, qc.NewMatchKeywords(fTextNums, nums...))
	}
	filter.Must = append(filter.Must, qc.NewFilterAsCondition(match))
	points, err := s.scrollAll(ctx, "text search", filter, textCandidates)
	if err != nil {
		return nil, err
	}
	if len(points) == 0 {
		return hits, nil
	}
	var withText uint64
	err = s.do(ctx, "count text", func(ctx context.Context) error {
		var err error
		withText, err = s.client.Count(ctx, &qc.CountPoints{
			CollectionName: s.cfg.Collection,
			Filter:         &qc.Filter{MustNot: []*qc.Condition{qc.NewIsEmpty(fText)}},
			Exact:          qc.PtrOf(true),
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	type doc struct {
		hit retriever.Hit
		tf  map[string]int
		n   int
	}
	docs := make([]doc, len(points))
	df := make([]int, len(terms))
	st := fulltext.Stats{Docs: int(withText)}
	for i, p := range points {
		d := &docs[i]
		d.hit = retriever.Hit{ID: p.GetId().GetUuid(), Payload: fromPayload(p.GetPayload())}
		d.tf, d.n = fulltext.Doc(d.hit.Payload.Text)
		st.TotalLen += d.n
		for j, t := range terms {
			if d.tf[t] > 0 {
				df[j]++
			}
		}
	}
	// The candidates' mean length stands for the collection's.
	st.TotalLen = st.TotalLen * max(st.Docs, 1) / len(points)
	q := fulltext.NewQuery(terms, df, st)
	for _, d := range docs {
		var a fulltext.Acc
		for j, t := range terms {
			q.Add(&a, j, d.tf[t], d.n)
		}
		if sc, ok := q.Score(a); ok {
			d.hit.Score = sc
			hits = append(hits, d.hit)
		}
	}
	slices.SortFunc(hits, func(a, b retriever.Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return hits[:min(k, len(hits))], nil
}

// isNumber reports whether a term is all digits.
func isNumber(t string) bool {
	for _, r := range t {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return t != ""
}

func numericTerms(terms []string) []string {
	var out []string
	for _, t := range terms {
		if isNumber(t) {
			out = append(out, t)
		}
	}
	return out
}

// numbers returns the distinct numbers among the terms of text, as
// keyword values.
func numbers(text []retriever.TextLine) []*qc.Value {
	tf, _ := fulltext.Doc(text)
	var nums []string
	for t := range tf {
		if isNumber(t) {
			nums = append(nums, t)
		}
	}
	slices.Sort(nums)
	out := make([]*qc.Value, len(nums))
	for i, n := range nums {
		out[i] = qc.NewValueString(n)
	}
	return out
}

// scrollAll returns up to limit points passing filter, with payloads.
func (s *Store) scrollAll(ctx context.Context, op string, filter *qc.Filter, limit int) ([]*qc.RetrievedPoint, error) {
	var out []*qc.RetrievedPoint
	var offset *qc.PointId
	for len(out) < limit {
		var page []*qc.RetrievedPoint
		var next *qc.PointId
		err := s.do(ctx, op, func(ctx context.Context) error {
			var err error
			page, next, err = s.client.ScrollAndOffset(ctx, &qc.ScrollPoints{
				CollectionName: s.cfg.Collection,
				Filter:         filter,
				Offset:         offset,
				Limit:          qc.PtrOf(uint32(min(scrollPage, limit-len(out)))),
				WithPayload:    qc.NewWithPayload(true),
				WithVectors:    qc.NewWithVectors(false),
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == nil || len(page) == 0 {
			break
		}
		offset = next
	}
	return out, nil
}
