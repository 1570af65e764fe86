// Package storetest is the conformance suite every retriever.Store backend
// must pass. A backend's own _test.go calls Run with a function that opens a
// fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) retriever.Store {
//			s, err := local.Open(t.TempDir(), nil)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Run closes every store it opens (once, in a t.Cleanup registered after
// open returns); open registers its own cleanup for anything else it made
// (a temporary directory, a Qdrant collection).
//
// What the suite pins down, beyond the Store doc comments:
//
//   - Times (Payload.ModTime, Payload.IndexedAt, FileEntry.ModTime) must
//     round-trip to at least microsecond precision: the suite's fixtures use
//     whole microseconds, in UTC and in a non-UTC zone, and compares with
//     time.Time.Equal (the zone may change, the instant may not).
//   - Scores are cosine similarities within 1e-4 of an exact float64
//     computation; vectors returned by Get are within 1e-6 of what was stored.
//   - Filter.FolderPrefix matches a folder and the folders below it, by path
//     component: "/a/b" matches "/a/b" and "/a/b/c" but not "/a/bc"; a
//     trailing slash on the prefix is ignored. Tags match labels exactly.
//     Filter conditions are combined with AND. A Filter.MinScore of 0 means
//     no minimum.
//   - A search of an empty collection returns no hits and no error; k larger
//     than the number of matching records returns them all.
//   - Upsert rejects a vector whose length is not the collection's dimension,
//     and so does Search for the query.
//   - Upsert keeps one record per path: a record with a new id at a stored
//     path replaces the record there; a moved record (same id, new path)
//     and a new record at its old path, in one batch, are both kept;
//     records with an empty path never replace each other; a batch with
//     two ids at one path is rejected and writes nothing.
//
// The suite keeps vectors small (dimension 16) and draws them from seeded
// generators, so a failure reproduces.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliprag/cliprag/retriever"
)

// Dim is the vector dimension the suite's collections use.
const Dim = 16

// Model is the model id of the suite's collections.
const Model = "storetest/model-a"

// TextBy is the Payload.TextBy of the suite's records that were read for text.
const TextBy = "storetest/ocr-1"

// scoreTol is how far a backend's score may be from the exact cosine.
const scoreTol = 1e-4

// vecTol is how far a vector returned by Get may be from the stored one.
const vecTol = 1e-6

// Run runs the conformance suite. open must return a new, empty store each
// time it is called; it is called once per subtest.
func Run(t *testing.T, open func(t *testing.T) retriever.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s retriever.Store)
	}{
		{"EnsureAndCollection", testEnsure},
		{"EnsureMismatch", testEnsureMismatch},
		{"UpsertRejectsWrongDim", testUpsertWrongDim},
		{"UpsertInsertReplace", testUpsertReplace},
		{"UpsertReplacesPath", testUpsertReplacesPath},
		{"SearchEmpty", testSearchEmpty},
		{"SearchOrder", testSearchOrder},
		{"SearchKLargerThanCount", testSearchLargeK},
		{"Filters", testFilters},
		{"Get", testGet},
		{"Delete", testDelete},
		{"Files", testFiles},
		{"CountAndTags", testCountTags},
		{"PayloadRoundTrip", testPayloadRoundTrip},
		{"NonUTF8Paths", testNonUTF8Paths},
		{"ConcurrentSearchDuringUpsert", testConcurrent},
		{"TextSearch", testTextSearch},
		{"TextReplaceDelete", testTextReplaceDelete},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// --- fixtures ---

var (
	folders = []string{"/data/a/b", "/data/a/bc", "/data/a/b/c", "/data/x", "/data/a"}
	labels  = []string{"cat", "dog", "car", "tree", "beach"}
	// zone is a non-UTC zone, to check that instants survive a round trip.
	zone = time.FixedZone("UTC+5:30", 5*3600+30*60)
	// base is a time with whole microseconds.
	base = time.Date(2024, 3, 9, 14, 7, 31, 123456000, time.UTC)
)

// unitVector draws a random unit vector of dimension dim.
func unitVector(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

// record builds record i of a fixture; the seed varies vectors and payloads.
func record(rng *rand.Rand, i int) retriever.Record {
	folder := folders[i%len(folders)]
	sha := fmt.Sprintf("%064x", rng.Uint64()) // unique enough for a fixture
	var tags []retriever.Tag
	for _, l := range labels {
		if rng.IntN(3) == 0 {
			tags = append(tags, retriever.Tag{Label: l, Score: float32(rng.IntN(1000)) / 1000})
		}
	}
	mt := base.Add(time.Duration(i) * 1234567 * time.Microsecond)
	if i%2 == 1 {
		mt = mt.In(zone)
	}
	p := retriever.Payload{
		Path:      path.Join(folder, fmt.Sprintf("img%03d.jpg", i)),
		SHA256:    sha,
		Size:      int64(1000 + rng.IntN(1<<20)),
		ModTime:   mt,
		Width:     64 + rng.IntN(4000),
		Height:    64 + rng.IntN(3000),
		Format:    []string{"jpeg", "png", "webp", "gif"}[i%4],
		Folder:    folder,
		Tags:      tags,
		IndexedAt: base.Add(time.Hour + time.Duration(i)*time.Microsecond),
		TagSet:    tagSet(tags),
		Model:     Model,
	}
	// A third of the records were read for text and hold lines, a third
	// were read and hold none, a third were never read.
	switch i % 3 {
	case 0:
		p.TextBy = TextBy
		p.Text = []retriever.TextLine{
			{Text: fmt.Sprintf("图%d 断裂体系", i), Confidence: 0.9375, Box: [4][2]int{{1, 2}, {300, 2}, {300, 40}, {1, 40}}},
			{Text: fmt.Sprintf("Figure %d: fault system", i), Confidence: 0.5, Box: [4][2]int{{-1, 50}, {280, 51}, {281, 80}, {0, 79}}},
		}
	case 1:
		p.TextBy = TextBy
	}
	return retriever.Record{ID: retriever.RecordID(sha, Model), Vector: unitVector(rng, Dim), Payload: p}
}

// tagSet is a tag-set fingerprint for records with tags.
func tagSet(tags []retriever.Tag) string {
	if len(tags) == 0 {
		return ""
	}
	return "ts-" + tags[0].Label
}

// fixture returns n records drawn from seed.
func fixture(seed uint64, n int) []retriever.Record {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	recs := make([]retriever.Record, n)
	for i := range recs {
		recs[i] = record(rng, i)
	}
	return recs
}

func ensure(t *testing.T, s retriever.Store) {
	t.Helper()
	if err := s.Ensure(t.Context(), retriever.Collection{Model: Model, Dim: Dim}); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
}

func upsert(t *testing.T, s retriever.Store, recs []retriever.Record) {
	t.Helper()
	if err := s.Upsert(t.Context(), recs); err != nil {
		t.Fatalf("Upsert %d records: %v", len(recs), err)
	}
}

func count(t *testing.T, s retriever.Store) int {
	t.Helper()
	n, err := s.Count(t.Context())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

// loaded opens a collection holding n fixture records from seed.
func loaded(t *testing.T, s retriever.Store, seed uint64, n int) []retriever.Record {
	t.Helper()
	ensure(t, s)
	recs := fixture(seed, n)
	// Two batches, to exercise more than one call.
	upsert(t, s, recs[:n/2])
	upsert(t, s, recs[n/2:])
	return recs
}

// --- reference semantics ---

func cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

// folderUnder reports whether folder is prefix or below it, by component.
func folderUnder(folder, prefix string) bool {
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" {
		return true
	}
	return folder == prefix || strings.HasPrefix(folder, prefix+"/")
}

func hasTag(p retriever.Payload, label string) bool {
	return slices.ContainsFunc(p.Tags, func(t retriever.Tag) bool { return t.Label == label })
}

// matches is the reference filter: the semantics every backend implements.
func matches(f retriever.Filter, p retriever.Payload, score float64) bool {
	if len(f.AnyTags) > 0 && !slices.ContainsFunc(f.AnyTags, func(l string) bool { return hasTag(p, l) }) {
		return false
	}
	for _, l := range f.AllTags {
		if !hasTag(p, l) {
			return false
		}
	}
	if f.FolderPrefix != "" && !folderUnder(p.Folder, f.FolderPrefix) {
		return false
	}
	if f.MinScore != 0 && score < float64(f.MinScore) {
		return false
	}
	return true
}

type scored struct {
	id    string
	score float64
}

// exact is the reference search: every matching record by descending cosine.
func exact(recs []retriever.Record, q []float32, f retriever.Filter) []scored {
	var out []scored
	for _, r := range recs {
		sc := cosine(q, r.Vector)
		if matches(f, r.Payload, sc) {
			out = append(out, scored{r.ID, sc})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].score > out[j].score })
	return out
}

// checkHits compares a backend's hits with the reference search. It allows
// near ties (within scoreTol) to come in either order.
func checkHits(t *testing.T, recs []retriever.Record, q []float32, k int, f retriever.Filter, hits []retriever.Hit) {
	t.Helper()
	want := exact(recs, q, f)
	if len(want) > k {
		want = want[:k]
	}
	byID := make(map[string]retriever.Record, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
	}
	if len(hits) != len(want) {
		t.Fatalf("filter %+v, k=%d: got %d hits, want %d", f, k, len(hits), len(want))
	}
	seen := map[string]bool{}
	for i, h := range hits {
		r, ok := byID[h.ID]
		if !ok {
			t.Fatalf("hit %d: unknown id %q", i, h.ID)
		}
		if seen[h.ID] {
			t.Fatalf("hit %d: id %q returned twice", i, h.ID)
		}
		seen[h.ID] = true
		trueScore := cosine(q, r.Vector)
		if math.Abs(float64(h.Score)-trueScore) > scoreTol {
			t.Errorf("hit %d (%s): score %.6f, exact cosine %.6f", i, h.ID, h.Score, trueScore)
		}
		if math.Abs(float64(h.Score)-want[i].score) > scoreTol {
			t.Errorf("hit %d: score %.6f (%s), want rank-%d score %.6f (%s)", i, h.Score, h.ID, i, want[i].score, want[i].id)
		}
		if !matches(f, r.Payload, trueScore) {
			t.Errorf("hit %d (%s, folder %s, tags %v) does not match filter %+v", i, h.ID, r.Payload.Folder, r.Payload.Tags, f)
		}
		if h.Payload.Path != r.Payload.Path || h.Payload.SHA256 != r.Payload.SHA256 {
			t.Errorf("hit %d (%s): payload path %q sha %q, want %q %q", i, h.ID, h.Payload.Path, h.Payload.SHA256, r.Payload.Path, r.Payload.SHA256)
		}
	}
}

func search(t *testing.T, s retriever.Store, q []float32, k int, f retriever.Filter) []retriever.Hit {
	t.Helper()
	hits, err := s.Search(t.Context(), q, k, f)
	if err != nil {
		t.Fatalf("Search k=%d filter %+v: %v", k, f, err)
	}
	return hits
}

// --- the tests ---

func testEnsure(t *testing.T, s retriever.Store) {
	ctx := t.Context()
	if c, err := s.Collection(ctx); !errors.Is(err, retriever.ErrNotFound) {
		t.Fatalf("Collection before Ensure = %+v, %v; want an error wrapping ErrNotFound", c, err)
	}
	want := retriever.Collection{Model: Model, Dim: Dim}
	ensure(t, s)
	c, err := s.Collection(ctx)
	if err != nil {
		t.Fatalf("Collection after Ensure: %v", err)
	}
	if c != want {
		t.Fatalf("Collection = %+v, want %+v", c, want)
	}
	// Ensure again with the same collection is a no-op.
	ensure(t, s)
	if got := count(t, s); got != 0 {
		t.Fatalf("Count of a new collection = %d, want 0", got)
	}
	if s.String() == "" {
		t.Error("String() is empty; it should name the store")
	}
}

func testEnsureMismatch(t *testing.T, s retriever.Store) {
	loaded(t, s, 1, 4)
	tests := []struct {
		name string
		c    retriever.Collection
	}{
		{"other model", retriever.Collection{Model: "storetest/model-b", Dim: Dim}},
		{"other dim", retriever.Collection{Model: Model, Dim: Dim * 2}},
		{"both", retriever.Collection{Model: "storetest/model-b", Dim: Dim + 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Ensure(t.Context(), tc.c)
			if !errors.Is(err, retriever.ErrModelMismatch) {
				t.Fatalf("Ensure(%+v) = %v, want an error wrapping ErrModelMismatch", tc.c, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, Model) || !strings.Contains(msg, tc.c.Model) {
				t.Errorf("mismatch message %q should name both %q and %q", msg, Model, tc.c.Model)
			}
			if tc.c.Dim != Dim && (!strings.Contains(msg, fmt.Sprint(Dim)) || !strings.Contains(msg, fmt.Sprint(tc.c.Dim))) {
				t.Errorf("mismatch message %q should name both dims %d and %d", msg, Dim, tc.c.Dim)
			}
		})
	}
	// The failed Ensure calls changed nothing.
	c, err := s.Collection(t.Context())
	if err != nil || c != (retriever.Collection{Model: Model, Dim: Dim}) {
		t.Fatalf("Collection after mismatches = %+v, %v", c, err)
	}
	if got := count(t, s); got != 4 {
		t.Fatalf("Count after mismatches = %d, want 4", got)
	}
}

func testUpsertWrongDim(t *testing.T, s retriever.Store) {
	ensure(t, s)
	recs := fixture(2, 3)
	recs[1].Vector = recs[1].Vector[:Dim-1]
	if err := s.Upsert(t.Context(), recs); err == nil {
		t.Fatal("Upsert with a short vector succeeded, want an error")
	}
	if got := count(t, s); got != 0 {
		t.Errorf("Count after a rejected batch = %d, want 0 (the batch is rejected whole)", got)
	}
	if _, err := s.Search(t.Context(), make([]float32, Dim+3), 3, retriever.Filter{}); err == nil {
		t.Error("Search with a query of the wrong dimension succeeded, want an error")
	}
}

func testUpsertReplace(t *testing.T, s retriever.Store) {
	recs := loaded(t, s, 3, 10)
	// Same batch again: idempotent.
	upsert(t, s, recs)
	if got := count(t, s); got != len(recs) {
		t.Fatalf("Count after upserting the same records twice = %d, want %d", got, len(recs))
	}
	// Replace one record's payload and vector under the same id.
	rng := rand.New(rand.NewPCG(33, 33))
	r := recs[4]
	r.Vector = unitVector(rng, Dim)
	r.Payload.Path = "/data/moved/renamed.jpg"
	r.Payload.Folder = "/data/moved"
	r.Payload.Tags = []retriever.Tag{{Label: "replaced", Score: 0.5}}
	upsert(t, s, []retriever.Record{r})
	if got := count(t, s); got != len(recs) {
		t.Fatalf("Count after replacing a record = %d, want %d", got, len(recs))
	}
	got, err := s.Get(t.Context(), []string{r.ID})
	if err != nil || len(got) != 1 {
		t.Fatalf("Get replaced record = %d records, %v", len(got), err)
	}
	if got[0].Payload.Path != r.Payload.Path || got[0].Payload.Folder != r.Payload.Folder {
		t.Errorf("replaced payload path %q folder %q, want %q %q", got[0].Payload.Path, got[0].Payload.Folder, r.Payload.Path, r.Payload.Folder)
	}
	checkVector(t, got[0].Vector, r.Vector)
	// Search sees the new vector and the new payload, not the old ones.
	recs[4] = r
	hits := search(t, s, r.Vector, 1, retriever.Filter{})
	checkHits(t, recs, r.Vector, 1, retriever.Filter{}, hits)
	if hits[0].ID != r.ID {
		t.Errorf("search by the replaced vector: top hit %s, want %s", hits[0].ID, r.ID)
	}
	tags, err := s.Tags(t.Context())
	if err != nil {
		t.Fatalf("Tags: %v", err)
	}
	if tags["replaced"] != 1 {
		t.Errorf("Tags[replaced] = %d, want 1 (tags %v)", tags["replaced"], tags)
	}
	checkHits(t, recs, r.Vector, 5, retriever.Filter{FolderPrefix: "/data/moved"}, search(t, s, r.Vector, 5, retriever.Filter{FolderPrefix: "/data/moved"}))
}

func testUpsertReplacesPath(t *testing.T, s retriever.Store) {
	ctx := t.Context()
	recs := loaded(t, s, 12, 8)
	rng := rand.New(rand.NewPCG(12, 12))
	at := func(i int, p retriever.Payload) retriever.Record {
		r := record(rng, i)
		r.Payload.Path, r.Payload.Folder = p.Path, p.Folder
		return r
	}
	gone := func(ids ...string) {
		t.Helper()
		got, err := s.Get(ctx, ids)
		if err != nil || len(got) != 0 {
			t.Fatalf("Get(%v) = %d records, %v; want none", ids, len(got), err)
		}
	}
	there := func(ids ...string) {
		t.Helper()
		got, err := s.Get(ctx, ids)
		if err != nil || len(got) != len(ids) {
			t.Fatalf("Get(%v) = %d records, %v; want %d", ids, len(got), err, len(ids))
		}
	}
	// New content at recs[2]'s path: the new record replaces the old one.
	changed := at(100, recs[2].Payload)
	upsert(t, s, []retriever.Record{changed})
	if got := count(t, s); got != len(recs) {
		t.Fatalf("Count after writing new content at a stored path = %d, want %d", got, len(recs))
	}
	gone(recs[2].ID)
	there(changed.ID)
	left := append(slices.Clone(recs[:2]), recs[3:]...)
	left = append(left, changed)
	checkHits(t, left, recs[2].Vector, 3, retriever.Filter{}, search(t, s, recs[2].Vector, 3, retriever.Filter{}))

	// A moved record and a new record at its old path, in one batch.
	moved := recs[3]
	moved.Payload.Path, moved.Payload.Folder = "/data/x/moved.jpg", "/data/x"
	newAtOld := at(101, recs[3].Payload)
	upsert(t, s, []retriever.Record{newAtOld, moved})
	if got := count(t, s); got != len(recs)+1 {
		t.Fatalf("Count after a move and a new file at the old path = %d, want %d", got, len(recs)+1)
	}
	there(moved.ID, newAtOld.ID)
	byPath := map[string][]string{}
	err := s.Files(ctx, func(e retriever.FileEntry) error {
		byPath[e.Path] = append(byPath[e.Path], e.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("Files: %v", err)
	}
	for p, ids := range byPath {
		if len(ids) != 1 {
			t.Errorf("path %s holds %d records %v, want 1", p, len(ids), ids)
		}
	}
	if ids := byPath[moved.Payload.Path]; len(ids) != 1 || ids[0] != moved.ID {
		t.Errorf("moved path holds %v, want [%s]", ids, moved.ID)
	}
	if ids := byPath[recs[3].Payload.Path]; len(ids) != 1 || ids[0] != newAtOld.ID {
		t.Errorf("old path of the moved record holds %v, want [%s]", ids, newAtOld.ID)
	}

	// Records without a path do not replace each other.
	n := count(t, s)
	np1, np2 := record(rng, 102), record(rng, 103)
	np1.Payload.Path, np2.Payload.Path = "", ""
	upsert(t, s, []retriever.Record{np1})
	upsert(t, s, []retriever.Record{np2})
	if got := count(t, s); got != n+2 {
		t.Fatalf("Count after two records without a path = %d, want %d", got, n+2)
	}

	// Two ids at one path in one batch: rejected whole.
	a := at(104, retriever.Payload{Path: "/data/a/twice.jpg", Folder: "/data/a"})
	b := at(105, a.Payload)
	c := record(rng, 106)
	if err := s.Upsert(ctx, []retriever.Record{c, a, b}); err == nil {
		t.Fatal("Upsert of two records with one path in a batch succeeded")
	}
	gone(a.ID, b.ID, c.ID)
	if got := count(t, s); got != n+2 {
		t.Fatalf("Count after a rejected batch = %d, want %d", got, n+2)
	}
}

func testSearchEmpty(t *testing.T, s retriever.Store) {
	ensure(t, s)
	q := unitVector(rand.New(rand.NewPCG(4, 4)), Dim)
	for _, f := range []retriever.Filter{{}, {AnyTags: []string{"cat"}}, {FolderPrefix: "/data"}, {MinScore: 0.1}} {
		hits, err := s.Search(t.Context(), q, 10, f)
		if err != nil {
			t.Fatalf("Search of an empty collection (filter %+v): %v, want no error", f, err)
		}
		if len(hits) != 0 {
			t.Fatalf("Search of an empty collection = %d hits, want 0", len(hits))
		}
	}
}

func testSearchOrder(t *testing.T, s retriever.Store) {
	recs := loaded(t, s, 5, 80)
	rng := rand.New(rand.NewPCG(55, 55))
	for i := range 10 {
		q := unitVector(rng, Dim)
		if i%3 == 0 {
			q = recs[rng.IntN(len(recs))].Vector // a stored vector: it is its own top hit
		}
		for _, k := range []int{1, 5, 20} {
			hits := search(t, s, q, k, retriever.Filter{})
			checkHits(t, recs, q, k, retriever.Filter{}, hits)
			for j := 1; j < len(hits); j++ {
				if hits[j].Score > hits[j-1].Score {
					t.Fatalf("hits not in descending score order at %d: %v > %v", j, hits[j].Score, hits[j-1].Score)
				}
			}
		}
	}
}

func testSearchLargeK(t *testing.T, s retriever.Store) {
	recs := loaded(t, s, 6, 12)
	q := unitVector(rand.New(rand.NewPCG(66, 66)), Dim)
	for _, k := range []int{12, 13, 1000} {
		hits := search(t, s, q, k, retriever.Filter{})
		checkHits(t, recs, q, k, retriever.Filter{}, hits)
	}
}

// minScoreBetween picks a threshold between two consecutive reference scores
// that are well apart, so rounding in a backend cannot move a record across.
func minScoreBetween(t *testing.T, recs []retriever.Record, q []float32) float32 {
	t.Helper()
	all := exact(recs, q, retriever.Filter{})
	for i := len(all) / 4; i+1 < len(all); i++ {
		if all[i].score-all[i+1].score > 1e-2 && all[i+1].score > 0 {
			return float32((all[i].score + all[i+1].score) / 2)
		}
	}
	t.Fatal("fixture has no gap to put a MinScore in")
	return 0
}

func testFilters(t *testing.T, s retriever.Store) {
	recs := loaded(t, s, 7, 120)
	rng := rand.New(rand.NewPCG(77, 77))
	q := unitVector(rng, Dim)
	minScore := minScoreBetween(t, recs, q)
	tests := []struct {
		name string
		f    retriever.Filter
	}{
		{"none", retriever.Filter{}},
		{"any one tag", retriever.Filter{AnyTags: []string{"cat"}}},
		{"any of two tags", retriever.Filter{AnyTags: []string{"cat", "beach"}}},
		{"any unknown tag", retriever.Filter{AnyTags: []string{"no-such-tag"}}},
		{"all of two tags", retriever.Filter{AllTags: []string{"dog", "car"}}},
		{"all of three tags", retriever.Filter{AllTags: []string{"dog", "car", "tree"}}},
		{"folder exact and below", retriever.Filter{FolderPrefix: "/data/a/b"}},
		{"folder trailing slash", retriever.Filter{FolderPrefix: "/data/a/b/"}},
		{"folder sibling not matched", retriever.Filter{FolderPrefix: "/data/a/bc"}},
		{"folder leaf", retriever.Filter{FolderPrefix: "/data/a/b/c"}},
		{"folder parent", retriever.Filter{FolderPrefix: "/data/a"}},
		{"folder partial component", retriever.Filter{FolderPrefix: "/dat"}},
		{"folder root", retriever.Filter{FolderPrefix: "/"}},
		{"min score", retriever.Filter{MinScore: minScore}},
		{"min score above all", retriever.Filter{MinScore: 1.5}},
		{"negative min score", retriever.Filter{MinScore: -1}},
		{"tags and folder", retriever.Filter{AnyTags: []string{"tree", "car"}, FolderPrefix: "/data/a/b"}},
		{"any and all", retriever.Filter{AnyTags: []string{"cat", "dog"}, AllTags: []string{"beach"}}},
		{"everything", retriever.Filter{AnyTags: []string{"cat", "dog", "car"}, AllTags: []string{"tree"}, FolderPrefix: "/data/a", MinScore: minScore / 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []int{3, 10, 200} {
				hits := search(t, s, q, k, tc.f)
				checkHits(t, recs, q, k, tc.f, hits)
			}
		})
	}
	// The sibling case must be real: both folders hold records.
	if n := len(exact(recs, q, retriever.Filter{FolderPrefix: "/data/a/bc"})); n == 0 {
		t.Fatal("fixture has no records in /data/a/bc")
	}
	if len(exact(recs, q, retriever.Filter{FolderPrefix: "/dat"})) != 0 {
		t.Fatal("reference filter matched a partial path component")
	}
}

func checkVector(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("vector length %d, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > vecTol {
			t.Fatalf("vector[%d] = %v, want %v (within %g)", i, got[i], want[i], vecTol)
		}
	}
}

func testGet(t *testing.T, s retriever.Store) {
	recs := loaded(t, s, 8, 20)
	missing := retriever.RecordID(strings.Repeat("0", 64), Model)
	ids := []string{recs[7].ID, missing, recs[2].ID, recs[19].ID, recs[0].ID}
	got, err := s.Get(t.Context(), ids)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := []retriever.Record{recs[7], recs[2], recs[19], recs[0]}
	if len(got) != len(want) {
		t.Fatalf("Get returned %d records, want %d (missing ids skipped)", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("Get[%d].ID = %s, want %s (order kept)", i, got[i].ID, want[i].ID)
		}
		checkVector(t, got[i].Vector, want[i].Vector)
		checkPayload(t, got[i].Payload, want[i].Payload)
	}
	if got, err := s.Get(t.Context(), nil); err != nil || len(got) != 0 {
		t.Errorf("Get(nil) = %d records, %v; want none, no error", len(got), err)
	}
	if got, err := s.Get(t.Context(), []string{missing}); err != nil || len(got) != 0 {
		t.Errorf("Get(missing) = %d records, %v; want none, no error", len(got), err)
	}
}

func testDelete(t *testing.T, s retriever.Store) {
	recs := loaded(t, s, 9, 30)
	missing := retriever.RecordID(strings.Repeat("f", 64), Model)
	del := []string{recs[3].ID, recs[10].ID, missing, recs[29].ID}
	if err := s.Delete(t.Context(), del); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := count(t, s); got != 27 {
		t.Fatalf("Count after deleting 3 = %d, want 27", got)
	}
	got, err := s.Get(t.Context(), del)
	if err != nil || len(got) != 0 {
		t.Fatalf("Get deleted = %d records, %v; want none", len(got), err)
	}
	var left []retriever.Record
	for i, r := range recs {
		if i != 3 && i != 10 && i != 29 {
			left = append(left, r)
		}
	}
	// A deleted record's own vector no longer finds it.
	q := recs[10].Vector
	checkHits(t, left, q, 5, retriever.Filter{}, search(t, s, q, 5, retriever.Filter{}))
	checkHits(t, left, q, 50, retriever.Filter{FolderPrefix: "/data/a"}, search(t, s, q, 50, retriever.Filter{FolderPrefix: "/data/a"}))
	// Deleting again, and deleting nothing, are not errors.
	if err := s.Delete(t.Context(), del); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
	if err := s.Delete(t.Context(), nil); err != nil {
		t.Fatalf("Delete(nil): %v", err)
	}
	// Deleted ids can be inserted again.
	upsert(t, s, []retriever.Record{recs[3]})
	if got := count(t, s); got != 28 {
		t.Fatalf("Count after re-inserting one = %d, want 28", got)
	}
}

func testFiles(t *testing.T, s retriever.Store) {
	recs := loaded(t, s, 10, 25)
	got := map[string]retriever.FileEntry{}
	err := s.Files(t.Context(), func(e retriever.FileEntry) error {
		if _, dup := got[e.ID]; dup {
			return fmt.Errorf("id %s listed twice", e.ID)
		}
		got[e.ID] = e
		return nil
	})
	if err != nil {
		t.Fatalf("Files: %v", err)
	}
	if len(got) != len(recs) {
		t.Fatalf("Files listed %d entries, want %d", len(got), len(recs))
	}
	for _, r := range recs {
		e, ok := got[r.ID]
		if !ok {
			t.Fatalf("Files did not list %s", r.ID)
		}
		if e.Path != r.Payload.Path || e.SHA256 != r.Payload.SHA256 || e.Size != r.Payload.Size || !e.ModTime.Equal(r.Payload.ModTime) || e.TagSet != r.Payload.TagSet || e.TextBy != r.Payload.TextBy {
			t.Errorf("FileEntry %+v, want path %s sha %s size %d mtime %s tag set %q text by %q", e, r.Payload.Path, r.Payload.SHA256, r.Payload.Size, r.Payload.ModTime, r.Payload.TagSet, r.Payload.TextBy)
		}
	}
	// fn's error stops the listing and comes back.
	stop := errors.New("stop here")
	calls := 0
	err = s.Files(t.Context(), func(retriever.FileEntry) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Files with fn failing = %v, want an error wrapping fn's", err)
	}
	if calls != 3 {
		t.Errorf("Files called fn %d times after it failed on the 3rd, want 3", calls)
	}
}

func testCountTags(t *testing.T, s retriever.Store) {
	recs := loaded(t, s, 11, 40)
	if got := count(t, s); got != len(recs) {
		t.Fatalf("Count = %d, want %d", got, len(recs))
	}
	want := map[string]int{}
	for _, r := range recs {
		for _, tg := range r.Payload.Tags {
			want[tg.Label]++
		}
	}
	got, err := s.Tags(t.Context())
	if err != nil {
		t.Fatalf("Tags: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("Tags = %v, want %v", got, want)
	}
	for l, n := range want {
		if got[l] != n {
			t.Errorf("Tags[%q] = %d, want %d", l, got[l], n)
		}
	}
	// Deleting updates the counts.
	if err := s.Delete(t.Context(), []string{recs[0].ID, recs[1].ID}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, r := range recs[:2] {
		for _, tg := range r.Payload.Tags {
			want[tg.Label]--
			if want[tg.Label] == 0 {
				delete(want, tg.Label)
			}
		}
	}
	got, err = s.Tags(t.Context())
	if err != nil {
		t.Fatalf("Tags after delete: %v", err)
	}
	for l, n := range want {
		if got[l] != n {
			t.Errorf("after delete Tags[%q] = %d, want %d", l, got[l], n)
		}
	}
	for l, n := range got {
		if want[l] != n {
			t.Errorf("after delete Tags has %q = %d, want %d", l, n, want[l])
		}
	}
}

func checkPayload(t *testing.T, got, want retriever.Payload) {
	t.Helper()
	if !got.ModTime.Equal(want.ModTime) {
		t.Errorf("%s: ModTime %s, want %s (microsecond precision)", want.Path, got.ModTime.Format(time.RFC3339Nano), want.ModTime.Format(time.RFC3339Nano))
	}
	if !got.IndexedAt.Equal(want.IndexedAt) {
		t.Errorf("%s: IndexedAt %s, want %s (microsecond precision)", want.Path, got.IndexedAt.Format(time.RFC3339Nano), want.IndexedAt.Format(time.RFC3339Nano))
	}
	g, w := got, want
	g.ModTime, g.IndexedAt, w.ModTime, w.IndexedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(g.Tags) == 0 && len(w.Tags) == 0 {
		g.Tags, w.Tags = nil, nil
	}
	if len(g.Text) == 0 && len(w.Text) == 0 {
		g.Text, w.Text = nil, nil
	}
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
		t.Errorf("payload round trip:\n got %+v\nwant %+v", g, w)
	}
}

func testPayloadRoundTrip(t *testing.T, s retriever.Store) {
	ensure(t, s)
	recs := fixture(12, 6)
	// Edge cases: no tags, unicode and spaces in paths, zero size, a tag
	// with score 0 and one with 1, times far from now.
	recs[0].Payload.Tags = nil
	recs[1].Payload.Path = "/data/ünïcødé dir/photo (1) 日本.jpg"
	recs[1].Payload.Folder = "/data/ünïcødé dir"
	recs[2].Payload.Size = 0
	recs[2].Payload.Tags = []retriever.Tag{{Label: "zero", Score: 0}, {Label: "one", Score: 1}, {Label: "multi word label", Score: 0.333}}
	recs[3].Payload.ModTime = time.Date(1999, 12, 31, 23, 59, 59, 999999000, zone)
	recs[4].Payload.IndexedAt = time.Date(2107, 1, 2, 3, 4, 5, 6000, time.UTC)
	// Text: full-width and astral characters, an empty line, confidence
	// 0 and 1, a box with negative and large coordinates.
	recs[5].Payload.TextBy = "other-ocr/v2 det=960"
	recs[5].Payload.Text = []retriever.TextLine{
		{Text: "ＦＵＬＬ　ｗｉｄｔｈ １２３ 𝔘𝔫𝔦 😀", Confidence: 1, Box: [4][2]int{{-5, -6}, {70000, 0}, {70000, 123456}, {0, 123456}}},
		{Text: "", Confidence: 0},
	}
	upsert(t, s, recs)
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	got, err := s.Get(t.Context(), ids)
	if err != nil || len(got) != len(recs) {
		t.Fatalf("Get = %d records, %v; want %d", len(got), err, len(recs))
	}
	for i := range recs {
		checkPayload(t, got[i].Payload, recs[i].Payload)
	}
	// Hits carry the same payload.
	hits := search(t, s, recs[1].Vector, 1, retriever.Filter{FolderPrefix: "/data/ünïcødé dir"})
	if len(hits) != 1 || hits[0].ID != recs[1].ID {
		t.Fatalf("search in a unicode folder = %+v, want %s", hits, recs[1].ID)
	}
	checkPayload(t, hits[0].Payload, recs[1].Payload)
	hits = search(t, s, recs[5].Vector, 1, retriever.Filter{})
	if len(hits) != 1 || hits[0].ID != recs[5].ID {
		t.Fatalf("search for record 5 = %+v, want %s", hits, recs[5].ID)
	}
	checkPayload(t, hits[0].Payload, recs[5].Payload)
	hits = search(t, s, recs[2].Vector, 3, retriever.Filter{AllTags: []string{"multi word label", "zero"}})
	if len(hits) != 1 || hits[0].ID != recs[2].ID {
		t.Fatalf("search by tags with spaces = %+v, want %s", hits, recs[2].ID)
	}
}

// testNonUTF8Paths: file names are bytes; a path that is not UTF-8
// (Latin-1, Shift JIS, arbitrary bytes) comes back from Get, Files and
// Search byte for byte, and a folder filter on such a folder matches.
func testNonUTF8Paths(t *testing.T, s retriever.Store) {
	ensure(t, s)
	recs := fixture(13, 4)
	paths := []struct{ folder, path string }{
		{"/data/caf\xe9", "/data/caf\xe9/cr\xe8me.jpg"},
		{"/data/\x83\x4c\x83\x83", "/data/\x83\x4c\x83\x83/\xff\xfe.png"},
		{"/data/ok", `/data/ok/literal \xe9.jpg`}, // valid UTF-8 that spells the escape of the next one
		{"/data/ok", "/data/ok/literal \xe9.jpg"},
	}
	for i, p := range paths {
		recs[i].Payload.Path, recs[i].Payload.Folder = p.path, p.folder
	}
	upsert(t, s, recs)
	got, err := s.Get(t.Context(), []string{recs[0].ID, recs[1].ID, recs[2].ID, recs[3].ID})
	if err != nil || len(got) != 4 {
		t.Fatalf("Get = %d records, %v", len(got), err)
	}
	for i := range got {
		if got[i].Payload.Path != paths[i].path || got[i].Payload.Folder != paths[i].folder {
			t.Errorf("Get: path %q folder %q, want %q %q", got[i].Payload.Path, got[i].Payload.Folder, paths[i].path, paths[i].folder)
		}
	}
	files := map[string]string{}
	if err := s.Files(t.Context(), func(e retriever.FileEntry) error { files[e.ID] = e.Path; return nil }); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if files[r.ID] != paths[i].path {
			t.Errorf("Files: path %q, want %q", files[r.ID], paths[i].path)
		}
	}
	for i, r := range recs[:2] {
		hits := search(t, s, r.Vector, 3, retriever.Filter{FolderPrefix: paths[i].folder})
		if len(hits) != 1 || hits[0].ID != r.ID || hits[0].Payload.Path != paths[i].path {
			t.Errorf("search in folder %q = %+v, want %s at %q", paths[i].folder, hits, r.ID, paths[i].path)
		}
	}
}

func testConcurrent(t *testing.T, s retriever.Store) {
	ensure(t, s)
	const batches, per = 20, 10
	recs := fixture(13, batches*per)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			prev := 0
			for ctx.Err() == nil {
				q := unitVector(rng, Dim)
				f := retriever.Filter{}
				if g%2 == 1 {
					f.FolderPrefix = "/data/a"
				}
				hits, err := s.Search(ctx, q, 10, f)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					errs <- fmt.Errorf("search during upserts: %w", err)
					return
				}
				if len(hits) > 10 {
					errs <- fmt.Errorf("search returned %d hits for k=10", len(hits))
					return
				}
				if f.FolderPrefix == "" && len(hits) < prev {
					errs <- fmt.Errorf("search returned %d hits after %d while only inserting", len(hits), prev)
					return
				}
				prev = len(hits)
				for i := 1; i < len(hits); i++ {
					if hits[i].Score > hits[i-1].Score {
						errs <- fmt.Errorf("hits out of order during upserts")
						return
					}
				}
			}
		})
	}
	for b := range batches {
		if err := s.Upsert(ctx, recs[b*per:(b+1)*per]); err != nil {
			t.Errorf("Upsert batch %d during searches: %v", b, err)
			break
		}
		if _, err := s.Count(ctx); err != nil {
			t.Errorf("Count during searches: %v", err)
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := count(t, s); got != len(recs) {
		t.Fatalf("Count after concurrent upserts = %d, want %d", got, len(recs))
	}
	q := recs[0].Vector
	checkHits(t, recs, q, 10, retriever.Filter{}, search(t, s, q, 10, retriever.Filter{}))
}
