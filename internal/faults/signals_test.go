package faults

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// signalled starts a command, waits until ready says it is at work, sends
// sig, and returns how it ended. A command still running long after the
// signal fails the test (a hang, not a slow machine: the limit is minutes).
func signalled(t *testing.T, sig syscall.Signal, ready func(stderr string) bool, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := command(ctx, name, args...)
	var stdout bytes.Buffer
	stderr := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	stdin, err := cmd.StdinPipe() // held open: rag-mcp's stdio session stays up
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for !ready(stderr.String()) {
		select {
		case err := <-exited:
			r := ended(t, cmd, err)
			if toolstest.RuntimeMissing(stderr.String()) {
				t.Skipf("ONNX Runtime not available: %s", stderr.String())
			}
			t.Fatalf("%s ended (exit %d) before it was signalled; give it more work\n%s", name, r.code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	err = <-exited
	t.Logf("%s %s: ended %s after %s", name, strings.Join(args[:1], " "), time.Since(sent).Round(time.Millisecond), sig)
	if ctx.Err() != nil {
		t.Fatalf("%s did not end after %s\n%s", name, sig, stderr.String())
	}
	r := ended(t, cmd, err)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

// TestSignalsEndCommands: SIGINT and SIGTERM end rag-ingest (which then
// continues where it stopped on the next run, losing nothing), rag-search
// and rag-mcp over stdio and HTTP.
func TestSignalsEndCommands(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "images")
	const n = 300
	toolstest.Draw(t, dir, toolstest.DrawOptions{Seed: 4, Count: n, Name: func(i int, c tinyshapes.Class) string { return fmt.Sprintf("%03d-%s", i, c) }})

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		store := filepath.Join(base, "index-"+strconv.Itoa(int(sig)))
		written := func(string) bool {
			st, err := local.Open(store, &local.Options{ReadOnly: true})
			if err != nil {
				return false
			}
			defer st.Close()
			c, _ := st.Count(context.Background())
			return c > 0
		}
		r := signalled(t, sig, written, "rag-ingest", "-store", store, "-workers", "1", "-batch", "1", dir)
		if r.code != 130 || !strings.Contains(r.stderr, "interrupted; run the same command again") {
			t.Errorf("rag-ingest after %s: exit %d\n%s", sig, r.code, r.stderr)
		}
		sum, res := ingestJSON(t, store, dir)
		if res.code != 0 || sum.Indexed == 0 || sum.Indexed+sum.Skipped+sum.Duplicates != n {
			t.Errorf("the run after %s: exit %d, %+v; want the rest of the %d files", sig, res.code, sum, n)
		}
		if got := len(indexedPaths(t, store)); got+sum.Duplicates != n {
			t.Errorf("after %s and one more run the index holds %d records for %d files", sig, got, n)
		}
	}

	// rag-search --dir prints nothing before its summary when stderr is
	// not a terminal (its first plain progress line comes after 10 s), and
	// the summary ("encoded N images ...") means the work is done: signal
	// it a moment after it started, over a folder big enough to still be
	// encoding then.
	big := filepath.Join(base, "more")
	toolstest.Draw(t, big, toolstest.DrawOptions{Seed: 5, Count: 1500, Name: func(i int, c tinyshapes.Class) string { return fmt.Sprintf("%04d-%s", i, c) }})
	begun := time.Now()
	started := func(string) bool { return time.Since(begun) > 300*time.Millisecond }
	r := signalled(t, syscall.SIGINT, started, "rag-search", "search", "-dir", big, "a red circle")
	if r.code != 130 || !strings.Contains(r.stderr, "interrupted") {
		t.Errorf("rag-search --dir after SIGINT: exit %d\n%s", r.code, r.stderr)
	}

	store := filepath.Join(base, "index-"+strconv.Itoa(int(syscall.SIGINT)))
	serving := func(s string) bool { return strings.Contains(s, "serving") || strings.Contains(s, "listening") }
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		// stdio: stdin stays open, so only the signal can end it.
		r := signalled(t, sig, serving, "rag-mcp", "-store", store)
		if r.signal != 0 {
			t.Errorf("rag-mcp (stdio) killed by %s instead of stopping: exit %d\n%s", r.signal, r.code, r.stderr)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		hr := signalled(t, sig, serving, "rag-mcp", "-store", store, "-http", addr)
		if hr.signal != 0 {
			t.Errorf("rag-mcp (HTTP) killed by %s instead of stopping: exit %d\n%s", hr.signal, hr.code, hr.stderr)
		}
	}
}
