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
	"time"

	"github.com/cliprag/cliprag/retriever"
)

// openCollection creates the store's collection for enc, or checks that
// the store holds enc's vectors. A dry run creates nothing.
func openCollection(ctx context.Context, enc Encoder, s retriever.Store, dryRun bool) error {
	want := retriever.Collection{Model: enc.ID(), Dim: enc.Dim()}
	if !dryRun {
		if err := s.Ensure(ctx, want); err != nil {
			return fmt.Errorf("open index %s: %w", s, err)
		}
		return nil
	}
	have, err := s.Collection(ctx)
	switch {
	case errors.Is(err, retriever.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("open index %s: %w", s, err)
	case have != want:
		return &retriever.MismatchError{Store: s.String(), Have: have, Want: want}
	}
	return nil
}

// list reads the index: the records at each path (several only where a
// run was interrupted while replacing one), and every record by id.
func list(ctx context.Context, s retriever.Store) (byPath map[string][]retriever.FileEntry, byID map[string]retriever.FileEntry, err error) {
	byPath = map[string][]retriever.FileEntry{}
	byID = map[string]retriever.FileEntry{}
	err = s.Files(ctx, func(e retriever.FileEntry) error {
		byPath[e.Path] = append(byPath[e.Path], e)
		byID[e.ID] = e
		return nil
	})
	if err != nil && !errors.Is(err, retriever.ErrNotFound) {
		return nil, nil, fmt.Errorf("list index %s: %w", s, err)
	}
	return byPath, byID, nil
}

// plan returns the files that need reading, the records of unchanged
// files whose tags tg would choose again (tg is nil when the run leaves
// tags as they are), and the ids of stale records: where a path holds
// several records and one matches the file's size and time, that one is
// kept and the others are stale. A file whose records all differ from it
// is read again; its new record replaces them. So is an unchanged file
// whose record text has not read (text is nil when the run reads no
// text): its record keeps its vector (the pipeline finds it by content)
// and gains the text, and its tags too if tg would choose them again.
func plan(files []candidate, byPath map[string][]retriever.FileEntry, tg *tagger, text TextReader) (todo []job, retag []retriever.FileEntry, stale []string) {
	for _, c := range files {
		es := byPath[c.path]
		keep := slices.IndexFunc(es, func(e retriever.FileEntry) bool {
			return e.Size == c.info.Size() && sameTime(e.ModTime, c.info.ModTime())
		})
		if keep < 0 {
			todo = append(todo, job{candidate: c, old: es})
			continue
		}
		for i, e := range es {
			if i != keep {
				stale = append(stale, e.ID)
			}
		}
		if text != nil && es[keep].TextBy != text.ID() {
			todo = append(todo, job{candidate: c, old: []retriever.FileEntry{es[keep]}})
			continue
		}
		if tg.stale(es[keep].TagSet) {
			retag = append(retag, es[keep])
		}
	}
	return todo, retag, stale
}

// sameTime compares modification times at microsecond precision, the
// coarsest precision a backend keeps.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// deleteIDs deletes records in batches.
func deleteIDs(ctx context.Context, s retriever.Store, ids []string) error {
	sort.Strings(ids)
	for i := 0; i < len(ids); i += 256 {
		if err := s.Delete(ctx, ids[i:min(i+256, len(ids))]); err != nil {
			return fmt.Errorf("delete from index %s: %w", s, err)
		}
	}
	return nil
}

// gone returns the ids of the records whose files are gone or left out by
// the exclusion rules (under excluded, files and folders), among those
// under the folders (or exact files) the run was given, except those the
// run wrote again at another path (moved files).
func gone(paths []string, byPath map[string][]retriever.FileEntry, found map[string]bool, excluded []string, rewritten map[string]bool) []string {
	var roots []string
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			roots = append(roots, abs)
		}
	}
	var out []string
	for path, es := range byPath {
		if found[path] || !slices.ContainsFunc(roots, func(r string) bool { return under(path, r) }) {
			continue
		}
		leftOut := slices.ContainsFunc(excluded, func(x string) bool { return under(path, x) })
		if _, err := os.Stat(path); !leftOut && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		for _, e := range es {
			if !rewritten[e.ID] {
				out = append(out, e.ID)
			}
		}
	}
	return out
}
