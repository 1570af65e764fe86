package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/cliprag/cliprag/embed/imageformat"
	_ "github.com/cliprag/cliprag/embed/preprocess" // registers the formats in imageformat's table
)

// DefaultExtensions are the file extensions indexed when Options.Extensions
// is nil: those of every format in the format table (embed/imageformat).
var DefaultExtensions = imageformat.Extensions()

// candidate is a file found by the walk.
type candidate struct {
	path string // absolute, cleaned; symlinks in folders kept as the user sees them
	info fs.FileInfo
}

// walker finds image files under roots without following symlink loops.
type walker struct {
	hidden bool
	exts   map[string]bool
	seen   map[fileKey]bool // directories already walked (by device and inode)
	files  map[string]bool  // files already found (by absolute path)
	out    []candidate
	fail   []Failure
}

type fileKey struct{ dev, ino uint64 }

func keyOf(fi fs.FileInfo) (fileKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{uint64(st.Dev), uint64(st.Ino)}, true //nolint:unconvert // Dev is int32 on some platforms
}

func newWalker(hidden bool, exts []string) *walker {
	if len(exts) == 0 {
		exts = DefaultExtensions
	}
	w := &walker{hidden: hidden, exts: map[string]bool{}, seen: map[fileKey]bool{}, files: map[string]bool{}}
	for _, e := range exts {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, ".") {
			e = "." + e
		}
		w.exts[e] = true
	}
	return w
}

// walk finds the images under paths. A path that does not exist is a fatal
// error (the user mistyped it); unreadable entries below it are failures.
func (w *walker) walk(ctx context.Context, paths []string) error {
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("path %s: %w", p, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("path %s: %w", p, err)
		}
		if fi.IsDir() {
			if err := w.dir(ctx, abs, fi); err != nil {
				return err
			}
			continue
		}
		// A file named explicitly is indexed whatever its extension or name.
		w.add(abs, fi)
	}
	sort.Slice(w.out, func(i, j int) bool { return w.out[i].path < w.out[j].path })
	return nil
}

func (w *walker) add(path string, fi fs.FileInfo) {
	if w.files[path] {
		return
	}
	w.files[path] = true
	w.out = append(w.out, candidate{path: path, info: fi})
}

func (w *walker) dir(ctx context.Context, dir string, fi fs.FileInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if k, ok := keyOf(fi); ok {
		if w.seen[k] {
			return nil // a symlink loop or a folder reached twice
		}
		w.seen[k] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.fail = append(w.fail, Failure{Path: dir, Reason: fmt.Sprintf("read folder: %v", unwrapPath(err))})
		return nil
	}
	for _, e := range entries {
		name := e.Name()
		if !w.hidden && strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		typ := e.Type()
		if typ&fs.ModeSymlink != 0 {
			fi, err := os.Stat(p) // follow the link
			if err != nil {
				w.fail = append(w.fail, Failure{Path: p, Reason: fmt.Sprintf("broken symlink: %v", unwrapPath(err))})
				continue
			}
			if fi.IsDir() {
				if err := w.dir(ctx, p, fi); err != nil {
					return err
				}
				continue
			}
			if fi.Mode().IsRegular() && w.exts[strings.ToLower(filepath.Ext(name))] {
				w.add(p, fi)
			}
			continue
		}
		if e.IsDir() {
			fi, err := e.Info()
			if err != nil {
				w.fail = append(w.fail, Failure{Path: p, Reason: unwrapPath(err).Error()})
				continue
			}
			if err := w.dir(ctx, p, fi); err != nil {
				return err
			}
			continue
		}
		if !typ.IsRegular() || !w.exts[strings.ToLower(filepath.Ext(name))] {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while we walked
			}
			w.fail = append(w.fail, Failure{Path: p, Reason: unwrapPath(err).Error()})
			continue
		}
		w.add(p, fi)
	}
	return nil
}

// unwrapPath drops the path from a *fs.PathError, since failures already name it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// under reports whether path is root or inside it.
func under(path, root string) bool {
	if path == root {
		return true
	}
	if !strings.HasSuffix(root, string(filepath.Separator)) {
		root += string(filepath.Separator)
	}
	return strings.HasPrefix(path, root)
}
