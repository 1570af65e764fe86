package tools

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cliprag/cliprag/internal/safefs"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
)

// root is a folder whose files may be read.
type root struct {
	lex string // absolute and clean, as configured or as the index names it
	dir string // lex with symbolic links resolved, where files are opened
}

// resolveRoots resolves folders given as configured (Options.Roots,
// WithRoots), keeping the outermost of nested ones.
func resolveRoots(dirs []string) ([]root, error) {
	var out []root
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", d, err)
		}
		res, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", d, err)
		}
		out = append(out, root{lex: abs, dir: res})
	}
	return minimalRoots(out), nil
}

// rootList returns the folders files may be read from: Options.Roots, or
// the folders of the indexed images, computed once the index is non-empty
// and then cached. Derived roots never grow through a symbolic link: the
// outermost indexed folders are taken as the index names them, and only
// those are resolved, so a link inside one (to a folder outside, say)
// never becomes a root of its own; files are then opened through the
// roots (os.Root), which refuses links that lead out.
func (s *Service) rootList(ctx context.Context) ([]root, error) {
	if len(s.opts.Roots) > 0 {
		return s.explicit, nil
	}
	s.rootsMu.Lock()
	defer s.rootsMu.Unlock()
	if s.derived != nil {
		return s.derived, nil
	}
	dirs := map[string]bool{}
	err := s.store.Files(ctx, func(f retriever.FileEntry) error {
		if f.Path != "" && filepath.IsAbs(f.Path) {
			dirs[filepath.Dir(filepath.Clean(f.Path))] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list indexed folders in %s: %w", s.store, err)
	}
	lex := make([]root, 0, len(dirs))
	for d := range dirs {
		lex = append(lex, root{lex: d})
	}
	var roots []root
	for _, r := range minimalRoots(lex) {
		if res, err := filepath.EvalSymlinks(r.lex); err == nil {
			roots = append(roots, root{lex: r.lex, dir: res})
		}
	}
	if len(roots) > 0 {
		s.derived = roots
	}
	return roots, nil
}

// Roots returns the resolved folders files may be read from. With no
// Options.Roots they are the folders of the indexed images (computed once
// the index is non-empty, then cached).
func (s *Service) Roots(ctx context.Context) ([]string, error) {
	roots, err := s.rootList(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range roots {
		out = append(out, r.dir)
	}
	sort.Strings(out)
	return out, nil
}

// minimalRoots sorts roots by lexical path and drops those inside another.
func minimalRoots(roots []root) []root {
	sort.Slice(roots, func(i, j int) bool { return roots[i].lex < roots[j].lex })
	var out []root
	for _, r := range roots {
		if len(out) > 0 && within(out[len(out)-1].lex, r.lex) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// within reports whether path is root or below it; both must be clean and absolute.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

// location is a path inside a root, found without touching the file system.
type location struct {
	root root
	rel  string // relative to the root; "." for the root itself
	path string // absolute: the root's lexical path joined with rel
}

// locate finds where p lies among the roots by its name alone: an absolute
// p must be inside a root (as configured or resolved), a relative one must
// stay inside (no leading ".."); it is then tried in each root in turn. No
// file is looked at, so nothing is learnt about paths outside the roots.
// Errors are *InputError.
func (s *Service) locate(ctx context.Context, p string) ([]location, error) {
	if p == "" {
		return nil, inputErr("", "empty path")
	}
	if strings.ContainsRune(p, 0) {
		return nil, inputErr("", "path contains a NUL byte")
	}
	roots, err := s.rootList(ctx)
	if err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, inputErr("", "no folders are open to this server: the index is empty and no --root was given; refer to images by id or data_uri")
	}
	var locs []location
	if !filepath.IsAbs(p) {
		rel := filepath.Clean(p)
		if !filepath.IsLocal(rel) && rel != "." {
			return nil, inputErr("", "%q leads outside the allowed roots (%s)", p, rootNames(roots))
		}
		for _, r := range roots {
			locs = append(locs, location{root: r, rel: rel, path: filepath.Join(r.lex, rel)})
		}
		return locs, nil
	}
	clean := filepath.Clean(p)
	for _, r := range roots {
		for _, base := range []string{r.lex, r.dir} {
			if within(base, clean) {
				rel, _ := filepath.Rel(base, clean)
				return []location{{root: r, rel: rel, path: filepath.Join(r.lex, rel)}}, nil
			}
		}
	}
	return nil, inputErr("", "%s is outside the allowed roots (%s)", clean, rootNames(roots))
}

func rootNames(roots []root) string {
	names := make([]string, len(roots))
	for i, r := range roots {
		names[i] = r.dir
	}
	return strings.Join(names, ", ")
}

// maxFileBytes bounds an image file a call reads: ingest's limit.
const maxFileBytes = ingest.DefaultMaxFileBytes

// readFile reads the image file p (absolute, or relative to a root)
// through the roots: the name is checked first, then the file is opened
// with os.Root, so that checking and reading are one step and a symbolic
// link (even one swapped in meanwhile) cannot lead outside. It refuses
// anything but a regular file without blocking, and returns at ctx's end
// even when the file system hangs. It returns the bytes and the path as
// the roots name it. Errors about the path are *InputError.
func (s *Service) readFile(ctx context.Context, p string) ([]byte, string, error) {
	locs, err := s.locate(ctx, p)
	if err != nil {
		return nil, "", err
	}
	var first error
	for _, l := range locs {
		data, err := readIn(ctx, l)
		if err == nil {
			return data, l.path, nil
		}
		if first == nil || (errors.Is(first, fs.ErrNotExist) && !errors.Is(err, fs.ErrNotExist)) {
			first = err
		}
	}
	if len(locs) > 1 && errors.Is(first, fs.ErrNotExist) {
		return nil, "", inputErr("", "%q not found under the allowed roots (%s); give an absolute path", p, rootNames(s.rootsOf(locs)))
	}
	return nil, "", first
}

// locateExisting locates p (see locate) and, when it is relative and there
// are several roots, picks the first root it exists in, looking only
// through the roots. Errors are *InputError.
func (s *Service) locateExisting(ctx context.Context, p string) (location, error) {
	locs, err := s.locate(ctx, p)
	if err != nil {
		return location{}, err
	}
	for _, l := range locs {
		_, err := safefs.StatUnder(ctx, l.root.dir, l.rel)
		switch {
		case ctx.Err() != nil:
			return location{}, err
		case err == nil:
			return l, nil
		case errors.Is(err, safefs.ErrOutside):
			return location{}, inputErr("", "%s is outside the allowed roots (a symbolic link on it leads out of %s)", l.path, l.root.dir)
		case !errors.Is(err, fs.ErrNotExist):
			return location{}, inputErr("", "cannot read %s: %v", l.path, unwrapPath(err))
		}
	}
	if len(locs) > 1 {
		return location{}, inputErr("", "%q not found under the allowed roots (%s); give an absolute path", p, rootNames(s.rootsOf(locs)))
	}
	return location{}, inputErr("", "%s does not exist", locs[0].path)
}

func (s *Service) rootsOf(locs []location) []root {
	out := make([]root, len(locs))
	for i, l := range locs {
		out[i] = l.root
	}
	return out
}

// readIn reads one location, turning file errors into *InputError.
func readIn(ctx context.Context, l location) ([]byte, error) {
	data, _, err := safefs.ReadFileUnder(ctx, l.root.dir, l.rel, maxFileBytes)
	switch {
	case err == nil:
		return data, nil
	case ctx.Err() != nil:
		return nil, err
	case errors.Is(err, safefs.ErrOutside):
		return nil, inputErr("", "%s is outside the allowed roots (a symbolic link on it leads out of %s)", l.path, l.root.dir)
	case errors.Is(err, fs.ErrNotExist):
		return nil, inputErr("", "%s does not exist", l.path)
	case errors.Is(err, safefs.ErrNotRegular):
		return nil, inputErr("", "%s is not an image file: %v", l.path, unwrapPath(err))
	case errors.Is(err, safefs.ErrTooLarge):
		return nil, inputErr("", "%s is too large: %v", l.path, unwrapPath(err))
	}
	return nil, inputErr("", "cannot read %s: %v", l.path, unwrapPath(err))
}

// unwrapPath drops the *fs.PathError wrapper, whose path is a root-relative
// name, since messages name the file themselves.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
