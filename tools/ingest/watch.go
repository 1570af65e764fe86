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
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/cliprag/cliprag/retriever"
)

// WatchOptions configures Watch.
type WatchOptions struct {
	// Debounce is how long the folders must be quiet after a change before
	// the index is brought in step (default DefaultDebounce); under a
	// steady stream of changes it waits at most ten times as long.
	Debounce time.Duration
	// Rescan is the interval of full runs over the folders, the safety net
	// for notifications the system dropped (default DefaultRescan;
	// negative: none).
	Rescan time.Duration
	// OnRun, when set, is told about each run, in order, from Watch's
	// goroutine.
	OnRun func(WatchRun)
}

// Defaults for WatchOptions fields left zero.
const (
	DefaultDebounce = 500 * time.Millisecond
	DefaultRescan   = 10 * time.Minute
)

// Reasons for a WatchRun.
const (
	WatchInitial = "initial" // the first run over the folders
	WatchChanges = "changes" // files or folders changed
	WatchRescan  = "rescan"  // the periodic full run
)

// WatchRun is one run of Watch.
type WatchRun struct {
	Reason  string   // WatchInitial, WatchChanges or WatchRescan
	Paths   []string // the files and folders looked at
	Summary Summary  // what the run did; Pruned counts records of removed files too
	// Err is the run's fatal error (the watch goes on, and the next run
	// tries again), or a folder that could not be watched (changes there
	// are caught by the rescans).
	Err error
}

// Watch indexes the folders opts.Paths as Run does and then keeps the
// index in step with them until ctx ends: files added, changed, moved or
// deleted are noticed through the operating system's file notifications
// (every folder walked is watched), gathered until the folders have been
// quiet for WatchOptions.Debounce, and brought into the index by a run over
// just the files and folders that changed (records of removed files are
// deleted; moved files keep their vectors); a full run every
// WatchOptions.Rescan catches anything the notifications missed. The
// folders are the runs' roots (Options.Roots), so their ignore files and
// opts.Exclude apply to every run; Prune is implied and DryRun refused.
//
// Watch returns nil when ctx ends, and an error when it cannot start: no
// notifications, a path that is not a folder, or a fatal first run.
func Watch(ctx context.Context, m Encoder, s retriever.Store, opts Options, wo WatchOptions) error {
	if opts.DryRun {
		return errors.New("ingest: a watch cannot be a dry run")
	}
	roots, err := watchRoots(opts.Paths)
	if err != nil {
		return err
	}
	if wo.Debounce <= 0 {
		wo.Debounce = DefaultDebounce
	}
	if wo.Rescan == 0 {
		wo.Rescan = DefaultRescan
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer fw.Close()
	w := &watcher{enc: m, store: s, opts: opts, wo: wo, fw: fw, roots: roots, watched: map[string]bool{}, dirty: map[string]bool{}}
	w.opts.Paths, w.opts.Roots, w.opts.Prune, w.opts.onDir = roots, roots, true, w.watchDir
	if len(opts.Roots) > 0 {
		w.opts.Roots = opts.Roots
	}
	if w.filter, err = newWalker(opts); err != nil {
		return err
	}
	sum, err := Run(ctx, m, s, w.opts)
	w.report(WatchRun{Reason: WatchInitial, Paths: roots, Summary: sum, Err: err})
	if err != nil && ctx.Err() == nil {
		return err
	}
	return w.loop(ctx)
}

// watchRoots returns paths as absolute, cleaned folders.
func watchRoots(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("ingest: no folders to watch")
	}
	var roots []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("path %s: %w", p, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("path %s: %w", p, unwrapPath(err))
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("path %s: not a folder (a watch keeps folders in step)", p)
		}
		roots = append(roots, abs)
	}
	return roots, nil
}

// watcher is the state of a Watch, owned by its goroutine.
type watcher struct {
	enc    Encoder
	store  retriever.Store
	opts   Options // of every run; Paths are the roots
	wo     WatchOptions
	fw     *fsnotify.Watcher
	roots  []string
	filter *walker // for its extensions only

	watched  map[string]bool // folders watched
	addErr   error           // the first folder that could not be watched, to report once
	dirty    map[string]bool // paths changed since the last run
	first    time.Time       // when the first of them changed
	overflow bool            // notifications were lost: rescan
}

func (w *watcher) report(r WatchRun) {
	if r.Err == nil && w.addErr != nil {
		r.Err, w.addErr = w.addErr, nil
	}
	if w.wo.OnRun != nil {
		w.wo.OnRun(r)
	}
}

// watchDir watches a folder the walk read.
func (w *watcher) watchDir(dir string) {
	if w.watched[dir] {
		return
	}
	if err := w.fw.Add(dir); err != nil {
		if w.addErr == nil {
			w.addErr = fmt.Errorf("watch %s: %w (on Linux, raise fs.inotify.max_user_watches)", dir, err)
		}
		return
	}
	w.watched[dir] = true
}

// unwatch stops watching the folder p and those below it, which were
// removed or renamed: a renamed folder would go on reporting under its old
// name. The run over its new name watches it again.
func (w *watcher) unwatch(p string) {
	for dir := range w.watched {
		if under(dir, p) {
			_ = w.fw.Remove(dir)
			delete(w.watched, dir)
		}
	}
}

// loop gathers notifications and runs when the folders are quiet, and
// rescans, until ctx ends.
func (w *watcher) loop(ctx context.Context) error {
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	var rescan <-chan time.Time
	if w.wo.Rescan > 0 {
		t := time.NewTicker(w.wo.Rescan)
		defer t.Stop()
		rescan = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fw.Events:
			if !ok {
				return nil
			}
			if w.note(ev) {
				w.arm(quiet)
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return nil
			}
			w.overflow = w.overflow || errors.Is(err, fsnotify.ErrEventOverflow)
			w.arm(quiet)
		case <-quiet.C:
			w.sync(ctx)
		case <-rescan:
			w.full(ctx, WatchRescan)
		}
	}
}

// arm (re)starts the quiet timer: Debounce after the last change, but no
// later than ten Debounces after the first.
func (w *watcher) arm(t *time.Timer) {
	now := time.Now()
	if w.first.IsZero() {
		w.first = now
	}
	d := min(w.wo.Debounce, w.first.Add(10*w.wo.Debounce).Sub(now))
	t.Reset(max(d, 0))
}

// note records a notification and reports whether it matters.
func (w *watcher) note(ev fsnotify.Event) bool {
	p := filepath.Clean(ev.Name)
	if (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) && w.watched[p] {
		w.unwatch(p)
	}
	if filepath.Base(p) == IgnoreFile {
		p = filepath.Dir(p) // the rules of a folder changed: look at all of it again
	} else if w.hidden(p) {
		return false
	}
	w.dirty[p] = true
	return true
}

// hidden reports whether p is hidden below its root (and the runs skip
// hidden files).
func (w *watcher) hidden(p string) bool {
	if w.opts.Hidden {
		return false
	}
	for _, r := range w.roots {
		if rel, err := filepath.Rel(r, p); err == nil && under(p, r) {
			for _, name := range strings.Split(rel, string(filepath.Separator)) {
				if strings.HasPrefix(name, ".") && name != "." {
					return true
				}
			}
			return false
		}
	}
	return false
}

// sync brings the index in step with the paths that changed.
func (w *watcher) sync(ctx context.Context) {
	if w.overflow {
		w.full(ctx, WatchRescan)
		return
	}
	changed := make([]string, 0, len(w.dirty))
	for p := range w.dirty {
		changed = append(changed, p)
	}
	clear(w.dirty)
	w.first = time.Time{}
	sort.Strings(changed)
	targets, gone := w.sortChanges(changed)
	run := WatchRun{Reason: WatchChanges, Paths: append(slices.Clip(targets), gone...), Summary: Summary{Failed: []Failure{}}}
	if len(targets) > 0 {
		opts := w.opts
		opts.Paths = targets
		run.Summary, run.Err = Run(ctx, w.enc, w.store, opts)
	}
	// After the run, so that files moved within the folders kept their vectors.
	if len(gone) > 0 && run.Err == nil && ctx.Err() == nil {
		n, err := forget(ctx, w.store, gone)
		run.Summary.Pruned += n
		run.Err = err
	}
	if len(run.Paths) > 0 {
		w.report(run)
	}
}

// sortChanges splits changed paths into those to run over (folders, and
// image files, without those inside another) and those that are gone.
func (w *watcher) sortChanges(changed []string) (targets, gone []string) {
	for _, p := range changed {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			gone = append(gone, p)
		case err != nil:
		case fi.IsDir(), fi.Mode().IsRegular() && w.filter.exts[strings.ToLower(filepath.Ext(p))]:
			if !slices.ContainsFunc(targets, func(t string) bool { return under(p, t) }) {
				targets = append(targets, p) // sorted: a folder comes before what is inside it
			}
		}
	}
	return targets, gone
}

// full runs over every folder.
func (w *watcher) full(ctx context.Context, reason string) {
	w.overflow = false
	clear(w.dirty)
	w.first = time.Time{}
	sum, err := Run(ctx, w.enc, w.store, w.opts)
	w.report(WatchRun{Reason: reason, Paths: w.roots, Summary: sum, Err: err})
}

// forget deletes the records of files at or under paths that are gone, and
// returns how many it deleted.
func forget(ctx context.Context, s retriever.Store, paths []string) (int, error) {
	var ids []string
	err := s.Files(ctx, func(e retriever.FileEntry) error {
		if !slices.ContainsFunc(paths, func(p string) bool { return under(e.Path, p) }) {
			return nil
		}
		if _, err := os.Lstat(e.Path); errors.Is(err, fs.ErrNotExist) {
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list index %s: %w", s, err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := deleteIDs(ctx, s, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}
