package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/qdrant/qdranttest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// TestQdrantKilledMidIngest: Qdrant is killed (SIGKILL) while rag-ingest
// writes to it, then restarted on the same storage. rag-ingest either
// rides the outage out (it retries) or stops with an error; one more run
// then leaves exactly one record per file, each at its path with the
// file's content: nothing acknowledged is lost, nothing is doubled.
func TestQdrantKilledMidIngest(t *testing.T) {
	srv := qdranttest.StartServer(t)
	cfg := srv.Config(t)
	spec := fmt.Sprintf("qdrant://%s:%d/%s", cfg.Host, cfg.Port, cfg.Collection)
	dir := filepath.Join(t.TempDir(), "images")
	const n = 120
	toolstest.Draw(t, dir, toolstest.DrawOptions{Seed: 8, Count: n, Name: func(i int, c tinyshapes.Class) string { return fmt.Sprintf("%03d-%s", i, c) }})

	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := command(ctx, "rag-ingest", "-store", spec, "-workers", "1", "-batch", "1", "-quiet", dir)
	stderr := &lockedWriter{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	count := func() int {
		s := qdranttest.OpenConfig(t, cfg)
		defer s.Close()
		c, err := s.Count(context.Background())
		if err != nil {
			return 0
		}
		return c
	}
	for count() < 5 {
		select {
		case err := <-exited:
			r := ended(t, cmd, err)
			if toolstest.RuntimeMissing(stderr.String()) {
				t.Skipf("ONNX Runtime not available: %s", stderr.String())
			}
			t.Fatalf("rag-ingest ended (exit %d) before Qdrant was killed\n%s", r.code, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	srv.Stop(syscall.SIGKILL)
	time.Sleep(time.Second) // let writes meet the dead server
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	if ctx.Err() != nil {
		t.Fatalf("rag-ingest did not end after Qdrant came back\n%s", stderr.String())
	}
	first := ended(t, cmd, err)
	t.Logf("rag-ingest across the outage: exit %d", first.code)
	if first.code != 0 && first.code != 1 {
		t.Errorf("rag-ingest across the outage: exit %d\n%s", first.code, stderr.String())
	}

	sum, r := ingestJSON(t, spec, dir)
	if r.code != 0 {
		t.Fatalf("the run after the restart: exit %d, %+v\n%s", r.code, sum, r.stderr)
	}
	s := qdranttest.OpenConfig(t, cfg)
	defer s.Close()
	paths := map[string]string{}
	err = s.Files(context.Background(), func(e retriever.FileEntry) error {
		if other, ok := paths[e.Path]; ok {
			t.Errorf("%s has two records: %s and %s", e.Path, other, e.ID)
		}
		paths[e.Path] = e.ID
		b, err := os.ReadFile(e.Path)
		if err != nil {
			t.Errorf("record %s: %v", e.ID, err)
			return nil
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != e.SHA256 {
			t.Errorf("record %s at %s does not hold the file's content", e.ID, e.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != n {
		t.Errorf("Qdrant holds %d records for %d files", len(paths), n)
	}
}
