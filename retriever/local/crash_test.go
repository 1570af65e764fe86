package local

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/retriever"
)

// The crash test re-runs this test binary as a writer process (selected by
// crashChildEnv) and SIGKILLs it at random moments during its writes.

const (
	crashChildEnv = "CLIPRAG_LOCAL_CRASH_CHILD"
	crashBatch    = 40
	crashDim      = 32
	crashModel    = "crash/model"
)

func crashRecord(b, i int) retriever.Record {
	rng := rand.New(rand.NewPCG(uint64(b), uint64(i)))
	centre := rand.New(rand.NewPCG(uint64(i%16), 99)) // 16 clusters, so an IVF index pays
	sha := fmt.Sprintf("%032x%032x", b, i)
	v := make([]float32, crashDim)
	for j := range v {
		v[j] = float32(3*centre.NormFloat64() + rng.NormFloat64())
	}
	folder := fmt.Sprintf("/crash/b%06d", b)
	return retriever.Record{
		ID:     retriever.RecordID(sha, crashModel),
		Vector: v,
		Payload: retriever.Payload{
			Path: fmt.Sprintf("%s/%03d.png", folder, i), Folder: folder, SHA256: sha, Size: int64(b*1000 + i),
			ModTime: time.Unix(int64(b), int64(i)).UTC(), Model: crashModel, Format: "png",
			Tags:   []retriever.Tag{{Label: fmt.Sprintf("batch%d", b%7), Score: 0.25}},
			TextBy: "crash-ocr",
			Text:   []retriever.TextLine{{Text: fmt.Sprintf("批次%d item%d", b, i)}, {Text: "断裂体系 overlay"}},
		},
	}
}

// TestMain runs the crash child when asked to.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild appends batches of crashBatch records forever, printing the
// number of each batch once Upsert has returned. The index is rebuilt in
// the background all the while (a low threshold, no build delay), so kills
// land in builds and in the commits that persist them too.
func crashChild(dir string) {
	ctx := context.Background()
	s, err := Open(dir, &Options{LockTimeout: 10 * time.Second, ExactThreshold: 400, BuildDelay: time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := s.Ensure(ctx, retriever.Collection{Model: crashModel, Dim: crashDim}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	n, _ := s.Count(ctx)
	w := bufio.NewWriter(os.Stdout)
	for b := n / crashBatch; ; b++ {
		recs := make([]retriever.Record, crashBatch)
		for i := range recs {
			recs[i] = crashRecord(b, i)
		}
		if err := s.Upsert(ctx, recs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// Re-write an earlier batch too: replacing must be atomic as well.
		if b > 0 {
			old := make([]retriever.Record, crashBatch)
			for i := range old {
				old[i] = crashRecord(b/2, i)
			}
			if err := s.Upsert(ctx, old); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		fmt.Fprintln(w, b)
		w.Flush()
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs ~20s; skipped with -short")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2024, 7))
	start := time.Now()
	kills, lastDone, withIndex := 0, -1, 0
	for iter := 0; iter < 30 && time.Since(start) < 20*time.Second; iter++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan int, 1<<16)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if b, err := strconv.Atoi(sc.Text()); err == nil {
					lines <- b
				}
			}
			close(lines)
		}()
		// Wait for the child to be writing, then kill it at a random moment.
		select {
		case b, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("crash child exited before writing: %s", stderr.String())
			}
			lastDone = max(lastDone, b)
		case <-time.After(20 * time.Second):
			t.Fatalf("crash child wrote nothing in 20s: %s", stderr.String())
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		for b := range lines {
			lastDone = max(lastDone, b)
		}
		kills++
		if checkCrashed(t, dir, lastDone) {
			withIndex++
		}
	}
	t.Logf("%d kills in %s; %d batches committed; %d kills left an IVF index", kills, time.Since(start).Round(time.Millisecond), lastDone+1, withIndex)
	if kills < 10 {
		t.Errorf("only %d kills in the time allowed, want at least 10", kills)
	}
}

// checkCrashed reopens the store after a kill and checks that it holds
// exactly whole batches 0..n-1, with n at least the batches the child
// reported done and at most one more (committed, not yet reported), and a
// consistent index; it reports whether an IVF index was persisted.
func checkCrashed(t *testing.T, dir string, lastDone int) bool {
	t.Helper()
	ctx := t.Context()
	s, err := Open(dir, &Options{LockTimeout: 5 * time.Second, ExactThreshold: -1})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	c, err := s.Collection(ctx)
	if err != nil || c != (retriever.Collection{Model: crashModel, Dim: crashDim}) {
		t.Fatalf("collection after SIGKILL = %+v, %v", c, err)
	}
	n, err := s.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n%crashBatch != 0 {
		t.Fatalf("after SIGKILL: %d records, not a whole number of %d-record batches", n, crashBatch)
	}
	batches := n / crashBatch
	if batches < lastDone+1 || batches > lastDone+2 {
		t.Fatalf("after SIGKILL: %d batches stored, child reported %d done", batches, lastDone+1)
	}
	perBatch := map[int]int{}
	var ids []string
	err = s.Files(ctx, func(e retriever.FileEntry) error {
		ids = append(ids, e.ID)
		var b, i int
		if _, err := fmt.Sscanf(e.Path, "/crash/b%06d/%03d.png", &b, &i); err != nil {
			return fmt.Errorf("unexpected path %q: %w", e.Path, err)
		}
		perBatch[b]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for b := range batches {
		if perBatch[b] != crashBatch {
			t.Fatalf("after SIGKILL: batch %d has %d of %d records", b, perBatch[b], crashBatch)
		}
	}
	if len(perBatch) != batches {
		t.Fatalf("after SIGKILL: records from %d batches, want batches 0..%d", len(perBatch), batches-1)
	}
	recs, err := s.Get(ctx, ids)
	if err != nil || len(recs) != n {
		t.Fatalf("Get all = %d, %v; want %d", len(recs), err, n)
	}
	checkTextIndex(t, s)
	ivf := s.Index().Kind == "ivf"
	if ivf {
		checkLists(t, s)
	}
	if n > 0 {
		hits, err := s.Search(ctx, recs[n/2].Vector, 1, retriever.Filter{})
		if err != nil || len(hits) != 1 || hits[0].ID != recs[n/2].ID {
			t.Fatalf("after SIGKILL: search by a stored vector = %v, %v", hits, err)
		}
	}
	for _, r := range recs {
		if len(r.Vector) != crashDim {
			t.Fatalf("record %s: vector length %d", r.ID, len(r.Vector))
		}
		var norm float64
		for _, x := range r.Vector {
			norm += float64(x) * float64(x)
		}
		if math.Abs(norm-1) > 1e-4 {
			t.Fatalf("record %s: vector norm² %v", r.ID, norm)
		}
		if r.ID != retriever.RecordID(r.Payload.SHA256, r.Payload.Model) || r.Payload.Model != crashModel {
			t.Fatalf("record %s: id does not match payload sha %s model %s", r.ID, r.Payload.SHA256, r.Payload.Model)
		}
		var b, i int
		fmt.Sscanf(r.Payload.Path, "/crash/b%06d/%03d.png", &b, &i)
		want := crashRecord(b, i)
		if r.ID != want.ID || r.Payload.Size != want.Payload.Size || !r.Payload.ModTime.Equal(want.Payload.ModTime) {
			t.Fatalf("record %s: payload %+v, want %+v", r.ID, r.Payload, want.Payload)
		}
	}
	return ivf
}
