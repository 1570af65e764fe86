package tools

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/fulltext"
)

// Search modes (SearchInput.Mode).
const (
	ModeCLIP   = "clip"   // by what the image shows: CLIP similarity only
	ModeText   = "text"   // by the text read in the image (OCR) only
	ModeHybrid = "hybrid" // both, fused (see fuseWeighted)
)

// Modes lists the search modes.
var Modes = []string{ModeCLIP, ModeText, ModeHybrid}

// MaxHitTextChars is how much of an image's text a hit carries.
const MaxHitTextChars = 300

// Hybrid search asks each ranking for more candidates than it returns, so
// that an image high in one ranking and lower in the other can still win.
const (
	hybridPool    = 50  // at least this many candidates from each ranking
	hybridPoolMax = 200 // and at most this many
)

// textSearcher returns the store's full-text search, if it has one.
func (s *Service) textSearcher() (retriever.TextSearcher, bool) {
	ts, ok := s.store.(retriever.TextSearcher)
	return ts, ok
}

// searchMode validates a mode argument and fills in the default: hybrid
// when the store has a full-text index over the images' text, else clip.
// hybrid on a store without one ranks as clip (and says so in the
// output's mode); text is an error there.
func (s *Service) searchMode(mode string) (string, error) {
	mode = strings.ToLower(strings.TrimSpace(mode))
	_, canText := s.textSearcher()
	switch mode {
	case "":
		if canText {
			return ModeHybrid, nil
		}
		return ModeCLIP, nil
	case ModeCLIP:
		return mode, nil
	case ModeHybrid:
		if !canText {
			return ModeCLIP, nil
		}
		return mode, nil
	case ModeText:
		if !canText {
			return "", inputErr("mode", "the index %s has no text search; use clip or hybrid (text is searchable in indexes built with rag-ingest --ocr)", s.store)
		}
		return mode, nil
	}
	return "", inputErr("mode", "%q is not one of %s", mode, strings.Join(Modes, ", "))
}

// searchText runs the query through CLIP and the text index as mode says
// and returns up to k hits, best first, each with its text score (0 when
// its text did not match).
func (s *Service) searchText(ctx context.Context, mode string, vec []float32, q string, k int, f retriever.Filter, fuse fusion) ([]scored, error) {
	ts, _ := s.textSearcher()
	pool := min(max(4*k, hybridPool), hybridPoolMax)
	tf := f
	tf.MinScore = 0 // applies to the CLIP score, below
	th, err := ts.SearchText(ctx, q, pool, tf)
	if err != nil {
		return nil, fmt.Errorf("search text in %s: %w", s.store, err)
	}
	if mode == ModeHybrid && len(th) == 0 {
		return nil, nil // the caller ranks by CLIP alone, exactly as clip does
	}
	var ch []retriever.Hit
	if mode == ModeHybrid {
		if ch, err = s.store.Search(ctx, vec, pool, f); err != nil {
			return nil, fmt.Errorf("search %s: %w", s.store, err)
		}
	}
	cands, err := s.candidates(ctx, vec, ch, th, f.MinScore)
	if err != nil {
		return nil, err
	}
	if mode == ModeText {
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].textRank < cands[j].textRank })
	} else {
		fused := fuse(cands)
		for i := range cands {
			cands[i].fused = fused[i]
		}
		sort.SliceStable(cands, func(i, j int) bool {
			a, b := cands[i], cands[j]
			if a.fused != b.fused {
				return a.fused > b.fused
			}
			if a.textScore != b.textScore {
				return a.textScore > b.textScore
			}
			return a.clipRank < b.clipRank
		})
	}
	return cands[:min(k, len(cands))], nil
}

// fusion scores the candidates of a hybrid search (higher is better).
type fusion func([]scored) []float64

// scored is a candidate of a hybrid or text search.
type scored struct {
	hit       retriever.Hit // Score: the CLIP cosine
	clipRank  int           // 1 for the best cosine among the candidates
	textRank  int           // 1 for the best text match; 0: the text did not match
	textScore float32       // the store's text relevance; 0: no match
	fused     float64
}

// candidates merges the CLIP hits ch and the text hits th into one list
// ranked by cosine (clipRank), computing the cosine of text hits that the
// CLIP search did not return from their stored vectors. Hits below
// minScore (CLIP cosine; 0: no minimum) are left out.
func (s *Service) candidates(ctx context.Context, vec []float32, ch, th []retriever.Hit, minScore float32) ([]scored, error) {
	at := make(map[string]int, len(ch)+len(th))
	out := make([]scored, 0, len(ch)+len(th))
	for _, h := range ch {
		at[h.ID] = len(out)
		out = append(out, scored{hit: h})
	}
	var missing []string
	for i, h := range th {
		j, ok := at[h.ID]
		if !ok {
			j = len(out)
			at[h.ID] = j
			out = append(out, scored{hit: h})
			missing = append(missing, h.ID)
		}
		out[j].textRank, out[j].textScore = i+1, h.Score
		if len(h.Payload.Text) > 0 {
			out[j].hit.Payload.Text = h.Payload.Text
		}
	}
	if len(missing) > 0 {
		recs, err := s.store.Get(ctx, missing)
		if err != nil {
			return nil, fmt.Errorf("get from %s: %w", s.store, err)
		}
		got := make(map[string]bool, len(recs))
		for _, r := range recs {
			got[r.ID] = true
			out[at[r.ID]].hit.Score = dot(vec, r.Vector)
		}
		for _, id := range missing { // deleted meanwhile
			if !got[id] {
				out[at[id]].hit.Score = -2
			}
		}
	}
	kept := out[:0]
	for _, c := range out {
		if c.hit.Score >= -1 && (minScore == 0 || c.hit.Score >= minScore) {
			kept = append(kept, c)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].hit.Score > kept[j].hit.Score })
	for i := range kept {
		kept[i].clipRank = i + 1
	}
	return kept, nil
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range min(len(a), len(b)) {
		s += a[i] * b[i]
	}
	return s
}

// textWeight is the text's share of a hybrid score (see fuseWeighted).
const textWeight = 0.5

// fuseWeighted is hybrid search's fusion, a calibrated weighted sum:
// textWeight × the text score divided by the best text score among the
// candidates, plus (1 − textWeight) × the CLIP cosine min-max scaled over
// the candidates. Both terms are then on [0, 1] whatever the model's
// cosine range and the store's text scoring (BM25 in the embedded store,
// Qdrant's full-text match).
//
// It was chosen over reciprocal rank fusion (k = 60) by measurement
// (TestFusionChoice and TestHybridRealOCR in this package: 40 generated
// figures that only their titles tell apart, from
// scripts/ocr/gen_images.py --twins 2, and 24 photos without text; the
// title of each is the query; figures in the README). With the figures'
// text read by the real OCR engine and the tiny CLIP, the title found its
// figure at rank 1 for 40 of 40 titles with this sum at 0.5 (and 0.7;
// 26/40 at 0.3), and for 12 of 40 with RRF over a text index that returns
// every partial match (toolstest.TextStore's BM25), 40 of 40 over the
// embedded store's and Qdrant's, which keep only matches holding half the
// query's weight. Ranks throw away how far apart scores are: twins whose cosines
// differ in the fourth decimal get CLIP ranks 1 to 20 all the same, and
// RRF lets a twin that matches part of the title with a better CLIP rank
// beat the figure that matches all of it whenever the store returns
// partial matches; the weighted sum does not depend on that. With a
// weight of one half, an image whose text matches best ranks above every
// image whose text does not match (ties go to the better text score);
// images without text keep their CLIP order.
func fuseWeighted(c []scored) []float64 { return fuseWeightedBy(c, textWeight) }

// fuseWeightedBy is the weighted sum with text weight w (the measurement
// in hybrid_test.go tries others).
func fuseWeightedBy(c []scored, w float64) []float64 {
	lo, hi, best := math.Inf(1), math.Inf(-1), 0.0
	for _, x := range c {
		lo, hi = min(lo, float64(x.hit.Score)), max(hi, float64(x.hit.Score))
		best = max(best, float64(x.textScore))
	}
	out := make([]float64, len(c))
	for i, x := range c {
		var cs, ts float64
		if hi > lo {
			cs = (float64(x.hit.Score) - lo) / (hi - lo)
		}
		if best > 0 {
			ts = float64(x.textScore) / best
		}
		out[i] = w*ts + (1-w)*cs
	}
	return out
}

// stopWords are English words too common to make a line match.
var stopWords = map[string]bool{
	"a": true, "an": true, "and": true, "at": true, "by": true, "for": true, "from": true, "in": true,
	"is": true, "of": true, "on": true, "or": true, "the": true, "to": true, "with": true,
}

// queryTerms is the set of terms of a query that make a line match.
func queryTerms(q string) map[string]bool {
	out := map[string]bool{}
	for _, t := range fulltext.Terms(q) {
		if !stopWords[t] {
			out[t] = true
		}
	}
	return out
}

// hitText is the text a hit carries: the image's lines, those sharing
// terms with the query first (most shared first), one per line, cut at
// MaxHitTextChars characters.
func hitText(lines []retriever.TextLine, terms map[string]bool) string {
	if len(lines) == 0 {
		return ""
	}
	type ranked struct {
		text    string
		matches int
	}
	rs := make([]ranked, len(lines))
	for i, l := range lines {
		rs[i].text = strings.Join(strings.Fields(l.Text), " ")
		if len(terms) > 0 {
			seen := map[string]bool{}
			for _, t := range fulltext.Terms(l.Text) {
				if terms[t] && !seen[t] {
					seen[t] = true
					rs[i].matches++
				}
			}
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].matches > rs[j].matches })
	var b strings.Builder
	for _, r := range rs {
		if r.text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(r.text)
	}
	return truncate(b.String(), MaxHitTextChars)
}

// truncate cuts s to at most n characters, ending it with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	return strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
}
