package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/cliprag/cliprag/retriever"
)

// The full-text cases run for stores that implement retriever.TextSearcher.
// What they pin down: a query matches the text read in images whatever its
// case and width (ＦＡＵＬＴ finds "Fault"); a Chinese title is found
// inside a longer line (断裂体系 in 断裂体系叠合图); a match on a
// common part of the query alone (图) is no match; scores lie in (0, 1],
// best first; Filter applies; replacing a record's text, replacing the
// record at its path, and deleting it update the index; a query without a
// match returns no hits and no error.

func textSearcher(t *testing.T, s retriever.Store) retriever.TextSearcher {
	t.Helper()
	ts, ok := s.(retriever.TextSearcher)
	if !ok {
		t.Skipf("%T does not implement retriever.TextSearcher", s)
	}
	return ts
}

func searchText(t *testing.T, ts retriever.TextSearcher, q string, k int, f retriever.Filter) []retriever.Hit {
	t.Helper()
	hits, err := ts.SearchText(t.Context(), q, k, f)
	if err != nil {
		t.Fatalf("SearchText(%q, %d, %+v): %v", q, k, f, err)
	}
	for i, h := range hits {
		if !(h.Score > 0 && h.Score <= 1) {
			t.Errorf("SearchText(%q): hit %d score %v outside (0, 1]", q, i, h.Score)
		}
		if i > 0 && h.Score > hits[i-1].Score {
			t.Errorf("SearchText(%q): hits out of order: %v after %v", q, h.Score, hits[i-1].Score)
		}
	}
	return hits
}

func hitIDs(hits []retriever.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

func lines(texts ...string) []retriever.TextLine {
	out := make([]retriever.TextLine, len(texts))
	for i, s := range texts {
		out[i] = retriever.TextLine{Text: s, Confidence: 0.9, Box: [4][2]int{{0, 40 * i}, {100, 40 * i}, {100, 40*i + 30}, {0, 40*i + 30}}}
	}
	return out
}

// textFixture is six records: four with text, one read without text, one
// never read.
func textFixture(seed uint64) []retriever.Record {
	recs := fixture(seed, 6)
	texts := [][]string{
		{"断裂体系叠合图", "Fault system overlay map"},
		{"构造单元划分图", "Tectonic unit map"},
		{"ＱＵＡＲＴＥＲＬＹ Ｒｅｐｏｒｔ ２０２４"},
		{"Fault", "fault lines and FAULT zones", "fault"},
		nil,
		nil,
	}
	for i := range recs {
		recs[i].Payload.Text, recs[i].Payload.TextBy = lines(texts[i]...), TextBy
		if texts[i] == nil {
			recs[i].Payload.Text = nil
		}
		recs[i].Payload.Tags = []retriever.Tag{{Label: fmt.Sprintf("t%d", i%2), Score: 0.5}}
		recs[i].Payload.TagSet = "ts"
	}
	recs[5].Payload.TextBy = ""
	return recs
}

func testTextSearch(t *testing.T, s retriever.Store) {
	ts := textSearcher(t, s)
	ensure(t, s)
	recs := textFixture(20)
	upsert(t, s, recs)
	id := func(i int) string { return recs[i].ID }
	tests := []struct {
		q     string
		k     int
		f     retriever.Filter
		first string   // the best hit ("" for none)
		all   []string // when set, exactly these hits in any order
		not   []string // never among the hits
	}{
		{q: "断裂体系", k: 10, first: id(0), not: []string{id(1)}},
		{q: "叠合图", k: 10, first: id(0), not: []string{id(1)}},
		{q: "fault SYSTEM overlay", k: 10, first: id(0)},
		{q: "ｆａｕｌｔ　ｓｙｓｔｅｍ", k: 10, first: id(0)},             // full width
		{q: "quarterly report", k: 10, all: []string{id(2)}}, // full width in the text
		{q: "2024", k: 10, all: []string{id(2)}},
		{q: "tectonic", k: 10, all: []string{id(1)}},
		{q: "map", k: 10, all: []string{id(0), id(1)}},
		{q: "map", k: 1, first: "?"}, // one of the two
		{q: "fault", k: 10, first: id(3), all: []string{id(0), id(3)}},
		{q: "map", k: 10, f: retriever.Filter{FolderPrefix: recs[1].Payload.Folder}, all: []string{id(1)}},
		{q: "map", k: 10, f: retriever.Filter{AnyTags: []string{"t0"}}, all: []string{id(0)}},
		{q: "map", k: 10, f: retriever.Filter{AllTags: []string{"t1"}}, all: []string{id(1)}},
		{q: "map", k: 10, f: retriever.Filter{AllTags: []string{"t1", "t0"}}, all: []string{}},
		{q: "xyzzy", k: 10, all: []string{}},
		{q: "图", k: 10, all: []string{id(0), id(1)}},
		{q: "。，!", k: 10, all: []string{}},
		{q: "", k: 10, all: []string{}},
		{q: "map", k: 0, all: []string{}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/k=%d/%+v", tc.q, tc.k, tc.f), func(t *testing.T) {
			hits := searchText(t, ts, tc.q, tc.k, tc.f)
			got := hitIDs(hits)
			if len(hits) > tc.k {
				t.Errorf("%d hits for k=%d", len(hits), tc.k)
			}
			if tc.first != "" && (len(got) == 0 || tc.first != "?" && got[0] != tc.first) {
				t.Errorf("hits %v, want %s first", got, tc.first)
			}
			if tc.all != nil && !sameSet(got, tc.all) {
				t.Errorf("hits %v, want %v", got, tc.all)
			}
			for _, n := range tc.not {
				for _, g := range got {
					if g == n {
						t.Errorf("hits %v hold %s", got, n)
					}
				}
			}
		})
	}
	// A hit carries the record's payload, text included.
	hits := searchText(t, ts, "断裂体系", 1, retriever.Filter{})
	if len(hits) != 1 {
		t.Fatalf("断裂体系: %d hits", len(hits))
	}
	checkPayload(t, hits[0].Payload, recs[0].Payload)
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func testTextReplaceDelete(t *testing.T, s retriever.Store) {
	ts := textSearcher(t, s)
	ensure(t, s)
	recs := textFixture(21)
	upsert(t, s, recs)
	find := func(q string, want ...string) {
		t.Helper()
		got := hitIDs(searchText(t, ts, q, 10, retriever.Filter{}))
		if want == nil {
			want = []string{}
		}
		if !sameSet(got, want) {
			t.Errorf("SearchText(%q) = %v, want %v", q, got, want)
		}
	}
	// New text for the same record replaces the old.
	r0 := recs[0]
	r0.Payload.Text = lines("Seismic profile", "地震剖面")
	upsert(t, s, []retriever.Record{r0})
	find("断裂体系")
	find("seismic profile", r0.ID)
	find("地震剖面", r0.ID)
	// Read again, no text: nothing left to find.
	r0.Payload.Text = nil
	upsert(t, s, []retriever.Record{r0})
	find("seismic")
	// A new record at a stored path (the file's new content) replaces the
	// old record and its text.
	r1 := recs[1]
	r1.ID = retriever.RecordID(fmt.Sprintf("%064x", 77), Model)
	r1.Payload.SHA256 = fmt.Sprintf("%064x", 77)
	r1.Payload.Text = lines("Gravity anomaly")
	upsert(t, s, []retriever.Record{r1})
	find("tectonic")
	find("gravity anomaly", r1.ID)
	// The same text twice: both found; deleting one leaves the other.
	r2 := recs[2]
	r2.Payload.Text = lines("Gravity anomaly")
	upsert(t, s, []retriever.Record{r2})
	find("gravity", r1.ID, r2.ID)
	if err := s.Delete(t.Context(), []string{r1.ID}); err != nil {
		t.Fatal(err)
	}
	find("gravity", r2.ID)
	find("anomaly", r2.ID)
	// The text comes back with the record.
	upsert(t, s, []retriever.Record{r1})
	find("gravity", r1.ID, r2.ID)
	got, err := s.Get(t.Context(), []string{r1.ID})
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Payload.Text, r1.Payload.Text) {
		t.Errorf("Get after re-insert = %+v, %v", got, err)
	}
}
