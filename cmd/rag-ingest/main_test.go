package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/retriever/stores"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// drawShapes draws one image per class into dir.
func drawShapes(t *testing.T, dir string) int {
	t.Helper()
	return len(toolstest.Draw(t, dir, toolstest.DrawOptions{Seed: 5}))
}

type result struct {
	Found, Indexed, Updated, Skipped, Pruned int
	Failed                                   []struct{ Path, Reason string }
	Model, Store, Error                      string
	TextBy                                   string `json:"text_by"`
	TextRead                                 int    `json:"text_read"`
	TextLines                                int    `json:"text_lines"`
}

func ingestCLI(t *testing.T, args ...string) (int, result, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	var r result
	if strings.Contains(strings.Join(args, " "), "-json") && stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("json output: %v\n%s", err, stdout.String())
		}
	}
	if code == exitFatal && toolstest.RuntimeMissing(stderr.String()) {
		t.Skipf("ONNX Runtime not available: %s", stderr.String())
	}
	return code, r, stdout.String() + stderr.String()
}

func TestCLI(t *testing.T) {
	images := t.TempDir()
	n := drawShapes(t, images)
	store := filepath.Join(t.TempDir(), "index")
	common := []string{"-model", "tiny-shapes", "-store", store, "-quiet", "-json"}
	tags := filepath.Join(t.TempDir(), "tags.txt")
	if err := os.WriteFile(tags, []byte("# shapes\ncircle\nsquare\ntriangle\ncross\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, r, out := ingestCLI(t, append(common, "-dry-run", images)...)
	if code != exitOK || r.Indexed != n {
		t.Fatalf("dry run: exit %d, %+v\n%s", code, r, out)
	}
	code, r, out = ingestCLI(t, append(common, "-tags", tags, images)...)
	if code != exitOK || r.Indexed != n || r.Model != "tiny-shapes" || r.Store != store {
		t.Fatalf("first run: exit %d, %+v\n%s", code, r, out)
	}
	code, r, out = ingestCLI(t, append(common, images)...)
	if code != exitOK || r.Indexed != 0 || r.Skipped != n {
		t.Fatalf("second run: exit %d, %+v\n%s", code, r, out)
	}

	// A bad file: the rest is indexed, the exit code says some failed.
	if err := os.WriteFile(filepath.Join(images, "broken.png"), []byte("\x89PNG\r\n\x1a\nbroken"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, r, out = ingestCLI(t, append(common, images)...)
	if code != exitSomeFailed || len(r.Failed) != 1 || !strings.HasSuffix(r.Failed[0].Path, "broken.png") {
		t.Fatalf("bad file: exit %d, %+v\n%s", code, r, out)
	}

	// Plain output names what failed.
	var stdout, stderr bytes.Buffer
	code = run(context.Background(), []string{"-model", "tiny-shapes", "-store", store, "-quiet", images}, &stdout, &stderr)
	if code != exitSomeFailed || !strings.Contains(stdout.String(), "failed: "+filepath.Join(images, "broken.png")) {
		t.Errorf("plain output: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

func TestCLIErrors(t *testing.T) {
	store := filepath.Join(t.TempDir(), "index")
	images := t.TempDir()
	drawShapes(t, images)
	if code, _, out := ingestCLI(t, "-model", "tiny-shapes", "-store", store, "-quiet", images); code != exitOK {
		t.Fatalf("setup: exit %d\n%s", code, out)
	}
	// The same index with another model: fatal, naming both.
	other := filepath.Join("..", "..", "embed", "tinyshapes", "model")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no path", []string{"-store", store}, exitUsage, "no PATH"},
		{"bad flag", []string{"-nope", images}, exitUsage, "flag provided but not defined"},
		{"missing tags file", []string{"-model", "tiny-shapes", "-store", store, "-tags", "/no/such/tags.txt", images}, exitUsage, "/no/such/tags.txt"},
		{"missing folder", []string{"-model", "tiny-shapes", "-store", store, "-quiet", "/no/such/folder"}, exitFatal, "/no/such/folder"},
		{"other model", []string{"-model", other, "-store", store, "-quiet", images}, exitFatal, `"tiny-shapes"`},
		{"unknown model", []string{"-model", "no-such-model", "-store", store, "-quiet", images}, exitFatal, "no-such-model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, out := ingestCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d (want %d), output:\n%s\n(want it to mention %q)", code, tt.code, out, tt.want)
			}
			if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
				t.Errorf("stack trace in output:\n%s", out)
			}
		})
	}
}

// TestHelpAndVersion: -version prints the version, and -h shows the default
// of every flag that has one, the store's included.
func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-version"}, []string{"rag-ingest " + version}},
		{[]string{"-h"}, []string{
			"-top-tags int\n    \tat most this many tags per image (default 3)",
			"(default 0.3)",
			"-batch int\n    \timages per model call (default 16)",
			fmt.Sprintf("the default is the number of CPUs (default %d)", runtime.NumCPU()),
			"(default " + stores.DefaultDir() + ")",
			"default clip-vit-b-32",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.args[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			out := stdout.String() + stderr.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatchCLI runs rag-ingest -watch with an exclusion: it prints the
// first run's summary, then one for a file added (the excluded one is left
// out), and exits 0 when its context ends (Ctrl-C).
func TestWatchCLI(t *testing.T) {
	images := t.TempDir()
	n := drawShapes(t, images)
	store := filepath.Join(t.TempDir(), "index")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"-model", "tiny-shapes", "-store", store, "-watch", "-exclude", "skip-*", "-json", images}, &stdout, &stderr)
	}()
	// lines waits until stdout holds want JSON lines, and returns them.
	lines := func(want int) []result {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case c := <-code:
				if c == exitFatal && toolstest.RuntimeMissing(stderr.String()) {
					t.Skipf("ONNX Runtime not available: %s", stderr.String())
				}
				t.Fatalf("rag-ingest -watch exited %d\n%s%s", c, stdout.String(), stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
			out := strings.TrimSpace(stdout.String())
			if got := strings.Split(out, "\n"); out != "" && len(got) >= want {
				rs := make([]result, len(got))
				for i, l := range got {
					if err := json.Unmarshal([]byte(l), &rs[i]); err != nil {
						t.Fatalf("line %d: %v\n%s", i+1, err, out)
					}
				}
				return rs
			}
		}
		t.Fatalf("no %d summaries after 60s:\n%s%s", want, stdout.String(), stderr.String())
		return nil
	}
	if r := lines(1)[0]; r.Indexed != n {
		t.Fatalf("first run: %+v", r)
	}
	src := filepath.Join(images, "red-circle.png")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	// Distinct content: one more byte after the PNG's end.
	for _, name := range []string{"skip-me.png", "added.png"} {
		if err := os.WriteFile(filepath.Join(images, "."+name), append(data, name[0]), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(images, "."+name), filepath.Join(images, name)); err != nil {
			t.Fatal(err)
		}
	}
	if r := lines(2)[1]; r.Indexed != 1 || len(r.Failed) != 0 {
		t.Fatalf("after adding a file: %+v\n%s", r, stdout.String())
	}
	cancel()
	select {
	case c := <-code:
		if c != exitOK || !strings.Contains(stderr.String(), "stopped watching") {
			t.Errorf("exit %d after Ctrl-C\n%s", c, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("rag-ingest -watch did not stop")
	}
	st, err := local.Open(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var paths []string
	if err := st.Files(context.Background(), func(e retriever.FileEntry) error { paths = append(paths, filepath.Base(e.Path)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(paths) != n+1 || !slices.Contains(paths, "added.png") || slices.Contains(paths, "skip-me.png") {
		t.Errorf("index holds %v, want the %d drawn images and added.png", paths, n)
	}
}
