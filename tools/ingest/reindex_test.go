package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/retriever/qdrant"
	"github.com/cliprag/cliprag/retriever/qdrant/qdranttest"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// The re-index kill test indexes a folder, changes it (new content in
// three files, one file given another's content, one moved, one touched),
// then re-indexes it in a child process that SIGKILLs itself right after its
// N-th write the store acknowledged, for N = 1, 2, ... until a child
// finishes; after each kill one more run must leave exactly one record per
// distinct file content, each at a path that holds that content. The
// embedded store counts every Upsert and Delete (one bbolt transaction
// each); Qdrant counts every write the server acknowledged, including the
// delete that follows an upsert.

const (
	envReindexChild = "CLIPRAG_REINDEX_CHILD"
	envKillAt       = "CHILD_KILL_AT"
)

func TestReindexKilledAtEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	m := toolstest.Model(t)
	ctx := t.Context()
	dir := t.TempDir()
	set := drawSet(t, dir, 10, 11)

	// The index before the change, as a template.
	tmpl := t.TempDir()
	ts, err := local.Open(tmpl, nil)
	must(t, err)
	if _, err := ingest.Run(ctx, m, ts, ingest.Options{Paths: []string{dir}}); err != nil {
		t.Fatal(err)
	}
	before := allRecords(t, ts)
	must(t, ts.Close())
	if len(before) != len(set) {
		t.Fatalf("template index holds %d records, want %d", len(before), len(set))
	}

	// Change the folder.
	rng := rand.New(rand.NewSource(5))
	for _, im := range set[:3] {
		img := tinyshapes.Draw(rng, im.Color, im.Shape, tinyshapes.DrawOptions{})
		must(t, tinyshapes.WriteFile(im.Path, img))
	}
	must(t, copyFile(set[4].Path, set[3].Path))
	must(t, os.Rename(set[5].Path, filepath.Join(dir, "moved"+filepath.Ext(set[5].Path))))
	later := time.Now().Add(time.Hour)
	must(t, os.Chtimes(set[6].Path, later, later))

	// Each backend is killed during the first ingest of the folder (into an
	// empty store) and during its re-index (into the index made before the
	// change).
	backends := []struct {
		name  string
		fresh func(t *testing.T, i int, reindex bool) (childStore string, open func() retriever.Store)
	}{
		{"local", func(t *testing.T, i int, reindex bool) (string, func() retriever.Store) {
			d := t.TempDir()
			if reindex {
				must(t, copyFile(filepath.Join(tmpl, "index.db"), filepath.Join(d, "index.db")))
			}
			return d, func() retriever.Store { return openStore(t, d) }
		}},
		{"qdrant", func(t *testing.T, i int, reindex bool) (string, func() retriever.Store) {
			cfg := qdranttest.Config(t, qdranttest.Addr(t))
			cfg.Collection += "_" + strconv.Itoa(i)
			s := qdranttest.OpenConfig(t, cfg)
			t.Cleanup(func() { s.Close() })
			if reindex {
				must(t, s.Ensure(ctx, retriever.Collection{Model: m.ID(), Dim: m.Dim()}))
				must(t, s.Upsert(ctx, before))
			}
			return fmt.Sprintf("qdrant://%s:%d/%s", cfg.Host, cfg.Port, cfg.Collection), func() retriever.Store { return s }
		}},
	}
	for _, phase := range []string{"ingest", "re-index"} {
		for _, b := range backends {
			t.Run(phase+"/"+b.name, func(t *testing.T) { killEveryWrite(t, m, dir, phase, phase == "re-index", b.fresh) })
		}
	}
}

// killEveryWrite runs the child, killed after its at-th write, for at = 1,
// 2, ... until it finishes, checking after each kill that one more run
// converges.
func killEveryWrite(t *testing.T, m toolstest.Encoder, dir, phase string, reindex bool, fresh func(t *testing.T, i int, reindex bool) (string, func() retriever.Store)) {
	ctx := t.Context()
	kills := 0
	for at := 1; ; at++ {
		if at > 40 {
			t.Fatal("the child was still writing after 40 writes")
		}
		childStore, open := fresh(t, at, reindex)
		killed := runReindexChild(t, dir, childStore, at)
		s := open()
		if _, err := ingest.Run(ctx, m, s, ingest.Options{Paths: []string{dir}}); err != nil {
			t.Fatalf("run after a kill at write %d: %v", at, err)
		}
		checkOneRecordPerContent(t, s, dir, fmt.Sprintf("after a kill at write %d", at))
		if !killed {
			break
		}
		kills++
	}
	t.Logf("killed at each of %d writes of the %s; each time one more run converged", kills, phase)
	if kills < 3 {
		t.Errorf("only %d writes to kill at; the %s should make at least 3", kills, phase)
	}
}

// runReindexChild re-indexes dir into store in a child process that kills
// itself after its at-th acknowledged write. It reports whether the child
// was killed (false: it finished first).
func runReindexChild(t *testing.T, dir, store string, at int) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildReindex$")
	cmd.Env = append(os.Environ(), envReindexChild+"=1", "CHILD_DIR="+dir, "CHILD_STORE="+store, envKillAt+"="+strconv.Itoa(at))
	out, err := cmd.CombinedOutput()
	if err == nil {
		return false
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	t.Fatalf("re-index child (kill at write %d): %v\n%s", at, err, out)
	return false
}

// TestChildReindex is the child process of TestReindexKilledAtEveryWrite.
func TestChildReindex(t *testing.T) {
	if os.Getenv(envReindexChild) != "1" {
		t.Skip("child process of TestReindexKilledAtEveryWrite")
	}
	at, err := strconv.Atoi(os.Getenv(envKillAt))
	must(t, err)
	var writes atomic.Int64
	wrote := func() {
		if writes.Add(1) == int64(at) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	var s retriever.Store
	if spec, ok := strings.CutPrefix(os.Getenv("CHILD_STORE"), "qdrant://"); ok {
		hostPort, coll, _ := strings.Cut(spec, "/")
		host, port, _ := strings.Cut(hostPort, ":")
		p, err := strconv.Atoi(port)
		must(t, err)
		qs, err := qdrant.Open(t.Context(), qdrant.Config{Host: host, Port: p, Collection: coll, AfterWrite: func(string) { wrote() }})
		must(t, err)
		s = qs
	} else {
		ls, err := local.Open(os.Getenv("CHILD_STORE"), nil)
		must(t, err)
		s = &killAfterWrite{Store: ls, wrote: wrote}
	}
	defer s.Close()
	if _, err := ingest.Run(t.Context(), toolstest.Model(t), s, ingest.Options{Paths: []string{os.Getenv("CHILD_DIR")}, BatchSize: 1, Workers: 1}); err != nil {
		t.Fatal(err)
	}
}

// killAfterWrite calls wrote after each write to the store it wraps: for
// the embedded store, after each committed transaction.
type killAfterWrite struct {
	retriever.Store
	wrote func()
}

func (k *killAfterWrite) Upsert(ctx context.Context, recs []retriever.Record) error {
	err := k.Store.Upsert(ctx, recs)
	if err == nil {
		k.wrote()
	}
	return err
}

func (k *killAfterWrite) Delete(ctx context.Context, ids []string) error {
	err := k.Store.Delete(ctx, ids)
	if err == nil {
		k.wrote()
	}
	return err
}

// allRecords returns every record of s.
func allRecords(t *testing.T, s retriever.Store) []retriever.Record {
	t.Helper()
	var ids []string
	must(t, s.Files(t.Context(), func(e retriever.FileEntry) error { ids = append(ids, e.ID); return nil }))
	recs, err := s.Get(t.Context(), ids)
	must(t, err)
	return recs
}

// checkOneRecordPerContent checks that s holds one record per distinct
// content among the image files in dir, each at a path holding it.
func checkOneRecordPerContent(t *testing.T, s retriever.Store, dir, when string) {
	t.Helper()
	contents := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		contents[hex.EncodeToString(h[:])] = true
		return nil
	})
	must(t, err)
	var entries []retriever.FileEntry
	must(t, s.Files(t.Context(), func(e retriever.FileEntry) error { entries = append(entries, e); return nil }))
	seen := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(e.Path)
		if err != nil {
			t.Errorf("%s: record %s for %s: %v", when, e.ID, e.Path, err)
			continue
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != e.SHA256 {
			t.Errorf("%s: record %s at %s has content %.12s, the file %.12s (stale)", when, e.ID, e.Path, e.SHA256, got)
		}
		if other, ok := seen[e.SHA256]; ok {
			t.Errorf("%s: content %.12s recorded twice, at %s and %s", when, e.SHA256, other, e.Path)
		}
		seen[e.SHA256] = e.Path
	}
	if len(entries) != len(contents) {
		t.Errorf("%s: %d records for %d distinct file contents", when, len(entries), len(contents))
	}
}
