// Package fulltext is the tokenizer and scorer behind the stores' full-text
// search over the text read in images (retriever.Payload.Text). Both stores
// use it, so a query ranks the same way in each: the embedded store keeps
// an inverted index of these terms; the Qdrant store asks its own text
// index for candidates and ranks them here.
//
// Text is normalised with NFKC (full-width Ａ and １ become A and 1,
// compatibility ideographs their unified forms) and lower-cased. Then:
//
//   - a run of letters, digits and marks outside the CJK scripts is a word
//     ("Fault", "PP", "OCRv4", "2024");
//   - a run of Han, Hiragana, Katakana or Hangul characters, which are
//     written without spaces, gives each character and each pair of
//     neighbours ("断裂体系" → 断 裂 体 系 断裂 裂体 体系), so a query
//     finds a title inside a longer line and survives one misread
//     character;
//   - everything else (spaces, punctuation, symbols) separates terms, and
//     terms never span two lines.
//
// A document's relevance is BM25 (k1 = 1.2, b = 0.75) over the query's
// distinct terms, divided by the most the query could score, so it lies in
// (0, 1]. A document matches when the terms it holds carry at least half
// of the query's weight (the sum of the terms' IDF): a stray common word
// or character is not a match, a title with one misread character is.
package fulltext

import (
	"math"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/cliprag/cliprag/retriever"
)

// BM25 parameters.
const (
	K1 = 1.2
	B  = 0.75
	// MinShare is the share of a query's IDF weight a document must hold
	// to match.
	MinShare = 0.5
)

// isCJK reports whether r belongs to a script written without spaces
// between words, which is indexed by characters and pairs.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func isWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// Normalize returns s as terms are made of it: NFKC, lower-cased.
func Normalize(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

// appendTerms appends the terms of one line of text to out, in order,
// repeats included.
func appendTerms(out []string, s string) []string {
	s = Normalize(s)
	var word strings.Builder
	var prev rune // the previous CJK character, 0 after anything else
	flush := func() {
		if word.Len() > 0 {
			out = append(out, word.String())
			word.Reset()
		}
	}
	for _, r := range s {
		switch {
		case isCJK(r):
			flush()
			out = append(out, string(r))
			if prev != 0 {
				out = append(out, string([]rune{prev, r}))
			}
			prev = r
			continue
		case isWord(r):
			word.WriteRune(r)
		default:
			flush()
		}
		prev = 0
	}
	flush()
	return out
}

// Terms returns the terms of s, in order, repeats included.
func Terms(s string) []string { return appendTerms(nil, s) }

// QueryTerms returns the distinct terms of a query, in order of first
// appearance.
func QueryTerms(q string) []string {
	var out []string
	for _, t := range Terms(q) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Doc returns the term frequencies of a record's text and its length (the
// number of terms, repeats included); nil and 0 when it has none.
func Doc(lines []retriever.TextLine) (tf map[string]int, length int) {
	var terms []string
	for _, l := range lines {
		terms = appendTerms(terms, l.Text)
	}
	if len(terms) == 0 {
		return nil, 0
	}
	tf = make(map[string]int, len(terms))
	for _, t := range terms {
		tf[t]++
	}
	return tf, len(terms)
}

// Stats are the collection statistics BM25 needs.
type Stats struct {
	Docs     int // documents with at least one term
	TotalLen int // sum of their lengths
}

// IDF returns the inverse document frequency of a term found in df of the
// collection's documents (BM25's, which stays positive).
func (s Stats) IDF(df int) float64 {
	n := float64(max(s.Docs, df))
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

// termScore is the part of BM25 a term with frequency tf gives a document of
// length dl, before its IDF; at most K1+1.
func (s Stats) termScore(tf, dl int) float64 {
	avg := 1.0
	if s.Docs > 0 && s.TotalLen > 0 {
		avg = float64(s.TotalLen) / float64(s.Docs)
	}
	f := float64(tf)
	return f * (K1 + 1) / (f + K1*(1-B+B*float64(dl)/avg))
}

// Query is a query prepared against a collection: its terms with their
// IDFs.
type Query struct {
	Terms []string
	IDF   []float64
	stats Stats
	total float64 // sum of IDF
}

// NewQuery prepares the query's terms; df[i] is the number of documents
// holding Terms[i].
func NewQuery(terms []string, df []int, st Stats) *Query {
	q := &Query{Terms: terms, IDF: make([]float64, len(terms)), stats: st}
	for i := range terms {
		q.IDF[i] = st.IDF(df[i])
		q.total += q.IDF[i]
	}
	return q
}

// Acc accumulates one document's score term by term.
type Acc struct {
	bm25, weight float64
}

// Add adds query term i, found tf times in a document of length dl.
func (q *Query) Add(a *Acc, i, tf, dl int) {
	if tf <= 0 {
		return
	}
	a.bm25 += q.IDF[i] * q.stats.termScore(tf, dl)
	a.weight += q.IDF[i]
}

// Score returns the document's relevance in (0, 1], and whether it holds
// enough of the query to match.
func (q *Query) Score(a Acc) (float32, bool) {
	if q.total <= 0 || a.weight < MinShare*q.total-1e-9 {
		return 0, false
	}
	return float32(a.bm25 / (q.total * (K1 + 1))), true
}
