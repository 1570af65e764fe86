package local

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cliprag/cliprag/retriever"
)

// clusteredStore writes n clustered records of dimension dim into a writer
// in dir, without building an index (the caller does).
// opts' zero fields take the values below.
func clusteredStore(t *testing.T, dir string, n, dim int, opts *Options) (*Store, []retriever.Record) {
	t.Helper()
	ctx := t.Context()
	o := Options{ExactThreshold: 5000, BuildDelay: time.Hour}
	if opts != nil && opts.BuildDelay != 0 {
		o.BuildDelay = opts.BuildDelay
	}
	s := mustOpen(t, dir, &o)
	if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: dim}); err != nil {
		t.Fatal(err)
	}
	recs := testRecords(21, 0, n, dim)
	for i, v := range clustered(rand.New(rand.NewPCG(21, 21)), n, 100, dim, 1.0) {
		recs[i].Vector = v
	}
	for lo := 0; lo < n; lo += 2000 {
		if err := s.Upsert(ctx, recs[lo:min(lo+2000, n)]); err != nil {
			t.Fatal(err)
		}
	}
	return s, recs
}

func hitIDs(t *testing.T, s *Store, q []float32) string {
	t.Helper()
	hits, err := s.Search(t.Context(), q, 10, retriever.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, h := range hits {
		fmt.Fprintf(&b, "%s %.5f|", h.ID, h.Score)
	}
	return b.String()
}

// TestIndexPersisted checks that the index a writer builds is stored with
// the records: readers and a reopened writer load it (no build of their
// own), and search the same way every time.
func TestIndexPersisted(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	w, recs := clusteredStore(t, dir, 20000, 32, nil)
	if err := w.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	built := w.Index()
	if built.Kind != "ivf" || built.Builds != 1 {
		t.Fatalf("writer index = %+v, want ivf built once", built)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	qs := make([][]float32, 20)
	for i := range qs {
		qs[i] = nearData(rng, vecsOf(recs))
	}
	want := make([]string, len(qs))
	for i, q := range qs {
		want[i] = hitIDs(t, w, q)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, readOnly := range []bool{true, true, false} {
		s := mustOpen(t, dir, &Options{ReadOnly: readOnly, ExactThreshold: 5000, BuildDelay: time.Millisecond})
		got := s.Index()
		if got.Kind != "ivf" || got.Lists != built.Lists || got.Probe != built.Probe || got.Builds != 0 {
			t.Fatalf("opened index = %+v, want the persisted one %+v, loaded, not built", got, built)
		}
		for i, q := range qs {
			if h := hitIDs(t, s, q); h != want[i] {
				t.Fatalf("query %d after reopening: hits\n%s\nwant\n%s", i, h, want[i])
			}
		}
		time.Sleep(50 * time.Millisecond) // past BuildDelay: nothing to build
		if n := s.Index().Builds; n != 0 {
			t.Fatalf("store opened on a persisted index built %d times", n)
		}
		checkLists(t, s)
		s.Close()
	}
}

func vecsOf(recs []retriever.Record) [][]float32 {
	out := make([][]float32, len(recs))
	for i, r := range recs {
		out[i] = r.Vector
	}
	return out
}

// TestReaderNeverBuilds checks that a reader of a collection past the
// threshold without an index searches flat and never builds, and picks up
// the index once the writer builds it.
func TestReaderNeverBuilds(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	w, recs := clusteredStore(t, dir, 12000, 32, nil)
	r := mustOpen(t, dir, &Options{ReadOnly: true, ExactThreshold: 5000, BuildDelay: time.Millisecond, RefreshInterval: 10 * time.Millisecond})
	time.Sleep(50 * time.Millisecond)
	if info := r.Index(); info.Kind != "flat" || info.Builds != 0 || info.Records != len(recs) {
		t.Fatalf("reader before the writer built = %+v, want flat, no build", info)
	}
	if got := hitIDs(t, r, recs[5].Vector); !strings.HasPrefix(got, recs[5].ID) {
		t.Fatalf("flat search by a stored vector: %s", got)
	}
	if err := w.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Index().Kind != "ivf" {
		if time.Now().After(deadline) {
			t.Fatalf("reader still %+v 10 s after the writer built the index", r.Index())
		}
		r.Count(ctx) // reads look for commits
		time.Sleep(10 * time.Millisecond)
	}
	if info := r.Index(); info.Builds != 0 || info.Lists != w.Index().Lists {
		t.Fatalf("reader index = %+v, writer's %+v: want the writer's, loaded", info, w.Index())
	}
	checkLists(t, r)
	// Later writes reach the reader's lists through the log.
	more := testRecords(22, 50000, 300, 32)
	for i := range more {
		more[i].Vector = recs[i].Vector
	}
	if err := w.Upsert(ctx, more); err != nil {
		t.Fatal(err)
	}
	for {
		if n, _ := r.Count(ctx); n == len(recs)+len(more) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reader did not see the writer's later records")
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkLists(t, r)
	if got := hitIDs(t, r, more[7].Vector); !strings.Contains(got, more[7].ID) {
		t.Fatalf("reader search for a later record: %s", got)
	}
}

// TestBulkLoadBuildsOnce checks that a bulk load through the store API
// builds the index once, after its last write, not at each size step.
func TestBulkLoadBuildsOnce(t *testing.T) {
	dir := t.TempDir()
	s, _ := clusteredStore(t, dir, 30000, 16, &Options{BuildDelay: 3 * time.Second})
	deadline := time.Now().Add(30 * time.Second)
	for s.Index().Builds == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no index built 30 s after the bulk load")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if info := s.Index(); info.Builds != 1 || info.Kind != "ivf" {
		t.Fatalf("after a bulk load of 30000 in 15 batches: %+v, want one build", info)
	}
}

// TestUpgradeFormat1 writes an index in the old layout and opens it.
func TestUpgradeFormat1(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	const dim = 8
	recs := testRecords(30, 0, 50, dim)
	recs[49].Payload.Path = recs[48].Payload.Path // two records at one path, as old runs left
	db, err := bolt.Open(filepath.Join(dir, dbName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		mb, _ := tx.CreateBucket(bucketMeta)
		mb.Put([]byte("format"), []byte("1"))
		mb.Put([]byte("model"), []byte(testModel))
		mb.Put([]byte("dim"), []byte(strconv.Itoa(dim)))
		vb, _ := tx.CreateBucket([]byte("vectors"))
		pb, _ := tx.CreateBucket([]byte("payloads"))
		for _, r := range recs {
			v := make([]byte, 4*dim)
			for i, x := range r.Vector {
				binary.LittleEndian.PutUint32(v[4*i:], math.Float32bits(x))
			}
			p, _ := json.Marshal(r.Payload)
			vb.Put([]byte(r.ID), v)
			pb.Put([]byte(r.ID), p)
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, &Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "rag-ingest") {
		t.Fatalf("read-only open of a format-1 index = %v, want an error saying to run rag-ingest", err)
	}
	s := mustOpen(t, dir, nil)
	if n, _ := s.Count(ctx); n != 49 {
		t.Fatalf("upgraded index holds %d records, want 49 (one per path)", n)
	}
	got, err := s.Get(ctx, []string{recs[0].ID, recs[30].ID})
	if err != nil || len(got) != 2 {
		t.Fatalf("Get after upgrade = %d records, %v", len(got), err)
	}
	for i, x := range got[1].Vector {
		if math.Abs(float64(x-recs[30].Vector[i])) > 1e-6 {
			t.Fatalf("vector changed by the upgrade")
		}
	}
	if got[1].Payload.Path != recs[30].Payload.Path || !got[1].Payload.ModTime.Equal(recs[30].Payload.ModTime) {
		t.Fatalf("payload after upgrade = %+v, want %+v", got[1].Payload, recs[30].Payload)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, migrateDir)); !os.IsNotExist(err) {
		t.Errorf("upgrade left %s behind: %v", migrateDir, err)
	}
	r := mustOpen(t, dir, &Options{ReadOnly: true})
	if n, _ := r.Count(ctx); n != 49 {
		t.Fatalf("reader of the upgraded index: %d records", n)
	}
}

// rss returns the resident set size of this process: anonymous memory,
// and file pages mapped in.
func rss(t *testing.T) (anon, file int64) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "RssAnon: %d kB", &kb); err == nil {
			anon = kb << 10
		}
		if _, err := fmt.Sscanf(line, "RssFile: %d kB", &kb); err == nil {
			file = kb << 10
		}
	}
	return anon, file
}

// TestMemoryWhileGrowing grows a store through the API and checks that its
// memory grows with what it holds: the resident set never exceeds the
// table and index (what it holds once grown) by more than half, and a
// reader holds about as much. It checks memory, not time.
func TestMemoryWhileGrowing(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 150k records")
	}
	ctx := t.Context()
	const n, dim, batch = 100000, 512, 256
	dir := t.TempDir()
	runtime.GC()
	debug.FreeOSMemory()
	baseAnon, baseFile := rss(t)
	var peak, peakAnon, peakFile atomic.Int64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			a, f := rss(t)
			peak.Store(max(peak.Load(), a+f-baseAnon-baseFile))
			peakAnon.Store(max(peakAnon.Load(), a-baseAnon))
			peakFile.Store(max(peakFile.Load(), f-baseFile))
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	s := mustOpen(t, dir, &Options{ExactThreshold: 20000, BuildDelay: time.Hour})
	if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: dim}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(40, 40))
	for lo := 0; lo < n; lo += batch {
		recs := testRecords(40, lo, batch, dim)
		for i, v := range clustered(rng, batch, 50, dim, 1.0) {
			recs[i].Vector = v
		}
		if err := s.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("before the build: RSS grew by at most %d MiB (anonymous %d MiB)", peak.Load()>>20, peakAnon.Load()>>20)
	if err := s.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	close(done)
	<-sampled
	held := s.Index().Bytes
	perVec := float64(held) / n
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("table and index: %d MiB (%.0f B/vector at %d-d); RSS grew by at most %d MiB while growing (anonymous %d MiB, file pages %d MiB); Go heap now %d MiB", held>>20, perVec, dim, peak.Load()>>20, peakAnon.Load()>>20, peakFile.Load()>>20, ms.HeapAlloc>>20)
	if max := float64(dim + 8*words(dim) + 24 + 48); perVec > max {
		t.Errorf("%.0f bytes per %d-d vector in memory, want at most %.0f", perVec, dim, max)
	}
	// The Go runtime and a bbolt transaction need a few megabytes whatever
	// the size; the rest must stay within 1.5 × what is held.
	const slack = 24 << 20
	if grown := peak.Load(); float64(grown) > 1.5*float64(held)+slack {
		t.Errorf("RSS grew by %d MiB while growing to %d MiB of table and index: over 1.5 × + %d MiB", grown>>20, held>>20, slack>>20)
	}
	s.Close()
	runtime.GC()
	debug.FreeOSMemory()
	a0, f0 := rss(t)
	r := mustOpen(t, dir, &Options{ReadOnly: true})
	runtime.GC()
	a1, f1 := rss(t)
	opened := a1 + f1 - a0 - f0
	t.Logf("a reader holds %d MiB after opening", opened>>20)
	if float64(opened) > 1.2*float64(held)+slack {
		t.Errorf("reader RSS %d MiB for %d MiB of table and index", opened>>20, held>>20)
	}
	_ = r
	_ = context.Background
}
