// Package ingest indexes folders of images: it walks them, decodes and
// preprocesses images on a worker pool, embeds them in batches, tags them
// zero-shot, and writes records to a retriever.Store in the background.
//
// A run is incremental: a file whose path, size and modification time match
// its record is skipped without being read; one whose size or time changed is
// hashed, and only new content reaches the model. Records are written in
// batches as they are embedded, so a run that is interrupted (Ctrl-C or
// SIGKILL) keeps what it wrote and the next run continues from there.
//
// A changed file's new record replaces its old one in the same write
// (retriever.Store.Upsert keeps one record per path). Where a store cannot
// do that atomically (Qdrant) and a kill left two records at a path, the
// next run keeps the one that matches the file's size and time and deletes
// the others, or re-reads the file when none does.
//
// Memory is bounded whatever the number of files: the walk keeps one small
// entry per file, and at most Workers+3·BatchSize preprocessed tensors
// (600 KB each at 224 px; one batch is the model's input copy) and two
// store batches are in flight. BENCHMARKS.md has the peak memory measured
// for 1k to 100k files.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliprag/cliprag/embed/zeroshot"
	"github.com/cliprag/cliprag/retriever"
)

// Options configures a run.
type Options struct {
	Paths []string // files and folders to index
	// Roots, when set, are the only folders the run may read (a server's
	// allowed roots): every path must lie inside one, and the walk and the
	// reads never leave them. Unset, each path is its own root. Either
	// way, symbolic links that lead out are skipped and reported.
	Roots        []string
	Hidden       bool      // include hidden files and folders
	Extensions   []string  // e.g. ".jpg"; nil: DefaultExtensions
	Prune        bool      // delete records whose files are gone (under Paths)
	DryRun       bool      // report what would happen, change nothing
	Tags         []string  // zero-shot labels stored with each image
	TagTemplates []string  // prompt templates for Tags; nil: the model's default
	TopTags      int       // how many tags to keep per image (default DefaultTopTags)
	MinTagProb   float32   // tags below this probability are not stored
	Workers      int       // decode workers (default: number of CPUs)
	BatchSize    int       // images per model call (default: the encoder's BatchSize)
	MaxFileBytes int64     // larger files fail without being read (default DefaultMaxFileBytes)
	Progress     io.Writer // progress bar (terminal) or lines; nil for none
	// ProgressInterval is how often plain progress lines are written when
	// Progress is not a terminal (default 5 s).
	ProgressInterval time.Duration
}

// Failure is a file that could not be indexed.
type Failure struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Summary is what a run did. In a dry run, Indexed, Updated and Pruned
// count what would have been done.
type Summary struct {
	Found      int       `json:"found"`      // images found under Paths
	Indexed    int       `json:"indexed"`    // embedded by the model and written
	Updated    int       `json:"updated"`    // moved or touched files: record rewritten, no model work
	Skipped    int       `json:"skipped"`    // unchanged since the last run
	Duplicates int       `json:"duplicates"` // same content as another indexed file
	Pruned     int       `json:"pruned"`     // records removed: of files gone (with Prune), or left at a path that now holds other content
	Failed     []Failure `json:"failed"`
	// Previews are the files indexed through their embedded JPEG preview
	// (camera RAW files: CR2, NEF, ARW, DNG), sorted.
	Previews     []string      `json:"previews,omitempty"`
	DryRun       bool          `json:"dry_run,omitempty"`
	Duration     time.Duration `json:"-"`
	Seconds      float64       `json:"duration_seconds"`
	ImagesPerSec float64       `json:"images_per_sec"` // Indexed / Seconds
}

// Run indexes opts.Paths into s with m. Files that fail are listed in the
// Summary and do not stop the run; an error is returned only for fatal
// problems (store unreachable, model failure, a path that does not exist,
// context cancelled), together with what was done before it.
func Run(ctx context.Context, m Encoder, s retriever.Store, opts Options) (Summary, error) {
	start := time.Now()
	sum := Summary{DryRun: opts.DryRun, Failed: []Failure{}}
	finish := func(err error) (Summary, error) {
		sum.Duration = time.Since(start)
		sum.Seconds = sum.Duration.Seconds()
		if sum.Seconds > 0 {
			sum.ImagesPerSec = float64(sum.Indexed) / sum.Seconds
		}
		sort.Slice(sum.Failed, func(i, j int) bool { return sum.Failed[i].Path < sum.Failed[j].Path })
		sort.Strings(sum.Previews)
		return sum, err
	}
	if len(opts.Paths) == 0 {
		return finish(errors.New("ingest: no paths given"))
	}
	opts = opts.withDefaults(m)
	want := retriever.Collection{Model: m.ID(), Dim: m.Dim()}
	if opts.DryRun {
		have, err := s.Collection(ctx)
		switch {
		case errors.Is(err, retriever.ErrNotFound):
		case err != nil:
			return finish(fmt.Errorf("open index %s: %w", s, err))
		case have != want:
			return finish(&retriever.MismatchError{Store: s.String(), Have: have, Want: want})
		}
	} else if err := s.Ensure(ctx, want); err != nil {
		return finish(fmt.Errorf("open index %s: %w", s, err))
	}

	w := newWalker(opts.Hidden, opts.Extensions)
	defer w.close()
	if err := w.walk(ctx, opts.Paths, opts.Roots); err != nil {
		return finish(err)
	}
	sum.Found = len(w.out)
	sum.Failed = append(sum.Failed, w.fail...)

	byPath, byID, err := list(ctx, s)
	if err != nil {
		return finish(err)
	}
	todo, stale := plan(w.out, byPath)
	sum.Skipped = len(w.out) - len(todo)
	if len(stale) > 0 {
		// Records left beside the current one at a path, by a run
		// interrupted between Qdrant's upsert and its delete.
		sum.Pruned += len(stale)
		if !opts.DryRun {
			if err := deleteIDs(ctx, s, stale); err != nil {
				return finish(err)
			}
		}
	}

	if opts.DryRun {
		sum.Indexed = len(todo)
	} else if len(todo) > 0 {
		p := newPipeline(m, s, opts, byID, &sum)
		err := p.run(ctx, todo)
		sum.Failed = append(sum.Failed, p.failures()...)
		sum.Previews = p.previewed()
		if err != nil {
			return finish(err)
		}
	}

	if opts.Prune {
		if !opts.DryRun && len(todo) > 0 {
			// Moved files kept their ids under new paths: prune from the index as it is now.
			if byPath, _, err = list(ctx, s); err != nil {
				return finish(err)
			}
		}
		n, err := prune(ctx, s, opts, byPath, w)
		sum.Pruned += n
		if err != nil {
			return finish(err)
		}
	}
	return finish(nil)
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

// plan returns the files that need reading, and the ids of stale records:
// where a path holds several records and one matches the file's size and
// time, that one is kept and the others are stale. A file whose records
// all differ from it is read again; writing its record replaces them all.
func plan(files []candidate, byPath map[string][]retriever.FileEntry) (todo []job, stale []string) {
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
	}
	return todo, stale
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

// Defaults for Options fields left zero. Workers default to the number of
// CPUs and BatchSize to the encoder's own batch size.
const (
	DefaultTopTags          = 3
	DefaultMaxFileBytes     = 512 << 20
	DefaultProgressInterval = 5 * time.Second
)

func (o Options) withDefaults(m Encoder) Options {
	if o.TopTags <= 0 {
		o.TopTags = DefaultTopTags
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.BatchSize <= 0 {
		o.BatchSize = m.BatchSize()
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = DefaultProgressInterval
	}
	return o
}

// sameTime compares modification times at microsecond precision, the
// coarsest precision a backend keeps.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// prune deletes records whose files are gone, among those under the folders
// (or exact files) this run was given.
func prune(ctx context.Context, s retriever.Store, opts Options, byPath map[string][]retriever.FileEntry, w *walker) (int, error) {
	var roots []string
	for _, p := range opts.Paths {
		if abs, err := filepath.Abs(p); err == nil {
			roots = append(roots, abs)
		}
	}
	var gone []string
	for path, es := range byPath {
		inside := false
		for _, r := range roots {
			if under(path, r) {
				inside = true
				break
			}
		}
		if !inside || w.files[path] {
			continue
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			for _, e := range es {
				gone = append(gone, e.ID)
			}
		}
	}
	if opts.DryRun || len(gone) == 0 {
		return len(gone), nil
	}
	if err := deleteIDs(ctx, s, gone); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	return len(gone), nil
}

// job is a file that needs reading.
type job struct {
	candidate
	old []retriever.FileEntry // the records at this path before the run
}

// prepared is a job after reading, hashing and (when new) preprocessing.
type prepared struct {
	job
	sha    string
	id     string
	pixels []float32 // nil when the vector is reused
	width  int
	height int
	format string
	reuse  *retriever.Record // existing record whose vector is reused
}

type pipeline struct {
	m      Encoder
	s      retriever.Store
	opts   Options
	byID   map[string]retriever.FileEntry
	sum    *Summary
	labels [][]float32 // tag label embeddings

	mu       sync.Mutex
	fails    []Failure
	previews []string          // files read through their embedded JPEG preview
	claimed  map[string]string // id → path, for duplicates within this run
	written  map[string]bool   // ids written by this run
	replaced []string          // ids of old records at paths that turned out duplicates
	done     atomic.Int64
	total    int
	progress *progress
}

func newPipeline(m Encoder, s retriever.Store, opts Options, byID map[string]retriever.FileEntry, sum *Summary) *pipeline {
	return &pipeline{m: m, s: s, opts: opts, byID: byID, sum: sum, claimed: map[string]string{}, written: map[string]bool{}}
}

func (p *pipeline) fail(path string, err error) {
	p.mu.Lock()
	p.fails = append(p.fails, Failure{Path: path, Reason: err.Error()})
	p.mu.Unlock()
	p.done.Add(1)
}

// previewed returns the files preprocessed from their embedded preview.
func (p *pipeline) previewed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.previews...)
}

func (p *pipeline) failures() []Failure {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Failure(nil), p.fails...)
}

func (p *pipeline) run(ctx context.Context, todo []job) error {
	if len(p.opts.Tags) > 0 {
		templates := p.opts.TagTemplates
		if len(templates) == 0 {
			templates = p.m.DefaultTemplates()
		}
		vecs, err := zeroshot.LabelEmbeddings(ctx, p.m.EmbedTexts, p.opts.Tags, templates)
		if err != nil {
			return fmt.Errorf("embed tags: %w", err)
		}
		p.labels = vecs
	}
	p.total = len(todo)
	p.progress = startProgress(p.opts.Progress, p.opts.ProgressInterval, p.total, &p.done)
	defer p.progress.stop()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	jobs := make(chan job)
	ready := make(chan prepared, p.opts.BatchSize)
	records := make(chan []retriever.Record, 2)

	go func() {
		defer close(jobs)
		for _, j := range todo {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()

	var workers sync.WaitGroup
	for range p.opts.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				pr, err := p.prepare(ctx, j)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					var fatal *fatalError
					if errors.As(err, &fatal) {
						cancel(fatal.err)
						return
					}
					p.fail(j.path, err)
					continue
				}
				if pr == nil { // duplicate
					p.done.Add(1)
					continue
				}
				select {
				case ready <- *pr:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { workers.Wait(); close(ready) }()

	// The batcher embeds and tags; it hands finished records to the writer.
	go func() {
		defer close(records)
		var batch []prepared
		flush := func() bool {
			if len(batch) == 0 {
				return true
			}
			recs, err := p.embedBatch(ctx, batch)
			batch = batch[:0]
			if err != nil {
				cancel(err)
				return false
			}
			select {
			case records <- recs:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for pr := range ready {
			if pr.reuse != nil {
				rec := *pr.reuse
				rec.Payload = p.payload(pr, rec.Payload.Tags)
				select {
				case records <- []retriever.Record{rec}:
				case <-ctx.Done():
					return
				}
				continue
			}
			batch = append(batch, pr)
			if len(batch) >= p.opts.BatchSize && !flush() {
				return
			}
		}
		if ctx.Err() == nil {
			flush()
		}
	}()

	// The writer runs here: it groups records into store batches and keeps
	// writing what was embedded even when the run is being cancelled.
	werr := p.write(ctx, records)
	if werr != nil {
		cancel(werr)
	}
	for range records { // drain, so the batcher can exit
	}
	if werr != nil {
		return werr
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return p.removeReplaced(ctx)
}

// fatalError marks an error that stops the run (the store failing), as
// opposed to one bad file.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// prepare reads, hashes and preprocesses one file. It returns nil, nil for a
// duplicate of another indexed file.
func (p *pipeline) prepare(ctx context.Context, j job) (*prepared, error) {
	if j.info.Size() > p.opts.MaxFileBytes {
		return nil, fmt.Errorf("file is %d bytes, over the %d-byte limit", j.info.Size(), p.opts.MaxFileBytes)
	}
	data, fi, err := readFile(ctx, j.candidate, p.opts.MaxFileBytes)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	j.info = fi
	h := sha256.Sum256(data)
	pr := &prepared{job: j, sha: hex.EncodeToString(h[:])}
	pr.id = retriever.RecordID(pr.sha, p.m.ID())

	// Same content as a record we already have: reuse its vector (a touched
	// or moved file), or skip it as a duplicate of a file that still exists.
	if e, ok := p.byID[pr.id]; ok {
		if e.Path != j.path {
			if _, err := os.Stat(e.Path); err == nil {
				p.duplicate(j, pr.id)
				return nil, nil
			}
		}
		recs, err := p.s.Get(ctx, []string{pr.id})
		if err != nil {
			return nil, &fatalError{fmt.Errorf("read index %s: %w", p.s, err)}
		}
		if len(recs) == 1 {
			pr.reuse = &recs[0]
			pr.width, pr.height, pr.format = recs[0].Payload.Width, recs[0].Payload.Height, recs[0].Payload.Format
			return pr, nil
		}
	}
	// Two files with the same content in this run: index the first only.
	p.mu.Lock()
	if other, ok := p.claimed[pr.id]; ok && other != j.path {
		p.mu.Unlock()
		p.duplicate(j, pr.id)
		return nil, nil
	}
	p.claimed[pr.id] = j.path
	p.mu.Unlock()

	pixels, info, err := p.m.Preprocessor().Bytes(j.path, data)
	if err != nil {
		return nil, trimName(err, j.path)
	}
	pr.pixels, pr.width, pr.height, pr.format = pixels, info.Width, info.Height, info.Format
	if info.Preview {
		p.mu.Lock()
		p.previews = append(p.previews, j.path)
		p.mu.Unlock()
	}
	return pr, nil
}

// duplicate counts j as a duplicate of the record id. The records that
// were at j's path hold content the file no longer has: they are removed
// at the end of the run unless the run wrote them (at another path).
func (p *pipeline) duplicate(j job, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sum.Duplicates++
	for _, e := range j.old {
		if e.ID != id {
			p.replaced = append(p.replaced, e.ID)
		}
	}
}

// removeReplaced deletes the records duplicate set aside that the run did
// not write.
func (p *pipeline) removeReplaced(ctx context.Context) error {
	var del []string
	for _, id := range p.replaced {
		if !p.written[id] {
			del = append(del, id)
		}
	}
	if len(del) == 0 {
		return nil
	}
	if err := deleteIDs(ctx, p.s, del); err != nil {
		return err
	}
	p.sum.Pruned += len(del)
	return nil
}

// trimName removes a leading "path: " from err's message, since failures
// already carry the path.
func trimName(err error, path string) error {
	msg := err.Error()
	for _, prefix := range []string{path + ": ", filepath.Base(path) + ": "} {
		if strings.HasPrefix(msg, prefix) {
			return errors.New(strings.TrimPrefix(msg, prefix))
		}
	}
	return err
}

func (p *pipeline) embedBatch(ctx context.Context, batch []prepared) ([]retriever.Record, error) {
	pixels := make([][]float32, len(batch))
	for i, b := range batch {
		pixels[i] = b.pixels
	}
	vecs, err := p.m.EmbedPixels(ctx, pixels)
	if err != nil {
		return nil, fmt.Errorf("embed images: %w", err)
	}
	recs := make([]retriever.Record, len(batch))
	for i, b := range batch {
		var tags []retriever.Tag
		if len(p.labels) > 0 {
			tags = p.tags(vecs[i])
		}
		recs[i] = retriever.Record{ID: b.id, Vector: vecs[i], Payload: p.payload(b, tags)}
	}
	return recs, nil
}

func (p *pipeline) tags(vec []float32) []retriever.Tag {
	probs := zeroshot.Probs(vec, p.labels, p.m.LogitScale())
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	var tags []retriever.Tag
	for _, i := range idx[:min(p.opts.TopTags, len(idx))] {
		if probs[i] < p.opts.MinTagProb {
			break
		}
		tags = append(tags, retriever.Tag{Label: p.opts.Tags[i], Score: probs[i]})
	}
	return tags
}

func (p *pipeline) payload(b prepared, tags []retriever.Tag) retriever.Payload {
	return retriever.Payload{
		Path:      b.path,
		SHA256:    b.sha,
		Size:      b.info.Size(),
		ModTime:   b.info.ModTime(),
		Width:     b.width,
		Height:    b.height,
		Format:    b.format,
		Folder:    filepath.Dir(b.path),
		Tags:      tags,
		IndexedAt: time.Now().UTC(),
		Model:     p.m.ID(),
	}
}

// write upserts records in groups. It keeps writing after ctx is cancelled, so that work
// already embedded is not lost, using a bounded background context.
func (p *pipeline) write(ctx context.Context, in <-chan []retriever.Record) error {
	const maxBatch = 128
	var pending []retriever.Record
	var reused []bool
	wctx := context.WithoutCancel(ctx)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		cctx, cancel := context.WithTimeout(wctx, 2*time.Minute)
		defer cancel()
		// Upsert also removes the old record of a file whose content
		// changed (the other record at its path), in the same step.
		if err := p.s.Upsert(cctx, pending); err != nil {
			return fmt.Errorf("write index %s: %w", p.s, err)
		}
		p.mu.Lock()
		for i, r := range pending {
			p.written[r.ID] = true
			if reused[i] {
				p.sum.Updated++
			} else {
				p.sum.Indexed++
			}
		}
		p.mu.Unlock()
		p.done.Add(int64(len(pending)))
		pending, reused = pending[:0], reused[:0]
		return nil
	}
	// Write each batch as soon as it is embedded, so that an interrupted run
	// loses as little as possible; when the model is ahead of the store,
	// batches that are already waiting are merged into one write.
	for recs := range in {
		add := func(recs []retriever.Record) {
			for _, r := range recs {
				pending = append(pending, r)
				reused = append(reused, p.isReuse(r))
			}
		}
		add(recs)
	merge:
		for len(pending) < maxBatch {
			select {
			case more, ok := <-in:
				if !ok {
					break merge
				}
				add(more)
			default:
				break merge
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return flush()
}

// isReuse reports whether r carries a vector that was already in the index.
func (p *pipeline) isReuse(r retriever.Record) bool {
	_, ok := p.byID[r.ID]
	return ok
}
