package ingest

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/retriever"
)

// TextReader reads the text in images (OCR) for a run with Options.Text.
// The OCR engine of package embed/ocr is the real one (internal/config
// wires it in, loading its models on the first read); tests use fakes, so
// this package builds without cgo. It has the method set of
// tools.TextReader, so one value serves both.
type TextReader interface {
	// ID identifies the engine and its settings; records store it as
	// Payload.TextBy, and a run reads again the records read by another.
	ID() string
	// ReadText returns the lines of text in img (decoded at full
	// resolution, EXIF orientation applied), in reading order; none when
	// it has no text. An error stops the run (it is the engine's, not the
	// image's: a file that cannot be decoded fails on its own).
	ReadText(ctx context.Context, img image.Image) ([]retriever.TextLine, error)
}

// textCounter is a TextReader that also says how many of the text boxes
// it found it could not crop and read (the OCR engine skips them);
// Summary.TextSkipped adds them up. internal/config's reader is one.
type textCounter interface {
	ReadTextCounted(ctx context.Context, img image.Image) ([]retriever.TextLine, int, error)
}

// textReaders is how many files the text stage reads at once: two, so one
// image's detection overlaps another's recognition (the engine spreads
// each over its threads).
const textReaders = 2

// needsText reports whether the run reads it's text: a run with
// Options.Text does for every file it writes, except one whose record
// was read by the same reader.
func (p *pipeline) needsText(it *item) bool {
	if p.opts.Text == nil {
		return false
	}
	return it.reuse == nil || it.reuse.Payload.TextBy != p.opts.Text.ID()
}

// readText is the text stage, between decode and embed: it reads the text
// of the files that need it (a dry run only marks them) and drops the
// files' bytes.
func (p *pipeline) readText(ctx context.Context, in <-chan item, out chan<- item) error {
	for it := range in {
		if p.needsText(&it) {
			if !p.opts.DryRun {
				lines, skipped, err := p.textOf(ctx, &it)
				if ctx.Err() != nil {
					return nil
				}
				var ferr *fileError
				if errors.As(err, &ferr) {
					p.fail(it, ferr.err)
					it.data = nil
					continue
				}
				if err != nil {
					return err
				}
				it.text, it.textSkipped = lines, skipped
			}
			it.textRead = true
			p.opts.hook(stageText)
		}
		it.data = nil
		if !send(ctx, out, it) {
			return nil
		}
	}
	return nil
}

// fileError is a failure of one file, as opposed to the engine's.
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }

// textOf decodes it's bytes at full resolution (orientation applied; the
// decoded pixels reserved in preprocess.DefaultBudget while they are
// used) and reads its text.
func (p *pipeline) textOf(ctx context.Context, it *item) ([]retriever.TextLine, int, error) {
	if it.data == nil {
		return nil, 0, &fileError{fmt.Errorf("read text: the file's bytes are gone")}
	}
	release, err := preprocess.Reserve(ctx, it.data, preprocess.DecodeOptions{})
	if err != nil {
		return nil, 0, &fileError{preprocess.Reason(err)}
	}
	defer release()
	img, _, err := preprocess.Decode(it.path, it.data, preprocess.DecodeOptions{})
	if err != nil {
		return nil, 0, &fileError{preprocess.Reason(err)}
	}
	var lines []retriever.TextLine
	skipped := 0
	if c, ok := p.opts.Text.(textCounter); ok {
		lines, skipped, err = c.ReadTextCounted(ctx, img)
	} else {
		lines, err = p.opts.Text.ReadText(ctx, img)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read text in %s: %w", it.path, err)
	}
	return lines, skipped, nil
}
