package ingest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cliprag/cliprag/embed/imageformat"
)

// TestDefaultExtensionsFromTable checks the walk indexes every extension of
// every format in the format table, and only those.
func TestDefaultExtensionsFromTable(t *testing.T) {
	var want []string
	for _, f := range imageformat.Formats() {
		want = append(want, f.Extensions...)
	}
	if len(want) == 0 || !slices.Equal(DefaultExtensions, want) {
		t.Fatalf("DefaultExtensions %v, want the table's %v", DefaultExtensions, want)
	}
	w := mustWalker(t, Options{})
	for _, e := range []string{".jpg", ".png", ".tiff"} {
		if !w.exts[e] {
			t.Errorf("default walker skips %s", e)
		}
	}
}

// walkTree builds, under a temporary folder:
//
//	root/a.png, root/sub/b.png, root/fifo.png (a FIFO)
//	root/in.png     → sub/b.png            (inside: indexed)
//	root/inabs.png  → /…/root/sub/b.png    (absolute, inside: indexed)
//	root/out.png    → ../outside/s.png     (leads out: reported)
//	root/outabs.png → /…/outside/s.png     (leads out: reported)
//	root/outdir     → /…/outside           (leads out: reported)
//	root/loop.png   → loop.png             (broken: reported)
//	outside/s.png, outside/deep/t.png
func walkTree(t *testing.T) (root, outside string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "sub"), filepath.Join(outside, "deep")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(root, "a.png"), filepath.Join(root, "sub", "b.png"), filepath.Join(outside, "s.png"), filepath.Join(outside, "deep", "t.png")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"in.png": "sub/b.png", "inabs.png": filepath.Join(root, "sub", "b.png"),
		"out.png": "../outside/s.png", "outabs.png": filepath.Join(outside, "s.png"),
		"outdir": outside, "loop.png": "loop.png",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func walked(t *testing.T, w *walker) (found []string, failed map[string]string) {
	t.Helper()
	failed = map[string]string{}
	for _, c := range w.out {
		found = append(found, c.path)
	}
	for _, f := range w.fail {
		failed[f.Path] = f.Reason
	}
	return found, failed
}

// TestWalkStaysInRoot: the walk never leaves the folder it was given (or
// the allowed roots): links out are reported and not followed, links
// inside are, and FIFOs with image names are reported, never opened.
func TestWalkStaysInRoot(t *testing.T) {
	root, outside := walkTree(t)
	for _, roots := range [][]string{nil, {root}} {
		w := mustWalker(t, Options{})
		defer w.close()
		if err := w.walk(context.Background(), []string{root}, roots); err != nil {
			t.Fatal(err)
		}
		found, failed := walked(t, w)
		want := []string{"a.png", "in.png", "inabs.png", "sub/b.png"}
		for i := range want {
			want[i] = filepath.Join(root, want[i])
		}
		if !slices.Equal(found, want) {
			t.Errorf("roots %v: found %v, want %v", roots, found, want)
		}
		for name, why := range map[string]string{
			"out.png": "leads outside", "outabs.png": "leads outside", "outdir": "leads outside",
			"loop.png": "broken symlink", "fifo.png": "FIFO",
		} {
			if r := failed[filepath.Join(root, name)]; !strings.Contains(r, why) {
				t.Errorf("roots %v: %s: reason %q, want it to say %q", roots, name, r, why)
			}
		}
		for _, f := range found {
			if strings.HasPrefix(f, outside) {
				t.Errorf("found %s outside the root", f)
			}
		}
	}
}

// TestWalkAllowedRoots: with roots, a path outside them is refused, and
// one inside is walked within the root, not within itself.
func TestWalkAllowedRoots(t *testing.T) {
	root, outside := walkTree(t)
	w := mustWalker(t, Options{})
	defer w.close()
	if err := w.walk(context.Background(), []string{outside}, []string{root}); err == nil || !strings.Contains(err.Error(), "outside the allowed roots") {
		t.Fatalf("walk outside the roots: err = %v", err)
	}
	if err := w.walk(context.Background(), []string{filepath.Join(root, "outdir")}, []string{root}); err != nil {
		t.Fatal(err)
	}
	if found, failed := walked(t, w); len(found) != 0 || !strings.Contains(failed[filepath.Join(root, "outdir")], "leads outside") {
		t.Fatalf("a link out named as the path: found %v, failed %v", found, failed)
	}
	// A file named on the command line (no roots) is followed even when it
	// is a link out: the user named it.
	w2 := mustWalker(t, Options{})
	defer w2.close()
	if err := w2.walk(context.Background(), []string{filepath.Join(root, "outabs.png")}, nil); err != nil {
		t.Fatal(err)
	}
	if found, _ := walked(t, w2); len(found) != 1 || found[0] != filepath.Join(root, "outabs.png") {
		t.Fatalf("named link: found %v", found)
	}
}

func mustWalker(t *testing.T, opts Options) *walker {
	t.Helper()
	w, err := newWalker(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
