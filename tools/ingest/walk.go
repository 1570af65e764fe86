package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/cliprag/cliprag/embed/imageformat"
	_ "github.com/cliprag/cliprag/embed/preprocess" // registers the formats in imageformat's table
	"github.com/cliprag/cliprag/internal/safefs"
)

// DefaultExtensions are the file extensions indexed when Options.Extensions
// is nil: those of every format in the format table (embed/imageformat).
var DefaultExtensions = imageformat.Extensions()

// candidate is a file found by the walk.
type candidate struct {
	path string // absolute, cleaned; symlinks in folders kept as the user sees them
	info fs.FileInfo
	root *os.Root // the root the file is read through
	rel  string   // the file's name relative to root
}

// walkRoot is a folder the walk and the reads may not leave.
type walkRoot struct {
	lex string   // absolute, as given
	dir string   // lex with symbolic links resolved
	fs  *os.Root // opened on dir
}

// walker finds image files under roots without following symlink loops or
// links that lead out of the root being walked.
type walker struct {
	hidden bool
	exts   map[string]bool
	seen   map[fileKey]bool // directories already walked (by device and inode)
	files  map[string]bool  // files already found (by absolute path)
	roots  []*walkRoot      // opened roots, closed by close
	out    []candidate
	fail   []Failure

	exclude  []rule   // Options.Exclude
	excl     ignores  // exclude, based at the folder being walked from
	ig       ignores  // the ignore files' rules in force in the folder being walked
	excluded []string // files and folders left out by the rules (absolute)
	onDir    func(abs string)
}

type fileKey struct{ dev, ino uint64 }

func keyOf(fi fs.FileInfo) (fileKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{uint64(st.Dev), uint64(st.Ino)}, true //nolint:unconvert // Dev is int32 on some platforms
}

// newWalker returns a walker for opts' extensions, hidden files and
// exclusions; a bad exclusion pattern is an error.
func newWalker(opts Options) (*walker, error) {
	exts := opts.Extensions
	if len(exts) == 0 {
		exts = DefaultExtensions
	}
	exclude, err := parseRules(opts.Exclude)
	if err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	w := &walker{hidden: opts.Hidden, exts: map[string]bool{}, seen: map[fileKey]bool{}, files: map[string]bool{}, exclude: exclude, onDir: opts.onDir}
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
	return w, nil
}

// close closes the roots the walk opened; the candidates' reads use them
// until then.
func (w *walker) close() {
	for _, r := range w.roots {
		r.fs.Close()
	}
	w.roots = nil
}

// openRoot opens (once) the root at lex, resolved to dir.
func (w *walker) openRoot(lex, dir string) (*walkRoot, error) {
	for _, r := range w.roots {
		if r.lex == lex && r.dir == dir {
			return r, nil
		}
	}
	f, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	r := &walkRoot{lex: lex, dir: dir, fs: f}
	w.roots = append(w.roots, r)
	return r, nil
}

// walk finds the images under paths. A path that does not exist is a fatal
// error (the user mistyped it); unreadable entries below it are failures.
//
// With no roots, each path is its own root: a folder named on the command
// line is walked without leaving it (its symbolic links to files and
// folders outside are skipped and reported), while a path that is itself
// a link is followed, since the user named it. With roots (the folders a
// server may read), every path must lie inside one, and the walk and the
// reads never leave it.
func (w *walker) walk(ctx context.Context, paths, roots []string) error {
	var allowed []*walkRoot
	for _, r := range roots {
		abs, err := filepath.Abs(r)
		if err != nil {
			return fmt.Errorf("root %s: %w", r, err)
		}
		res, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return fmt.Errorf("root %s: %w", r, err)
		}
		wr, err := w.openRoot(abs, res)
		if err != nil {
			return fmt.Errorf("root %s: %w", r, err)
		}
		allowed = append(allowed, wr)
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("path %s: %w", p, err)
		}
		var r *walkRoot
		var rel string
		if len(roots) > 0 {
			if r, rel = inside(allowed, abs); r == nil {
				return fmt.Errorf("path %s: outside the allowed roots", p)
			}
		} else if r, rel, err = w.ownRoot(abs); err != nil {
			return fmt.Errorf("path %s: %w", p, err)
		}
		w.ig, w.excl = nil, ignores{{base: r.lex, rules: w.exclude}}
		if w.above(ctx, r, rel, abs) {
			continue
		}
		if err := w.top(ctx, r, rel, abs); err != nil {
			return err
		}
	}
	sort.Slice(w.out, func(i, j int) bool { return w.out[i].path < w.out[j].path })
	return nil
}

// ownRoot makes a path named with no roots its own root: a folder, or the
// folder that holds a file (symbolic links on the path followed).
func (w *walker) ownRoot(abs string) (*walkRoot, string, error) {
	res, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, "", err
	}
	fi, err := os.Stat(res)
	if err != nil {
		return nil, "", err
	}
	if fi.IsDir() {
		r, err := w.openRoot(abs, res)
		return r, ".", err
	}
	r, err := w.openRoot(filepath.Dir(abs), filepath.Dir(res))
	return r, filepath.Base(res), err
}

// inside returns the root abs lies in (by name, as given or resolved) and
// abs relative to it.
func inside(roots []*walkRoot, abs string) (*walkRoot, string) {
	for _, r := range roots {
		for _, base := range []string{r.lex, r.dir} {
			if under(abs, base) {
				rel, err := filepath.Rel(base, abs)
				if err == nil {
					return r, rel
				}
			}
		}
	}
	return nil, ""
}

// top walks one path named by the caller: a folder, or a file, which is
// indexed whatever its extension or name.
func (w *walker) top(ctx context.Context, r *walkRoot, rel, abs string) error {
	fi, err := w.stat(ctx, r, rel)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, safefs.ErrOutside) {
		w.fail = append(w.fail, Failure{Path: abs, Reason: fmt.Sprintf("a symbolic link on the path leads outside %s; not indexed", r.dir)})
		return nil
	}
	if err != nil {
		return fmt.Errorf("path %s: %w", abs, unwrapPath(err))
	}
	switch {
	case fi.IsDir():
		return w.dir(ctx, r, rel, abs, fi)
	case fi.Mode().IsRegular():
		w.add(candidate{path: abs, info: fi, root: r.fs, rel: rel})
	default:
		w.fail = append(w.fail, Failure{Path: abs, Reason: notRegular(fi)})
	}
	return nil
}

// stat follows name inside r (see safefs.StatIn), returning when ctx ends
// even if the file system hangs.
func (w *walker) stat(ctx context.Context, r *walkRoot, name string) (fs.FileInfo, error) {
	return safefs.Do(ctx, "stat "+name, func() (fs.FileInfo, error) { return safefs.StatIn(r.fs, name) }, nil)
}

// above reads the ignore files of the folders between the root and a path
// inside it, and reports whether their rules leave the path out.
func (w *walker) above(ctx context.Context, r *walkRoot, rel, abs string) bool {
	if rel == "." {
		return false
	}
	dir, lex := ".", r.lex
	for _, name := range strings.Split(filepath.Dir(rel), string(filepath.Separator)) {
		if name != "." {
			dir, lex = filepath.Join(dir, name), filepath.Join(lex, name)
		}
		w.readIgnore(ctx, r, dir, lex)
	}
	fi, err := w.stat(ctx, r, rel)
	if w.leftOut(abs, err == nil && fi.IsDir()) {
		w.excluded = append(w.excluded, abs)
		return true
	}
	return false
}

// leftOut reports whether the rules leave the file or folder at abs out:
// the ignore files', then Options.Exclude.
func (w *walker) leftOut(abs string, isDir bool) bool {
	return w.excl.decide(abs, isDir, w.ig.excluded(abs, isDir))
}

// readIgnore pushes the rules of the ignore file in the folder rel (abs as
// the user sees it), if it has one, and reports whether it did. An ignore
// file that cannot be read or holds a bad pattern is a failure.
func (w *walker) readIgnore(ctx context.Context, r *walkRoot, rel, abs string) bool {
	name, p := filepath.Join(rel, IgnoreFile), filepath.Join(abs, IgnoreFile)
	data, _, err := safefs.ReadFileIn(ctx, r.fs, name, maxIgnoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	var rules []rule
	if err == nil {
		rules, err = parseRules(strings.Split(string(data), "\n"))
	}
	if err != nil {
		w.fail = append(w.fail, Failure{Path: p, Reason: fmt.Sprintf("ignore file: %v", unwrapPath(err))})
	}
	w.ig = append(w.ig, ruleSet{base: abs, rules: rules})
	return true
}

func (w *walker) add(c candidate) {
	if w.files[c.path] {
		return
	}
	w.files[c.path] = true
	w.out = append(w.out, c)
}

func (w *walker) dir(ctx context.Context, r *walkRoot, rel, abs string, fi fs.FileInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if k, ok := keyOf(fi); ok {
		if w.seen[k] {
			return nil // a symlink loop or a folder reached twice
		}
		w.seen[k] = true
	}
	entries, err := safefs.ReadDirIn(ctx, r.fs, rel)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		w.fail = append(w.fail, Failure{Path: abs, Reason: fmt.Sprintf("read folder: %v", unwrapPath(err))})
		return nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	if w.onDir != nil {
		w.onDir(abs)
	}
	if slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == IgnoreFile }) && w.readIgnore(ctx, r, rel, abs) {
		n := len(w.ig) - 1
		defer func() { w.ig = w.ig[:n] }()
	}
	for _, e := range entries {
		if err := w.entry(ctx, r, rel, abs, e); err != nil {
			return err
		}
	}
	return nil
}

// entry handles one entry of the folder rel (abs as the user sees it).
func (w *walker) entry(ctx context.Context, r *walkRoot, rel, abs string, e fs.DirEntry) error {
	name := e.Name()
	if !w.hidden && strings.HasPrefix(name, ".") {
		return nil
	}
	p, crel := filepath.Join(abs, name), filepath.Join(rel, name)
	image := w.exts[strings.ToLower(filepath.Ext(name))]
	typ := e.Type()
	var fi fs.FileInfo
	var err error
	if typ&fs.ModeSymlink == 0 && w.leftOut(p, typ.IsDir()) {
		w.excluded = append(w.excluded, p)
		return nil
	}
	if typ&fs.ModeSymlink != 0 {
		fi, err = w.stat(ctx, r, crel) // follow the link, inside the root only
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && w.leftOut(p, false):
			w.excluded = append(w.excluded, p)
			return nil
		case errors.Is(err, safefs.ErrOutside):
			w.fail = append(w.fail, Failure{Path: p, Reason: fmt.Sprintf("symbolic link leads outside %s; not followed", r.dir)})
			return nil
		case err != nil:
			w.fail = append(w.fail, Failure{Path: p, Reason: fmt.Sprintf("broken symlink: %v", unwrapPath(err))})
			return nil
		}
	} else {
		if !typ.IsDir() && !image {
			return nil
		}
		fi, err = e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked
		}
		if err != nil {
			w.fail = append(w.fail, Failure{Path: p, Reason: unwrapPath(err).Error()})
			return nil
		}
	}
	switch {
	case w.leftOut(p, fi.IsDir()):
		w.excluded = append(w.excluded, p)
	case fi.IsDir():
		return w.dir(ctx, r, crel, p, fi)
	case !image:
	case fi.Mode().IsRegular():
		w.add(candidate{path: p, info: fi, root: r.fs, rel: crel})
	default:
		w.fail = append(w.fail, Failure{Path: p, Reason: notRegular(fi)})
	}
	return nil
}

// notRegular is the failure of an image name that is a FIFO, a device or
// a socket: it is not read (reading a FIFO would block).
func notRegular(fi fs.FileInfo) string {
	return safefs.CheckRegular(fi).Error() + "; not read"
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
