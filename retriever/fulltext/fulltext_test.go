package fulltext

import (
	"slices"
	"testing"

	"github.com/cliprag/cliprag/retriever"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ,.;  ", nil},
		{"Fault system", []string{"fault", "system"}},
		{"ＦＡＵＬＴ　Ｓｙｓｔｅｍ １２３", []string{"fault", "system", "123"}}, // full width
		{"PP-OCRv4 (2024)", []string{"pp", "ocrv4", "2024"}},
		{"断裂体系", []string{"断", "裂", "断裂", "体", "裂体", "系", "体系"}},
		{"图1：断裂", []string{"图", "1", "断", "裂", "断裂"}},
		{"Café ÉCOLE", []string{"café", "école"}},
		{"かな カナ", []string{"か", "な", "かな", "カ", "ナ", "カナ"}},
		{"①", []string{"1"}},
	}
	for _, tc := range tests {
		if got := Terms(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Terms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := QueryTerms("map Map MAP 图图"); !slices.Equal(got, []string{"map", "图", "图图"}) {
		t.Errorf("QueryTerms dedup = %q", got)
	}
}

func TestDocLinesApart(t *testing.T) {
	tf, n := Doc([]retriever.TextLine{{Text: "断裂"}, {Text: "体系 map"}})
	if n != 7 || tf["裂体"] != 0 || tf["体系"] != 1 || tf["map"] != 1 {
		t.Errorf("Doc = %v, %d; want no pair across lines, 7 terms", tf, n)
	}
	if tf, n := Doc(nil); tf != nil || n != 0 {
		t.Errorf("Doc(nil) = %v, %d", tf, n)
	}
}

// TestScore: relevance lies in (0, 1]; more of the query ranks higher; a
// document holding only a common part of the query does not match.
func TestScore(t *testing.T) {
	docs := []string{"断裂体系叠合图", "断裂体糸", "体系结构", "the map of the world", "fault system overlay map", "the end"}
	st := Stats{}
	tfs := make([]map[string]int, len(docs))
	lens := make([]int, len(docs))
	for i, d := range docs {
		tfs[i], lens[i] = Doc([]retriever.TextLine{{Text: d}})
		st.Docs++
		st.TotalLen += lens[i]
	}
	score := func(query string) []float32 {
		terms := QueryTerms(query)
		df := make([]int, len(terms))
		for i, term := range terms {
			for _, tf := range tfs {
				if tf[term] > 0 {
					df[i]++
				}
			}
		}
		q := NewQuery(terms, df, st)
		out := make([]float32, len(docs))
		for d, tf := range tfs {
			var a Acc
			for i, term := range terms {
				q.Add(&a, i, tf[term], lens[d])
			}
			if s, ok := q.Score(a); ok {
				if s <= 0 || s > 1 {
					t.Errorf("%q in %q: score %v outside (0, 1]", query, docs[d], s)
				}
				out[d] = s
			}
		}
		return out
	}
	s := score("断裂体系")
	if !(s[0] > s[1] && s[1] > 0 && s[2] == 0) {
		t.Errorf("断裂体系: scores %v; want the full title first, the misread one second, 体系结构 not matching", s)
	}
	s = score("Fault System")
	if !(s[4] > 0 && s[0] == 0 && s[3] == 0) {
		t.Errorf("Fault System: scores %v", s)
	}
	s = score("map of the faults")
	if s[5] != 0 {
		t.Errorf("map of the faults matched %q (only 'the'): %v", docs[5], s)
	}
	if s := score("。，"); slices.ContainsFunc(s, func(x float32) bool { return x != 0 }) {
		t.Errorf("a query without terms matched: %v", s)
	}
}
