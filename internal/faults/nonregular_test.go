package faults

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// TestNamedFIFO: a FIFO (or a device) named as an image path is refused at
// once, with a reason, by every command and MCP tool that reads paths;
// before, each blocked for ever in open, ignoring signals.
func TestNamedFIFO(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, store := filepath.Join(base, "images"), filepath.Join(base, "index")
	imgs := toolstest.Draw(t, dir, toolstest.DrawOptions{Seed: 2, Count: 4})
	fifo := filepath.Join(dir, "pipe.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// A writer that never writes keeps the FIFO open: a blocking reader
	// would wait for data for ever.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, r := ingestJSON(t, store, dir); r.code != 3 {
		t.Fatalf("rag-ingest of the folder: exit %d, want 3 (the FIFO failed)\n%s", r.code, r.stderr)
	}
	sum, r := ingestJSON(t, store, fifo)
	if r.code != 3 || len(sum.Failed) != 1 || !strings.Contains(sum.Failed[0].Reason, "FIFO") {
		t.Errorf("rag-ingest FIFO: exit %d, %+v", r.code, sum)
	}
	for _, args := range [][]string{
		{"similar", "-store", store, fifo},
		{"classify", "-labels", "circle,square", fifo},
		{"compare", fifo, imgs[0].Path},
		{"compare", imgs[0].Path, "/dev/zero"},
		{"similar", "-store", store, "-grid", filepath.Join(base, "sheet.png"), imgs[1].Path},
	} {
		res := run(t, nil, "rag-search", args...)
		if args[len(args)-1] == imgs[1].Path {
			if res.code != 0 {
				t.Errorf("rag-search %q: exit %d\n%s", args, res.code, res.stderr)
			}
			continue
		}
		if res.code != 3 || !strings.Contains(res.stderr, "not a regular file") {
			t.Errorf("rag-search %q: exit %d, stderr %q; want 3 and a not-a-regular-file reason", args, res.code, res.stderr)
		}
	}

	c := startMCP(t, "-store", store, "-allow-ingest", "-quiet")
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{"find_similar_images", map[string]any{"image": fifo}},
		{"classify_image", map[string]any{"image": fifo, "labels": []string{"a", "b"}}},
		{"compare_images", map[string]any{"a": fifo, "b": imgs[0].Path}},
	} {
		text, isErr, err := c.tool(call.tool, call.args)
		if err != nil || !isErr || !strings.Contains(text, "FIFO") {
			t.Errorf("%s on a FIFO: %q, error result %v, %v", call.tool, text, isErr, err)
		}
	}
	text, isErr, err := c.tool("ingest_images", map[string]any{"paths": []string{fifo}})
	if err != nil || isErr || !strings.Contains(text, "FIFO") {
		t.Errorf("ingest_images of a FIFO: %q, error result %v, %v", text, isErr, err)
	}
	// The server still answers, and its ingest lock was released.
	img, err := tinyshapes.Render(rand.New(rand.NewSource(9)), "red", "cross", tinyshapes.DrawOptions{})
	if err == nil {
		err = tinyshapes.WriteFile(filepath.Join(dir, "new.png"), img)
	}
	if err != nil {
		t.Fatal(err)
	}
	text, isErr, err = c.tool("ingest_images", map[string]any{"paths": []string{dir}})
	if err != nil || isErr || !strings.Contains(text, "indexed 1") {
		t.Errorf("ingest_images after the FIFO: %q, error result %v, %v", text, isErr, err)
	}
	if r := c.close(); r.code != 0 {
		t.Errorf("rag-mcp exit %d\n%s", r.code, r.stderr)
	}
}
