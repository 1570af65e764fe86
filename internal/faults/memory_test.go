package faults

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// maxRSS is the goal of issue 11: three concurrent 100-megapixel 16-bit
// PNGs (1.2 GB each while decoded and preprocessed; 3.66 GB for three at
// once before the decoder had a budget) never push the resident memory of
// a process above it.
const maxRSS = 1500 << 20

// bigPNGs writes three different 10000×10000 16-bit RGBA PNGs (under a
// megabyte each) into dir.
func bigPNGs(t *testing.T, dir string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("big-%d.png", i))
		writePNG(t, p, 10000, 10000-i, 16, 6) // heights differ, so contents do
		paths = append(paths, p)
	}
	return paths
}

// TestDecodeMemoryBounded: rag-ingest over a folder of three 100-megapixel
// 16-bit PNGs, and rag-mcp given the three as data URIs in concurrent
// calls, each peak below 1.5 GB resident (getrusage's maximum resident set
// of the process), and both succeed: the images are decoded one after
// another within the decoder's memory budget instead of all at once.
func TestDecodeMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 300 megapixels")
	}
	base := t.TempDir()
	paths := bigPNGs(t, filepath.Join(base, "big"))

	sum, r := ingestJSON(t, filepath.Join(base, "index"), "-workers", "3", filepath.Join(base, "big"))
	t.Logf("rag-ingest of three 100-megapixel 16-bit PNGs: peak RSS %d MB, exit %d", r.maxRSS>>20, r.code)
	if r.code != 0 || sum.Indexed != 3 {
		t.Errorf("rag-ingest: exit %d, %+v\n%s", r.code, sum, r.stderr)
	}
	if r.maxRSS > maxRSS {
		t.Errorf("rag-ingest peaked at %d MB resident, above %d MB", r.maxRSS>>20, maxRSS>>20)
	}

	c := startMCP(t, "-store", filepath.Join(base, "index"), "-quiet")
	var wg sync.WaitGroup
	errs := make([]string, len(paths))
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(data)
		wg.Go(func() {
			text, isErr, err := c.tool("find_similar_images", map[string]any{"image": uri, "top_k": 1, "include_images": false})
			if err != nil || isErr {
				errs[i] = fmt.Sprintf("call %d: %v %s", i, err, text)
			}
		})
	}
	wg.Wait()
	m := c.close()
	t.Logf("rag-mcp, three concurrent data-URI calls: peak RSS %d MB", m.maxRSS>>20)
	for _, e := range errs {
		if e != "" {
			t.Errorf("find_similar_images: %s\n%s", e, m.stderr)
		}
	}
	if m.maxRSS > maxRSS {
		t.Errorf("rag-mcp peaked at %d MB resident, above %d MB", m.maxRSS>>20, maxRSS>>20)
	}
}
