package config

import (
	"context"
	"image"
	"sync"

	"github.com/cliprag/cliprag/embed/ocr"
	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/retriever"
)

// TextReader is the OCR engine (embed/ocr) as the operations' text reader
// (tools.TextReader). It loads the engine, downloading its models when
// needed, on the first read, so that commands that never read text never
// load it; a load that fails is tried again on the next read. It is safe
// for concurrent use; Close releases the engine.
type TextReader struct {
	opts ocr.Options

	mu     sync.Mutex
	engine *ocr.Engine
}

// TextReader returns the text reader on the configured settings (see
// OCROptions); modelDir is a -ocr-model folder, empty for the cache.
func (c *Config) TextReader(modelDir string, report progress.Func) *TextReader {
	return &TextReader{opts: c.OCROptions(modelDir, report)}
}

// ID names the engine and its models.
func (r *TextReader) ID() string { return "pp-ocrv4 " + ocr.ModelPackage + "@" + ocr.ModelVersion }

// Engine returns the engine, loading it on first use.
func (r *TextReader) Engine(ctx context.Context) (*ocr.Engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.engine != nil {
		return r.engine, nil
	}
	e, err := ocr.New(ctx, r.opts)
	if err != nil {
		return nil, err
	}
	r.engine = e
	return e, nil
}

// ReadText reads the lines of text in img.
func (r *TextReader) ReadText(ctx context.Context, img image.Image) ([]retriever.TextLine, error) {
	e, err := r.Engine(ctx)
	if err != nil {
		return nil, err
	}
	res, err := e.Read(ctx, img)
	if err != nil {
		return nil, err
	}
	return TextLines(res.Lines), nil
}

// ReadTextCounted is ReadText that also returns how many of the boxes the
// engine found it could not crop and read (ocr.Stats.Skipped), for
// ingest's summary.
func (r *TextReader) ReadTextCounted(ctx context.Context, img image.Image) ([]retriever.TextLine, int, error) {
	e, err := r.Engine(ctx)
	if err != nil {
		return nil, 0, err
	}
	res, err := e.Read(ctx, img)
	if err != nil {
		return nil, 0, err
	}
	return TextLines(res.Lines), res.Stats.Skipped, nil
}

// TextLines converts the engine's lines to the index's.
func TextLines(lines []ocr.Line) []retriever.TextLine {
	out := make([]retriever.TextLine, 0, len(lines))
	for _, l := range lines {
		tl := retriever.TextLine{Text: l.Text, Confidence: l.Confidence}
		for i, p := range l.Box {
			tl.Box[i] = [2]int{p.X, p.Y}
		}
		out = append(out, tl)
	}
	return out
}

// Close releases the engine, if it was loaded.
func (r *TextReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.engine.Close()
	r.engine = nil
	return err
}
