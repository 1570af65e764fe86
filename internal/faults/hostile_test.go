package faults

import (
	"bytes"
	"compress/zlib"
	"context"
	goimage "image"
	"image/jpeg"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// outcome is what must become of a hostile file: indexed, skipped (not
// looked at, no failure) or failed with a reason containing the text.
type outcome struct {
	indexed bool
	failed  string
}

var (
	indexed = outcome{indexed: true}
	skipped = outcome{}
)

func failed(why string) outcome { return outcome{failed: why} }

// hostileFolder fills dir with hostile files and returns what must become
// of each (by name); outside is a folder beside it that must stay unread.
func hostileFolder(t *testing.T, dir, outside string) map[string]outcome {
	t.Helper()
	rng := rand.New(rand.NewSource(3))
	n := 0
	image := func(name string) {
		t.Helper()
		c := tinyshapes.Colors[n%len(tinyshapes.Colors)]
		s := tinyshapes.Shapes[n/len(tinyshapes.Colors)%len(tinyshapes.Shapes)]
		n++
		img, err := tinyshapes.Render(rng, c, s, tinyshapes.DrawOptions{Width: 64 + n, Height: 64})
		if err != nil {
			t.Fatal(err)
		}
		if err := tinyshapes.WriteFile(filepath.Join(dir, name), img); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(name, target string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]outcome{}

	for _, name := range []string{"ok.png", "ok.jpg", "caf\xe9 latin-1.png", "\x83\x4c\x83\x83 shift-jis.jpg", "line\nbreak.png",
		"\x1b[31mred\x1b[0m\x1b]0;title\x07.png", " spaces around .png", "evil\u202egnp.png"} {
		image(name)
		want[name] = indexed
	}
	write("empty.png", nil)
	want["empty.png"] = failed("empty")
	var full bytes.Buffer
	img, err := tinyshapes.Render(rng, "red", "circle", tinyshapes.DrawOptions{Width: 300, Height: 300})
	if err != nil {
		t.Fatal(err)
	}
	if err := tinyshapes.WriteFile(filepath.Join(outside, "whole.png"), img); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "whole.png")); err == nil {
		full.Write(b)
	}
	write("truncated.png", full.Bytes()[:full.Len()*6/10])
	want["truncated.png"] = failed("corrupt")
	write("text.jpg", []byte("hello, I am not a JPEG\n"))
	want["text.jpg"] = failed("text file")
	// A PNG header declaring 200000×200000 pixels (40 gigapixels).
	var bomb bytes.Buffer
	bomb.WriteString("\x89PNG\r\n\x1a\n")
	pngChunk(&bomb, "IHDR", []byte{0, 3, 0x0d, 0x40, 0, 3, 0x0d, 0x40, 8, 2, 0, 0, 0})
	pngChunk(&bomb, "IEND", nil)
	write("bomb-dimensions.png", bomb.Bytes())
	want["bomb-dimensions.png"] = failed("megapixel limit")
	// A JPEG of 8×8 pixels whose frame header says 60000×60000.
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, goimage.NewGray(goimage.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	jbomb := jb.Bytes()
	sof := bytes.Index(jbomb, []byte{0xff, 0xc0})
	copy(jbomb[sof+5:], []byte{0xea, 0x60, 0xea, 0x60})
	write("bomb-dimensions.jpg", jbomb)
	want["bomb-dimensions.jpg"] = failed("megapixel limit")
	// A deflate bomb: 4000×4000 grey from a few kilobytes. It is within the
	// limits, so it is indexed, within the decoder's memory budget.
	writePNG(t, filepath.Join(dir, "deflate-bomb.png"), 4000, 4000, 8, 0)
	want["deflate-bomb.png"] = indexed
	// A PNG of 8×8 pixels whose compressed data inflates to 64 MB.
	var tail bytes.Buffer
	tail.WriteString("\x89PNG\r\n\x1a\n")
	pngChunk(&tail, "IHDR", []byte{0, 0, 0, 8, 0, 0, 0, 8, 8, 0, 0, 0, 0})
	var zb bytes.Buffer
	z, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
	z.Write(make([]byte, 64<<20))
	z.Close()
	pngChunk(&tail, "IDAT", zb.Bytes())
	pngChunk(&tail, "IEND", nil)
	write("overlong-data.png", tail.Bytes())
	want["overlong-data.png"] = failed("too much pixel data")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	want["fifo.png"] = failed("FIFO")
	link("loop.png", "loop.png")
	want["loop.png"] = failed("broken symlink")
	link("loop-dir", ".")
	want["loop-dir"] = skipped
	link("out.png", filepath.Join(outside, "whole.png"))
	want["out.png"] = failed("leads outside")
	link("out-dir", outside)
	want["out-dir"] = failed("leads outside")
	link("dangling.png", filepath.Join(dir, "nothing-here.png"))
	want["dangling.png"] = failed("broken symlink")
	image("unreadable.png")
	if err := os.Chmod(filepath.Join(dir, "unreadable.png"), 0); err != nil {
		t.Fatal(err)
	}
	want["unreadable.png"] = failed("permission denied")
	if os.Geteuid() == 0 {
		want["unreadable.png"] = indexed // root reads it anyway
	}
	// 600 MB, sparse: over the 512 MiB file limit, refused unread.
	f, err := os.Create(filepath.Join(dir, "huge.png"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\x89PNG\r\n\x1a\n")
	if err := f.Truncate(600 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want["huge.png"] = failed("limit")
	image(".hidden.png")
	want[".hidden.png"] = skipped
	write("notes.txt", []byte("not an image name"))
	want["notes.txt"] = skipped
	if err := os.Mkdir(filepath.Join(dir, "folder.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	image(filepath.Join("folder.png", "inside.png"))
	want[filepath.Join("folder.png", "inside.png")] = indexed
	return want
}

// TestHostileFolder indexes a folder of hostile files with rag-ingest:
// each file is indexed, skipped or failed with a clear reason; nothing
// hangs or reads outside the folder; a second run changes nothing (names
// that are not UTF-8 included); rag-search prints every name escaped; and
// thumbnails of every indexed file, odd names included, can be made.
func TestHostileFolder(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, outside, store := filepath.Join(base, "hostile"), filepath.Join(base, "outside"), filepath.Join(base, "index")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	want := hostileFolder(t, dir, outside)

	sum, r := ingestJSON(t, store, dir)
	if r.code != 3 {
		t.Fatalf("rag-ingest exit %d, want 3 (some files failed)\n%s", r.code, r.stderr)
	}
	reasons := map[string]string{}
	for _, f := range sum.Failed {
		rel, err := filepath.Rel(dir, f.Path)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("failure outside the folder: %s: %s", f.Path, f.Reason)
		}
		reasons[rel] = f.Reason
	}
	got := indexedPaths(t, store)
	for name, w := range want {
		p := filepath.Join(dir, name)
		switch {
		case w.indexed && !got[p]:
			t.Errorf("%q: not indexed (failure: %q)", name, reasons[name])
		case !w.indexed && got[p]:
			t.Errorf("%q: indexed, want %+v", name, w)
		case w.failed != "" && !strings.Contains(reasons[name], w.failed):
			t.Errorf("%q: failure %q, want one saying %q", name, reasons[name], w.failed)
		case w.failed == "" && reasons[name] != "":
			t.Errorf("%q: failed (%s), want it %s", name, reasons[name], map[bool]string{true: "indexed", false: "skipped"}[w.indexed])
		}
	}
	for p := range got {
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Errorf("indexed %q, outside the folder", p)
		}
	}
	for name := range reasons {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected failure %q: %s", name, reasons[name])
		}
	}

	// A second run: nothing changed, so nothing is indexed or updated.
	again, _ := ingestJSON(t, store, dir)
	if again.Indexed != 0 || again.Updated != 0 || again.Skipped != sum.Indexed {
		t.Errorf("second run: indexed %d, updated %d, skipped %d; want 0, 0, %d", again.Indexed, again.Updated, again.Skipped, sum.Indexed)
	}

	// The summary as text, and rag-search's table, carry no raw control
	// characters: every name is escaped.
	text := run(t, nil, "rag-ingest", "-store", store, "-quiet", dir)
	res := run(t, nil, "rag-search", "search", "-store", store, "-top-k", "100", "a shape")
	if res.code != 0 {
		t.Fatalf("rag-search: exit %d\n%s", res.code, res.stderr)
	}
	for name, out := range map[string]string{"rag-ingest": text.stdout + text.stderr, "rag-search": res.stdout} {
		if strings.ContainsAny(out, "\x1b\x07\u202e") || strings.Contains(out, "line\nbreak") {
			t.Errorf("%s printed raw control characters:\n%q", name, out)
		}
	}
	for _, esc := range []string{`line\nbreak.png`, `\x1b[31mred\x1b[0m\x1b]0;title\x07.png`, `caf\xe9 latin-1.png`, `evil\u202egnp.png`} {
		if !strings.Contains(res.stdout, esc) {
			t.Errorf("rag-search output lacks the escaped name %s:\n%s", esc, res.stdout)
		}
	}
	if lines := strings.Count(strings.TrimSpace(res.stdout), "\n") + 1; lines != sum.Indexed+1 {
		t.Errorf("rag-search printed %d lines for %d hits: a name broke a row\n%s", lines, sum.Indexed, res.stdout)
	}

	// Thumbnails of every indexed file, through the roots the index gives.
	m := toolstest.Model(t)
	st, err := local.Open(store, &local.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := tools.New(m, st, tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p := range got {
		if _, err := svc.HitThumbnail(context.Background(), tools.Hit{Path: p}, 64); err != nil {
			t.Errorf("thumbnail of %q: %v", p, err)
		}
	}
	if _, err := svc.HitThumbnail(context.Background(), tools.Hit{Path: filepath.Join(dir, "out.png")}, 64); err == nil {
		t.Error("a thumbnail was made through the link out of the folder")
	}
}

// indexedPaths returns the paths the index at store holds.
func indexedPaths(t *testing.T, store string) map[string]bool {
	t.Helper()
	st, err := local.Open(store, &local.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string]bool{}
	if err := st.Files(context.Background(), func(e retriever.FileEntry) error { got[e.Path] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}
