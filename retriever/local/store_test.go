package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/viterin/vek/vek32"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/storetest"
)

func TestConformanceDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) retriever.Store {
		s, err := Open(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) retriever.Store { return OpenMemory(nil) })
}

const testModel = "test/model"

func unit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	normalize(v)
	return v
}

func testRecords(seed uint64, from, n, dim int) []retriever.Record {
	rng := rand.New(rand.NewPCG(seed, uint64(from)))
	recs := make([]retriever.Record, n)
	for i := range recs {
		j := from + i
		sha := fmt.Sprintf("%064x", j)
		folder := fmt.Sprintf("/img/f%02d", j%17)
		recs[i] = retriever.Record{
			ID:     retriever.RecordID(sha, testModel),
			Vector: unit(rng, dim),
			Payload: retriever.Payload{
				Path: fmt.Sprintf("%s/%06d.jpg", folder, j), SHA256: sha, Size: int64(j), Folder: folder,
				ModTime: time.Unix(int64(j), 0).UTC(), Model: testModel,
				Tags: []retriever.Tag{{Label: fmt.Sprintf("t%d", j%5), Score: 0.5}},
			},
		}
	}
	return recs
}

func mustOpen(t *testing.T, dir string, opts *Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: 24}); err != nil {
		t.Fatal(err)
	}
	recs := testRecords(1, 0, 300, 24)
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, []string{recs[0].ID, recs[1].ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Count(ctx); err == nil {
		t.Error("Count on a closed store succeeded")
	}

	s2 := mustOpen(t, dir, nil)
	c, err := s2.Collection(ctx)
	if err != nil || c != (retriever.Collection{Model: testModel, Dim: 24}) {
		t.Fatalf("Collection after reopen = %+v, %v", c, err)
	}
	if n, _ := s2.Count(ctx); n != 298 {
		t.Fatalf("Count after reopen = %d, want 298", n)
	}
	got, err := s2.Get(ctx, []string{recs[0].ID, recs[5].ID})
	if err != nil || len(got) != 1 || got[0].ID != recs[5].ID {
		t.Fatalf("Get after reopen = %v, %v", got, err)
	}
	for i, x := range got[0].Vector {
		if math.Abs(float64(x-recs[5].Vector[i])) > 1e-6 {
			t.Fatalf("vector[%d] = %v after reopen, want %v", i, x, recs[5].Vector[i])
		}
	}
	hits, err := s2.Search(ctx, recs[7].Vector, 1, retriever.Filter{})
	if err != nil || len(hits) != 1 || hits[0].ID != recs[7].ID {
		t.Fatalf("Search after reopen = %v, %v", hits, err)
	}
	err = s2.Ensure(ctx, retriever.Collection{Model: "other/model", Dim: 24})
	var me *retriever.MismatchError
	if !errors.As(err, &me) || me.Store != s2.String() {
		t.Fatalf("Ensure with another model after reopen = %v, want a MismatchError naming %s", err, s2)
	}
}

func TestInvalidInput(t *testing.T) {
	ctx := t.Context()
	s := OpenMemory(nil)
	t.Cleanup(func() { s.Close() })
	if err := s.Upsert(ctx, testRecords(1, 0, 1, 8)); !errors.Is(err, retriever.ErrNotFound) {
		t.Errorf("Upsert before Ensure = %v, want ErrNotFound", err)
	}
	if _, err := s.Search(ctx, make([]float32, 8), 3, retriever.Filter{}); !errors.Is(err, retriever.ErrNotFound) {
		t.Errorf("Search before Ensure = %v, want ErrNotFound", err)
	}
	if err := s.Ensure(ctx, retriever.Collection{Model: "", Dim: 8}); err == nil {
		t.Error("Ensure with no model succeeded")
	}
	if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: 0}); err == nil {
		t.Error("Ensure with dim 0 succeeded")
	}
	if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: 8}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(r *retriever.Record)
	}{
		{"zero vector", func(r *retriever.Record) { r.Vector = make([]float32, 8) }},
		{"NaN vector", func(r *retriever.Record) { r.Vector[3] = float32(math.NaN()) }},
		{"no id", func(r *retriever.Record) { r.ID = "" }},
		{"long vector", func(r *retriever.Record) { r.Vector = append(r.Vector, 1) }},
	}
	for _, tc := range tests {
		recs := testRecords(2, 0, 3, 8)
		tc.edit(&recs[2])
		if err := s.Upsert(ctx, recs); err == nil {
			t.Errorf("%s: Upsert succeeded, want an error", tc.name)
		}
	}
	if n, _ := s.Count(ctx); n != 0 {
		t.Errorf("Count after rejected batches = %d, want 0", n)
	}
	if _, err := s.Search(ctx, make([]float32, 8), 3, retriever.Filter{}); err == nil {
		t.Error("Search with a zero query succeeded")
	}
	// Vectors that are not unit length are normalised: cosine, not dot.
	recs := testRecords(3, 0, 2, 8)
	for i := range recs[0].Vector {
		recs[0].Vector[i] *= 3
	}
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search(ctx, recs[0].Vector, 1, retriever.Filter{})
	if err != nil || len(hits) != 1 || math.Abs(float64(hits[0].Score)-1) > 1e-5 {
		t.Fatalf("search by a scaled vector = %+v, %v; want score 1", hits, err)
	}
	if hits, err := s.Search(ctx, recs[1].Vector, 0, retriever.Filter{}); err != nil || len(hits) != 0 {
		t.Errorf("k=0 search = %v, %v; want no hits", hits, err)
	}
}

func TestSecondWriterGetsClearError(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, nil)
	start := time.Now()
	_, err := Open(dir, &Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer Open = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("second writer gave up after %s, want about the lock timeout", d)
	}
	msg := err.Error()
	for _, want := range []string{dir, fmt.Sprintf("pid %d", os.Getpid()), "retry", "read-only"} {
		if !strings.Contains(msg, want) {
			t.Errorf("lock error %q does not mention %q", msg, want)
		}
	}
}

func TestReadOnlyWhileWriting(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing"), &Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read-only Open of a missing index = %v, want fs.ErrNotExist", err)
	}
	w := mustOpen(t, dir, nil)
	if err := w.Ensure(ctx, retriever.Collection{Model: testModel, Dim: 16}); err != nil {
		t.Fatal(err)
	}
	if err := w.Upsert(ctx, testRecords(4, 0, 100, 16)); err != nil {
		t.Fatal(err)
	}
	// The writer is still open: readers get in anyway.
	r := mustOpen(t, dir, &Options{ReadOnly: true, RefreshInterval: 20 * time.Millisecond})
	r2 := mustOpen(t, dir, &Options{ReadOnly: true})
	for _, s := range []*Store{r, r2} {
		if n, err := s.Count(ctx); err != nil || n != 100 {
			t.Fatalf("reader Count = %d, %v; want 100", n, err)
		}
	}
	if err := r.Upsert(ctx, testRecords(4, 100, 1, 16)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Upsert on a read-only store = %v, want ErrReadOnly", err)
	}
	if err := r.Delete(ctx, []string{"x"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Delete on a read-only store = %v, want ErrReadOnly", err)
	}
	// The reader picks up the writer's later commits.
	more := testRecords(4, 100, 50, 16)
	if err := w.Upsert(ctx, more); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := r.Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 150 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader still sees %d records 10s after the writer committed 150", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	hits, err := r.Search(ctx, more[3].Vector, 1, retriever.Filter{})
	if err != nil || len(hits) != 1 || hits[0].ID != more[3].ID {
		t.Fatalf("reader search for a new record = %v, %v", hits, err)
	}
}

// clustered draws n unit vectors around nc random centres, like real
// embeddings, which cluster by subject.
func clustered(rng *rand.Rand, n, nc, dim int, spread float64) [][]float32 {
	centres := make([][]float32, nc)
	for i := range centres {
		centres[i] = unit(rng, dim)
	}
	out := make([][]float32, n)
	for i := range out {
		c := centres[rng.IntN(nc)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = c[j] + float32(spread*rng.NormFloat64()/math.Sqrt(float64(dim)))
		}
		normalize(v)
		out[i] = v
	}
	return out
}

// nearData returns a query near the data, as a text query is near the
// images it describes: a stored vector plus noise (cosine 0.45–0.9).
func nearData(rng *rand.Rand, vecs [][]float32) []float32 {
	v := vecs[rng.IntN(len(vecs))]
	noise := unit(rng, len(v))
	l := float32(0.5 + 1.5*rng.Float64())
	q := make([]float32, len(v))
	for i := range q {
		q[i] = v[i] + l*noise[i]
	}
	normalize(q)
	return q
}

func TestIVFRecallAndFilters(t *testing.T) {
	ctx := t.Context()
	const n, dim = 30000, 48
	rng := rand.New(rand.NewPCG(9, 9))
	vecs := clustered(rng, n, 200, dim, 1.0)
	s := OpenMemory(&Options{ExactThreshold: 5000, BuildDelay: time.Hour})
	t.Cleanup(func() { s.Close() })
	ex := OpenMemory(&Options{ExactThreshold: -1})
	t.Cleanup(func() { ex.Close() })
	for _, st := range []*Store{s, ex} {
		if err := st.Ensure(ctx, retriever.Collection{Model: testModel, Dim: dim}); err != nil {
			t.Fatal(err)
		}
	}
	recs := testRecords(5, 0, n, dim)
	for i := range recs {
		recs[i].Vector = vecs[i]
	}
	for lo := 0; lo < n; lo += 1000 {
		for _, st := range []*Store{s, ex} {
			if err := st.Upsert(ctx, recs[lo:lo+1000]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if info := s.Index(); info.Kind != "flat" || info.Builds != 0 {
		t.Fatalf("index during the bulk load = %+v, want flat and no build yet (BuildDelay)", info)
	}
	if err := s.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	info := s.Index()
	if info.Kind != "ivf" || info.Builds != 1 {
		t.Fatalf("index of %d records = %+v, want ivf, built once", n, info)
	}
	t.Logf("IVF: %+v", info)
	// The flat store is exact: its hits are the brute-force ones.
	for range 20 {
		q := nearData(rng, vecs)
		got, err := ex.Search(ctx, q, 10, retriever.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(recs, q, 10)
		for i := range want {
			if got[i].ID != want[i] {
				t.Fatalf("flat search hit %d = %s, brute force %s", i, got[i].ID, want[i])
			}
		}
	}
	recallOf := func(f retriever.Filter, k int, random bool) float64 {
		found, total := 0, 0
		for range 100 {
			q := nearData(rng, vecs)
			if random {
				q = unit(rng, dim)
			}
			want, err := ex.Search(ctx, q, k, f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Search(ctx, q, k, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("filter %+v: IVF returned %d hits, exact %d", f, len(got), len(want))
			}
			ids := map[string]bool{}
			for _, h := range want {
				ids[h.ID] = true
			}
			for _, h := range got {
				if ids[h.ID] {
					found++
				}
			}
			total += len(want)
		}
		return float64(found) / float64(total)
	}
	tests := []struct {
		name string
		f    retriever.Filter
		min  float64
	}{
		{"unfiltered", retriever.Filter{}, 0.95},
		{"one folder of 17", retriever.Filter{FolderPrefix: "/img/f03"}, 0.9},
		{"tag and folder, 1 in 85", retriever.Filter{FolderPrefix: "/img/f03", AnyTags: []string{"t1"}}, 0.9},
		{"tiny subset", retriever.Filter{FolderPrefix: "/img/f03", AllTags: []string{"t1"}, AnyTags: []string{"t1", "none"}}, 0.9},
	}
	for _, tc := range tests {
		r := recallOf(tc.f, 10, false)
		t.Logf("%s: recall@10 %.3f", tc.name, r)
		if r < tc.min {
			t.Errorf("%s: recall@10 %.3f, want ≥ %.2f", tc.name, r, tc.min)
		}
	}
	// Uniform random queries, far from every cluster, are the hard case;
	// logged, not held to the target.
	t.Logf("random queries: recall@10 %.3f", recallOf(retriever.Filter{}, 10, true))
	// Deletes and updates keep the IVF lists in step.
	if err := s.Delete(ctx, []string{recs[10].ID}); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search(ctx, recs[10].Vector, 5, retriever.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.ID == recs[10].ID {
			t.Fatal("deleted record still found by IVF search")
		}
	}
	moved := recs[11]
	moved.Vector = unit(rng, dim)
	if err := s.Upsert(ctx, []retriever.Record{moved}); err != nil {
		t.Fatal(err)
	}
	hits, err = s.Search(ctx, moved.Vector, 1, retriever.Filter{})
	if err != nil || len(hits) != 1 || hits[0].ID != moved.ID {
		t.Fatalf("IVF search for an updated vector = %v, %v", hits, err)
	}
	checkLists(t, s)
}

// bruteForce returns the ids of the k records most similar to q.
func bruteForce(recs []retriever.Record, q []float32, k int) []string {
	tk := topk{k: k}
	for i, r := range recs {
		if s := vek32.Dot(q, r.Vector); s > tk.floor() {
			tk.offer(cand{score: s, row: int32(i)})
		}
	}
	sortCands(tk.h)
	out := make([]string, len(tk.h))
	for i, c := range tk.h {
		out[i] = recs[c.row].ID
	}
	return out
}

// checkLists checks that the IVF lists hold exactly the live rows.
func checkLists(t *testing.T, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	tb := s.t
	if tb.ivf == nil || tb.ivf.flat {
		t.Fatal("no IVF index")
	}
	inLists := 0
	for l, rows := range tb.ivf.lists {
		for p, r := range rows {
			m := tb.meta(r)
			if m.stamp == 0 {
				t.Fatalf("IVF list %d holds free row %d", l, r)
			}
			if int(m.list) != l || int(m.pos) != p {
				t.Fatalf("row %d is at list %d pos %d, its meta says %d/%d", r, l, p, m.list, m.pos)
			}
			inLists++
		}
	}
	if inLists != tb.live {
		t.Fatalf("IVF lists hold %d rows, the table %d live", inLists, tb.live)
	}
}

// TestIVFBuildDuringWrites checks that writes during a background build are
// not lost from the index it installs.
func TestIVFBuildDuringWrites(t *testing.T) {
	ctx := t.Context()
	const dim = 32
	s := OpenMemory(&Options{ExactThreshold: 2000, BuildDelay: time.Millisecond})
	t.Cleanup(func() { s.Close() })
	if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: dim}); err != nil {
		t.Fatal(err)
	}
	recs := testRecords(6, 0, 8000, dim)
	for i, v := range clustered(rand.New(rand.NewPCG(6, 6)), len(recs), 50, dim, 1.0) {
		recs[i].Vector = v
	}
	for lo := 0; lo < len(recs); lo += 100 {
		if err := s.Upsert(ctx, recs[lo:lo+100]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // let background builds start between writes
	}
	if err := s.Delete(ctx, []string{recs[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if info := s.Index(); info.Kind != "ivf" {
		t.Fatalf("index = %+v, want ivf", info)
	}
	checkLists(t, s)
}

var _ retriever.Store = (*Store)(nil)

func ExampleOpenMemory() {
	ctx := context.Background()
	s := OpenMemory(nil)
	defer s.Close()
	if err := s.Ensure(ctx, retriever.Collection{Model: "example", Dim: 2}); err != nil {
		panic(err)
	}
	err := s.Upsert(ctx, []retriever.Record{
		{ID: "a", Vector: []float32{1, 0}, Payload: retriever.Payload{Path: "/pics/a.jpg", Folder: "/pics"}},
		{ID: "b", Vector: []float32{0, 1}, Payload: retriever.Payload{Path: "/pics/b.jpg", Folder: "/pics"}},
	})
	if err != nil {
		panic(err)
	}
	hits, _ := s.Search(ctx, []float32{0.9, 0.1}, 1, retriever.Filter{})
	fmt.Printf("%s %.2f\n", hits[0].Payload.Path, hits[0].Score)
	// Output: /pics/a.jpg 0.99
}
