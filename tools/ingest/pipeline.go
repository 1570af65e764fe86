package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/cliprag/cliprag/embed/preprocess"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/retriever"
)

// pipeline carries the files that need reading through named stages, each
// a function that reads its input channel until it is closed, writes its
// output channel, and returns; the stage group closes a stage's output when
// every copy of it has returned:
//
//	feed → read ×Workers → classify → decode ×Workers → [text ×2] → embed → write
//	                                                                  retag ↗
//
// beside which retag re-tags the records of unchanged files (when the tag
// set changed) from their stored vectors, into write.
//
// The stages:
//   - feed hands out the files, in order.
//   - read opens, reads and hashes a file (readFile is the one place a
//     file is opened).
//   - classify, one goroutine, decides what a file needs: nothing (the same
//     content as another file: a duplicate), its record rewritten with the
//     vector the index has (a touched or moved file), or the model.
//   - decode decodes and preprocesses the files the model needs.
//   - text, in a run with Options.Text only, reads the text in the files
//     that need it (OCR): new content, and records read by another
//     reader or never (then the stored vector is kept).
//   - embed batches them through the model and tags them.
//   - write upserts records in groups.
//
// A further stage goes between decode and embed as text does: a method of
// the same shape, started with as many copies as it needs, reading
// decode's output and writing embed's input. decode drops the file's bytes
// (item.data) after use unless the text stage needs them; text drops them.
//
// No stage counts anything: each reports what became of a file as an event
// to the tally, one goroutine that owns the counts. On cancellation every
// stage stops taking new work, but once the model has embedded a batch
// nothing drops it: embed hands it to write without watching ctx, and
// write writes every batch it receives (with a context that outlives the
// run's, bounded in time) until its input closes.
type pipeline struct {
	enc    Encoder
	store  retriever.Store
	opts   Options
	byID   map[string]retriever.FileEntry // the index before the run
	tagger *tagger                        // nil: no tags

	events chan<- event
	cancel context.CancelCauseFunc
}

// job is a file that needs reading.
type job struct {
	candidate
	old []retriever.FileEntry // the records at this path before the run
}

// item is one file on its way through the pipeline; each stage fills in
// its part.
type item struct {
	job
	data          []byte            // read → decode: the file's bytes
	sha, id       string            // read: content hash and record id
	reuse         *retriever.Record // classify: the index already has this content's vector
	pixels        []float32         // decode → embed: the model's input
	width, height int
	format        string
	preview       bool                 // decoded from its embedded JPEG preview (camera RAW)
	text          []retriever.TextLine // text → embed: the lines read
	textRead      bool                 // text: read by Options.Text (a dry run: would be)
	textSkipped   int                  // text: boxes found but not read (see textCounter)
}

// written is a record for write, with what it is.
type written struct {
	rec     retriever.Record
	outcome outcome // indexed, updated or retagged
	preview bool    // read through its embedded JPEG preview
	text    bool    // its text was read in this run
	skipped int     // text boxes found but not read
}

// Stage names, reported to Options' test hook as each stage finishes one
// piece of work.
const (
	stageWalk     = "walk"
	stageList     = "list"
	stageTags     = "tags"
	stageRead     = "read"
	stageClassify = "classify"
	stageDecode   = "decode"
	stageText     = "text"
	stageEmbed    = "embed"
	stageRetag    = "retag"
	stageWrite    = "write"
	stagePrune    = "prune"
)

// Bounds of the write stage.
const (
	maxWrite     = 128             // records per store write
	writeTimeout = 2 * time.Minute // per store write, also after cancellation
)

// run carries todo through the stages, re-tags the records of retag, and
// returns the tally.
func (p *pipeline) run(ctx context.Context, todo []job, retag []retriever.FileEntry) (*tally, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p.cancel = cancel

	events := make(chan event, 64)
	p.events = events
	t := newTally()
	tallied := make(chan struct{})
	report := p.opts.report(len(todo) + len(retag))
	go func() {
		defer close(tallied)
		for e := range events {
			t.add(e)
			report(progress.Update, t.done(), p.detail(t))
		}
	}()
	defer func() { close(events); <-tallied; report(progress.Done, t.done(), p.detail(t)) }()

	if !p.opts.DryRun {
		if err := p.tagger.load(ctx, p.enc); err != nil {
			return t, err
		}
	}
	p.opts.hook(stageTags)

	g := stageGroup{cancel: cancel}
	jobs, read, sorted, decoded := make(chan item), make(chan item), make(chan item), make(chan item)
	recs := make(chan []written, 2)
	startStage(&g, jobs, func() error { return p.feed(ctx, todo, jobs) })
	startStage(&g, read, copies(p.opts.Workers, func() error { return p.read(ctx, jobs, read) })...)
	startStage(&g, sorted, func() error { return p.classify(ctx, read, sorted) })
	startStage(&g, decoded, copies(p.opts.Workers, func() error { return p.decode(ctx, sorted, decoded) })...)
	toEmbed := decoded
	if p.opts.Text != nil {
		read := make(chan item)
		startStage(&g, read, copies(textReaders, func() error { return p.readText(ctx, decoded, read) })...)
		toEmbed = read
	}
	startStage(&g, recs,
		func() error { return p.embed(ctx, toEmbed, recs) },
		func() error { return p.retag(ctx, retag, recs) })
	werr := p.write(ctx, recs)
	g.wait()
	if err := context.Cause(ctx); err != nil {
		return t, err
	}
	return t, werr
}

// stageGroup runs the stages' goroutines; an error from one stops the run.
type stageGroup struct {
	wg     sync.WaitGroup
	cancel context.CancelCauseFunc
}

// startStage runs each of fs in a goroutine of its own and closes out,
// the channel they write, when all have returned.
func startStage[T any](g *stageGroup, out chan<- T, fs ...func() error) {
	var running sync.WaitGroup
	running.Add(len(fs))
	g.wg.Add(len(fs) + 1)
	for _, f := range fs {
		go func() {
			defer g.wg.Done()
			defer running.Done()
			if err := f(); err != nil {
				g.cancel(err)
			}
		}()
	}
	go func() {
		defer g.wg.Done()
		running.Wait()
		close(out)
	}()
}

// copies returns n copies of f, for a stage that runs on n goroutines.
func copies(n int, f func() error) []func() error {
	fs := make([]func() error, n)
	for i := range fs {
		fs[i] = f
	}
	return fs
}

func (g *stageGroup) wait() { g.wg.Wait() }

// send passes v on unless the run is cancelled first.
func send[T any](ctx context.Context, out chan<- T, v T) bool {
	select {
	case out <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *pipeline) emit(e event) { p.events <- e }

func (p *pipeline) fail(it item, err error) {
	p.emit(event{outcome: failed, path: it.path, reason: err.Error()})
}

// feed hands out the files.
func (p *pipeline) feed(ctx context.Context, todo []job, out chan<- item) error {
	for _, j := range todo {
		if !send(ctx, out, item{job: j}) {
			return nil
		}
	}
	return nil
}

// read reads and hashes files.
func (p *pipeline) read(ctx context.Context, in <-chan item, out chan<- item) error {
	for it := range in {
		data, fi, err := readFile(ctx, it.candidate, p.opts.MaxFileBytes)
		if err != nil {
			if ctx.Err() != nil {
				return nil // cancelled: not the file's fault
			}
			p.fail(it, err)
			continue
		}
		h := sha256.Sum256(data)
		it.data, it.info = data, fi
		it.sha = hex.EncodeToString(h[:])
		it.id = retriever.RecordID(it.sha, p.enc.ID())
		p.opts.hook(stageRead)
		if !send(ctx, out, it) {
			return nil
		}
	}
	return nil
}

// classify decides what each file needs. It is one goroutine, so the
// first of several files with the same content is the one indexed.
func (p *pipeline) classify(ctx context.Context, in <-chan item, out chan<- item) error {
	claimed := map[string]string{} // record id → the path that has it in this run
	for it := range in {
		dup, err := p.sort(ctx, &it, claimed)
		if err != nil {
			return err
		}
		p.opts.hook(stageClassify)
		if dup {
			p.emit(event{outcome: duplicate, path: it.path, id: it.id, old: ids(it.old)})
			continue
		}
		if !send(ctx, out, it) {
			return nil
		}
	}
	return nil
}

// sort reports whether it is a duplicate of another file; otherwise it
// claims its content for it and, when the index already has the vector,
// sets it.reuse.
func (p *pipeline) sort(ctx context.Context, it *item, claimed map[string]string) (bool, error) {
	if other, ok := claimed[it.id]; ok && other != it.path {
		return true, nil // two files with the same content in this run
	}
	e, known := p.byID[it.id]
	if known && e.Path != it.path {
		if _, err := os.Stat(e.Path); err == nil {
			return true, nil // the same content as an indexed file that is still there
		}
	}
	claimed[it.id] = it.path
	if !known {
		return false, nil
	}
	recs, err := p.store.Get(ctx, []string{it.id})
	if err != nil {
		return false, fmt.Errorf("read index %s: %w", p.store, err)
	}
	if len(recs) == 1 {
		it.reuse = &recs[0]
		if !p.needsText(it) {
			it.data = nil
		}
		it.width, it.height, it.format = recs[0].Payload.Width, recs[0].Payload.Height, recs[0].Payload.Format
	}
	return false, nil
}

// decode decodes and preprocesses the files the model needs; the others
// pass through.
func (p *pipeline) decode(ctx context.Context, in <-chan item, out chan<- item) error {
	pre := p.enc.Preprocessor()
	for it := range in {
		if it.reuse == nil {
			pixels, info, err := pre.BytesContext(ctx, it.path, it.data)
			if p.opts.Text == nil {
				it.data = nil
			}
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				p.fail(it, preprocess.Reason(err))
				continue
			}
			it.pixels, it.width, it.height, it.format, it.preview = pixels, info.Width, info.Height, info.Format, info.Preview
			p.opts.hook(stageDecode)
		}
		if !send(ctx, out, it) {
			return nil
		}
	}
	return nil
}

// embed runs the model over batches of files and tags them, and passes
// records with reused vectors on. It hands every record it makes to write
// whatever becomes of ctx: write drains its input.
func (p *pipeline) embed(ctx context.Context, in <-chan item, out chan<- []written) error {
	batch := make([]item, 0, p.opts.BatchSize)
	for it := range in {
		if it.reuse != nil {
			out <- []written{p.reused(it)}
			continue
		}
		batch = append(batch, it)
		if len(batch) < p.opts.BatchSize {
			continue
		}
		if err := p.embedBatch(ctx, batch, out); err != nil {
			return err
		}
		clear(batch) // let the tensors go
		batch = batch[:0]
	}
	return p.embedBatch(ctx, batch, out)
}

// embedBatch embeds one batch and sends its records to write. A batch not
// yet embedded when the run is cancelled is dropped; nothing of it was
// embedded.
func (p *pipeline) embedBatch(ctx context.Context, batch []item, out chan<- []written) error {
	if len(batch) == 0 || ctx.Err() != nil {
		return nil
	}
	vecs := make([][]float32, len(batch))
	if !p.opts.DryRun {
		pixels := make([][]float32, len(batch))
		for i, b := range batch {
			pixels[i] = b.pixels
		}
		var err error
		if vecs, err = p.enc.EmbedPixels(ctx, pixels); err != nil {
			return fmt.Errorf("embed images: %w", err)
		}
		if len(vecs) != len(batch) {
			return fmt.Errorf("embed images: %d vectors for %d images", len(vecs), len(batch))
		}
	}
	p.opts.hook(stageEmbed)
	ws := make([]written, len(batch))
	for i, b := range batch {
		rec := retriever.Record{ID: b.id, Vector: vecs[i], Payload: p.payload(b)}
		if p.tagger != nil {
			rec.Payload.Tags, rec.Payload.TagSet = p.tagger.tags(vecs[i]), p.tagger.set
		}
		ws[i] = written{rec: rec, outcome: indexed, preview: b.preview, text: b.textRead, skipped: b.textSkipped}
	}
	out <- ws // not watching ctx: this batch is embedded
	return nil
}

// reused is the record of a file whose content the index already has,
// with its tags (re-chosen from its vector if the tag set changed).
func (p *pipeline) reused(it item) written {
	rec := *it.reuse
	rec.Payload = p.payload(it)
	rec.Payload.Tags, rec.Payload.TagSet = it.reuse.Payload.Tags, it.reuse.Payload.TagSet
	if !it.textRead {
		rec.Payload.Text, rec.Payload.TextBy = it.reuse.Payload.Text, it.reuse.Payload.TextBy
	}
	p.tagger.apply(&rec)
	return written{rec: rec, outcome: updated, text: it.textRead, skipped: it.textSkipped}
}

// retag re-tags the records of unchanged files from the vectors the index
// holds: no file is read and the image model is not called.
func (p *pipeline) retag(ctx context.Context, es []retriever.FileEntry, out chan<- []written) error {
	const chunk = 64
	for i := 0; i < len(es) && ctx.Err() == nil; i += chunk {
		recs, err := p.store.Get(ctx, ids(es[i:min(i+chunk, len(es))]))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read index %s: %w", p.store, err)
		}
		ws := make([]written, len(recs))
		for j := range recs {
			p.tagger.apply(&recs[j])
			ws[j] = written{rec: recs[j], outcome: retagged}
		}
		out <- ws
		p.opts.hook(stageRetag)
	}
	return nil
}

// payload is the payload of it's record, without tags; with the text read
// in this run, if any.
func (p *pipeline) payload(it item) retriever.Payload {
	textBy := ""
	if it.textRead {
		textBy = p.opts.Text.ID()
	}
	return retriever.Payload{
		Path:      it.path,
		SHA256:    it.sha,
		Size:      it.info.Size(),
		ModTime:   it.info.ModTime(),
		Width:     it.width,
		Height:    it.height,
		Format:    it.format,
		Folder:    filepath.Dir(it.path),
		IndexedAt: time.Now().UTC(),
		Model:     p.enc.ID(),
		Text:      it.text,
		TextBy:    textBy,
	}
}

// write upserts records in groups as they come, merging groups that are
// already waiting when the model is ahead of the store. It writes
// everything it receives, after cancellation too (with a context of its
// own, bounded by writeTimeout per write), so that nothing embedded is
// lost; after a store error it drains its input without writing.
func (p *pipeline) write(ctx context.Context, in <-chan []written) error {
	wctx := context.WithoutCancel(ctx)
	var werr error
	var pending []written
	for ws := range in {
		if werr != nil {
			continue
		}
		pending = append(pending, ws...)
	merge:
		for len(pending) < maxWrite {
			select {
			case more, ok := <-in:
				if !ok {
					break merge
				}
				pending = append(pending, more...)
			default:
				break merge
			}
		}
		if err := p.flush(wctx, pending); err != nil {
			werr = err
			p.cancel(err)
		}
		pending = pending[:0]
	}
	return werr
}

// flush writes ws (a dry run writes nothing) and reports them to the tally.
func (p *pipeline) flush(ctx context.Context, ws []written) error {
	if !p.opts.DryRun {
		recs := make([]retriever.Record, len(ws))
		for i, w := range ws {
			recs[i] = w.rec
		}
		ctx, cancel := context.WithTimeout(ctx, writeTimeout)
		defer cancel()
		if err := p.store.Upsert(ctx, recs); err != nil {
			return fmt.Errorf("write index %s: %w", p.store, err)
		}
	}
	for _, w := range ws {
		p.emit(event{outcome: w.outcome, path: w.rec.Payload.Path, id: w.rec.ID, preview: w.preview, text: w.text, lines: len(w.rec.Payload.Text), skipped: w.skipped})
	}
	p.opts.hook(stageWrite)
	return nil
}

// ids returns the ids of es.
func ids(es []retriever.FileEntry) []string {
	if len(es) == 0 {
		return nil
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
