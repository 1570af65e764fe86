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
// With Options.Text (rag-ingest -ocr), a run also reads the text in the
// images it writes and stores the lines in their records; on an index
// made without it, it reads the text of the unchanged files too and keeps
// their vectors, as re-tagging keeps them.
//
// Memory is bounded whatever the number of files: the walk keeps one small
// entry per file, and at most 2·Workers+1 files' bytes, Workers+2·BatchSize
// preprocessed tensors (600 KB each at 224 px; one batch is the model's
// input copy) and a few batches of records are in flight (see pipeline for
// the stages). BENCHMARKS.md has the peak memory measured for 1k to 100k
// files.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/cliprag/cliprag/embed/progress"
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
	Hidden       bool     // include hidden files and folders
	Extensions   []string // e.g. ".jpg"; nil: DefaultExtensions
	Exclude      []string // patterns of files and folders to leave out (see IgnoreFile)
	Prune        bool     // delete records whose files are gone or excluded (under Paths)
	DryRun       bool     // report what would happen, change nothing
	Tags         []string // zero-shot labels stored with each image
	TagTemplates []string // prompt templates for Tags; nil: the model's default
	TopTags      int      // how many tags to keep per image (default DefaultTopTags)
	MinTagProb   float32  // tags below this probability are not stored (default DefaultMinTagProb; negative: none)
	Workers      int      // decode workers (default: number of CPUs)
	BatchSize    int      // images per model call (default: the encoder's BatchSize)
	MaxFileBytes int64    // larger files fail without being read (default DefaultMaxFileBytes)
	// Text, when set, reads the text in every image the run writes (OCR)
	// and stores its lines in the record (Payload.Text, TextBy): new
	// content, and the records of unchanged files that Text has not read
	// (never read, or by another reader), whose vectors are kept. nil: no
	// text is read, and records keep the text they have.
	Text TextReader
	// Progress, when set, is told how far the run is (see Run); nil: nothing.
	Progress progress.Func

	stageHook func(stage string) // tests: called as each stage finishes a piece of work
	onDir     func(abs string)   // Watch: called for each folder the walk reads
}

// Failure is a file that could not be indexed.
type Failure struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Summary is what a run did. Every file found has one outcome, so for a
// run that completed Found = Indexed + Updated + Retagged + Skipped +
// Duplicates + len(Failed); an interrupted run counts what it did. A dry
// run counts what the run would do, exactly.
type Summary struct {
	Found      int       `json:"found"`      // image files found under Paths, and entries there that could not be used (broken links, unreadable folders)
	Indexed    int       `json:"indexed"`    // embedded by the model and written
	Updated    int       `json:"updated"`    // moved or touched files: record rewritten, no model work
	Retagged   int       `json:"retagged"`   // unchanged files whose tags were chosen again from their stored vectors
	Skipped    int       `json:"skipped"`    // unchanged since the last run
	Duplicates int       `json:"duplicates"` // same content as another indexed file
	Pruned     int       `json:"pruned"`     // records removed: of files gone (with Prune), or left at a path that now holds other content
	Failed     []Failure `json:"failed"`
	// Previews are the files indexed through their embedded JPEG preview
	// (camera RAW files: CR2, NEF, ARW, DNG), sorted.
	Previews []string `json:"previews,omitempty"`
	// TextBy is the text reader of a run with Options.Text (its ID);
	// TextRead counts the images whose text it read (of the indexed and
	// updated; unchanged files read for text only are updated), and
	// TextLines the lines found in them; TextSkipped the text boxes the
	// reader found but could not crop and read (left out of the lines).
	// A dry run counts what it would read, and finds no lines.
	TextBy       string        `json:"text_by,omitempty"`
	TextRead     int           `json:"text_read"`
	TextLines    int           `json:"text_lines"`
	TextSkipped  int           `json:"text_skipped_boxes"`
	DryRun       bool          `json:"dry_run,omitempty"`
	Duration     time.Duration `json:"-"`
	Seconds      float64       `json:"duration_seconds"`
	ImagesPerSec float64       `json:"images_per_sec"` // Indexed / Seconds
}

// Run indexes opts.Paths into s with m (and reads the images' text with
// opts.Text, when set). Files that fail are listed in the
// Summary and do not stop the run; an error is returned only for fatal
// problems (store unreachable, model failure, a path that does not exist,
// context cancelled), together with what was done before it.
//
// When there is work beyond the walk, Run reports it to opts.Progress as
// one task named "ingest" counting files (Unit progress.Items, Items
// "files"): a Start event with Total, the files that need reading or
// re-tagging; an Update each time a file reaches its outcome (N of Total:
// indexed, updated, re-tagged, duplicate or failed); and a Done event when
// the work ends, whether it completed or not (the caller reports the
// Summary or the error). With opts.Text, the events' Detail says how many
// files have had their text read. Events come from one goroutine, in
// order.
func Run(ctx context.Context, m Encoder, s retriever.Store, opts Options) (Summary, error) {
	start := time.Now()
	sum := Summary{DryRun: opts.DryRun, Failed: []Failure{}}
	if opts.Text != nil {
		sum.TextBy = opts.Text.ID()
	}
	err := run(ctx, m, s, opts.withDefaults(m), &sum)
	sum.Duration = time.Since(start)
	sum.Seconds = sum.Duration.Seconds()
	if sum.Seconds > 0 {
		sum.ImagesPerSec = float64(sum.Indexed) / sum.Seconds
	}
	sort.Slice(sum.Failed, func(i, j int) bool { return sum.Failed[i].Path < sum.Failed[j].Path })
	sort.Strings(sum.Previews)
	return sum, err
}

// run does Run's work: walk, compare with the index, run the pipeline over
// what changed, remove what it left behind, prune.
func run(ctx context.Context, m Encoder, s retriever.Store, opts Options, sum *Summary) error {
	if len(opts.Paths) == 0 {
		return errors.New("ingest: no paths given")
	}
	if err := openCollection(ctx, m, s, opts.DryRun); err != nil {
		return err
	}
	w, err := newWalker(opts)
	if err != nil {
		return err
	}
	defer w.close()
	if err := w.walk(ctx, opts.Paths, opts.Roots); err != nil {
		return err
	}
	opts.hook(stageWalk)
	// What the walk could not use (broken links, unreadable folders, FIFOs)
	// was found as much as it failed: the counts add up to Found.
	sum.Found = len(w.out) + len(w.fail)
	sum.Failed = append(sum.Failed, w.fail...)

	byPath, byID, err := list(ctx, s)
	if err != nil {
		return err
	}
	opts.hook(stageList)
	tg := newTagger(m, opts)
	todo, retag, stale := plan(w.out, byPath, tg, opts.Text)
	sum.Skipped = len(w.out) - len(todo) - len(retag)
	if len(stale) > 0 {
		// Records left beside the current one at a path, by a run
		// interrupted between Qdrant's upsert and its delete.
		sum.Pruned += len(stale)
		if !opts.DryRun {
			if err := deleteIDs(ctx, s, stale); err != nil {
				return err
			}
		}
	}

	t := newTally()
	if len(todo)+len(retag) > 0 {
		p := &pipeline{enc: m, store: s, opts: opts, byID: byID, tagger: tg}
		if t, err = p.run(ctx, todo, retag); err != nil {
			sum.add(t)
			return err
		}
		sum.add(t)
		if err := p.removeLeftovers(ctx, t, sum); err != nil {
			return err
		}
	}

	if opts.Prune {
		ids := gone(opts.Paths, byPath, w.files, w.excluded, t.rewritten)
		if !opts.DryRun && len(ids) > 0 {
			if err := deleteIDs(ctx, s, ids); err != nil {
				return fmt.Errorf("prune: %w", err)
			}
		}
		sum.Pruned += len(ids)
		opts.hook(stagePrune)
	}
	// The bulk load is over: a store that keeps an approximate index (the
	// embedded one) builds it now, once, if it needs one.
	if b, ok := s.(indexBuilder); ok && !opts.DryRun {
		if err := b.BuildIndex(ctx); err != nil {
			return fmt.Errorf("build index: %w", err)
		}
	}
	return nil
}

// indexBuilder is a store that builds its search index when told a bulk
// load is over (local.Store).
type indexBuilder interface {
	BuildIndex(ctx context.Context) error
}

// removeLeftovers deletes the records at duplicates' paths that the run
// did not write again elsewhere (a dry run counts them).
func (p *pipeline) removeLeftovers(ctx context.Context, t *tally, sum *Summary) error {
	leftover := t.leftovers()
	sum.Pruned += len(leftover)
	if p.opts.DryRun || len(leftover) == 0 {
		return nil
	}
	return deleteIDs(ctx, p.store, leftover)
}

// add adds the pipeline's counts to s.
func (s *Summary) add(t *tally) {
	s.Indexed += t.indexed
	s.Updated += t.updated
	s.Retagged += t.retagged
	s.Duplicates += t.duplicates
	s.Failed = append(s.Failed, t.failed...)
	s.Previews = append(s.Previews, t.previews...)
	s.TextRead += t.textRead
	s.TextLines += t.textLines
	s.TextSkipped += t.textSkipped
}

// Defaults for Options fields left zero. Workers default to the number of
// CPUs and BatchSize to the encoder's own batch size.
//
// DefaultMinTagProb was chosen by measurement (TestTagThreshold): over 200
// images drawn from the tiny model's 20 classes and tagged against its
// shapes, its colours and its 20 classes, every true label had a
// probability of at least 0.75 and every wrong one at most 0.25. Of the
// thresholds that separate the two, 0.3 is one that still lets as many
// tags as DefaultTopTags through (3 × 0.3 < 1), for images that really are
// several things at once.
const (
	DefaultTopTags      = 3
	DefaultMinTagProb   = 0.3
	DefaultMaxFileBytes = 512 << 20
)

func (o Options) withDefaults(m Encoder) Options {
	if o.TopTags <= 0 {
		o.TopTags = DefaultTopTags
	}
	if o.MinTagProb == 0 {
		o.MinTagProb = DefaultMinTagProb
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
	return o
}

// ProgressTask names the task Run reports to Options.Progress.
const ProgressTask = "ingest"

// report starts the progress task of total files and returns the function
// that reports its further states (with a detail for Event.Detail); a
// no-op without opts.Progress.
func (o Options) report(total int) func(s progress.State, done int, detail string) {
	if o.Progress == nil {
		return func(progress.State, int, string) {}
	}
	ev := progress.Event{Task: ProgressTask, State: progress.Start, Total: int64(total), Unit: progress.Items, Items: "files"}
	o.Progress(ev)
	return func(s progress.State, done int, detail string) {
		ev.State, ev.N, ev.Detail = s, int64(done), detail
		o.Progress(ev)
	}
}

// detail is the progress detail of a run that reads text: how many files
// it has read so far.
func (p *pipeline) detail(t *tally) string {
	if p.opts.Text == nil {
		return ""
	}
	return fmt.Sprintf("text read in %d", t.textRead)
}

// hook reports to the test hook that stage finished a piece of work.
func (o Options) hook(stage string) {
	if o.stageHook != nil {
		o.stageHook(stage)
	}
}
