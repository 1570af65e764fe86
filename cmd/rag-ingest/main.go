// Command rag-ingest indexes folders of images for cliprag.
//
//	rag-ingest [flags] PATH...
//	rag-ingest -watch [flags] FOLDER...
//
// It walks the folders, embeds every supported image with the configured
// CLIP model and writes it to the configured index (an embedded store by
// default, or Qdrant). Runs are incremental: unchanged files are skipped, so
// running it again after an interruption continues where it stopped.
// -exclude GLOB and .clipragignore files in the folders leave files out
// (see ingest.IgnoreFile for the syntax); -watch keeps the index in step
// with the folders until Ctrl-C. -ocr reads the text in every image
// (PaddleOCR's PP-OCRv4 models, fetched on first use or read from
// -ocr-model DIR) and stores its lines with the record, so searches match
// it; turned on for an existing index, it reads the text of the images
// indexed without it and keeps their vectors.
//
// Exit status: 0 when every file was indexed, 3 when some files failed (they
// are listed, the rest were indexed), 1 for a fatal error (model or store
// unavailable), 2 for bad usage, 130 when interrupted (0 when a watch is
// stopped).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/internal/cli"
	"github.com/cliprag/cliprag/internal/config"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// Exit codes.
const (
	exitOK          = 0
	exitFatal       = 1
	exitUsage       = 2
	exitSomeFailed  = 3
	exitInterrupted = 130
)

func main() {
	ctx, stop := cli.SignalContext(context.Background(), "rag-ingest", os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// command is a parsed command line.
type command struct {
	cfg      *config.Config
	opts     ingest.Options
	ocr      bool
	ocrModel string
	quiet    bool
	json     bool
	watch    bool
	stdout   io.Writer
	stderr   io.Writer
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, ok := parse(args, stdout, stderr)
	if !ok {
		return code
	}
	var progressOut io.Writer // progress (model downloads, the runs) goes to stderr
	if !c.quiet {
		progressOut = stderr
		c.opts.Progress = progress.New(stderr)
	}
	m, err := c.cfg.OpenModel(ctx, progressOut)
	if err != nil {
		if text, ok := config.ExplainError(err); ok {
			fmt.Fprintln(stderr, "rag-ingest: "+text)
			return exitFatal
		}
		fmt.Fprintf(stderr, "rag-ingest: %s\n", tools.Printable(err.Error()))
		return exitFatal
	}
	defer m.Close()
	s, err := c.cfg.OpenStore(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "rag-ingest: %s\n", tools.Printable(err.Error()))
		return exitFatal
	}
	defer s.Close()
	if c.ocr {
		r := c.cfg.TextReader(c.ocrModel, c.opts.Progress)
		defer r.Close()
		c.opts.Text = r
	}
	if c.watch {
		return c.runWatch(ctx, m, s)
	}
	return c.runOnce(ctx, m, s)
}

// parse parses the command line; ok false means exit with code.
func parse(args []string, stdout, stderr io.Writer) (c *command, code int, ok bool) {
	fs := flag.NewFlagSet("rag-ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Flags(fs)
	var (
		hidden    = fs.Bool("hidden", false, "include hidden files and folders")
		exts      = fs.String("ext", strings.Join(ingest.DefaultExtensions, ","), "comma-separated file extensions to index")
		excludes  stringList
		prune     = fs.Bool("prune", false, "remove records whose files are gone or excluded")
		dryRun    = fs.Bool("dry-run", false, "say what would be done, change nothing")
		watch     = fs.Bool("watch", false, "after indexing, keep the index in step with the folders as files are added, changed, moved or deleted, until Ctrl-C")
		tagsFile  = fs.String("tags", "", "file of zero-shot tag labels, one per line (any language the model supports)")
		templates stringList
		topTags   = fs.Int("top-tags", ingest.DefaultTopTags, "at most this many tags per image")
		minProb   = fs.Float64("min-tag-prob", ingest.DefaultMinTagProb, "tags below this probability are not stored (0: keep every tag up to -top-tags)")
		workers   = fs.Int("workers", runtime.NumCPU(), "decode workers; the default is the number of CPUs")
		batch     = fs.Int("batch", embed.DefaultBatchSize, "images per model call")
		quiet     = fs.Bool("quiet", false, "no progress output on stderr")
		asJSON    = fs.Bool("json", false, "print the summary as JSON (with -watch, one object a line per run)")
		showVer   = fs.Bool("version", false, "print the version and exit")
		ocrOn     = fs.Bool("ocr", false, "read the text in every image (OCR, PP-OCRv4; models fetched on first use) and store it, so searches match it; on an index made without it, reads the text of the images already indexed, keeping their vectors")
		ocrModel  = fs.String("ocr-model", "", "with -ocr: a folder holding the OCR model files (det, rec, dictionary), used instead of fetching them")
	)
	cfg.Env(fs, "ocr", "CLIPRAG_OCR")
	cfg.Env(fs, "ocr-model", "CLIPRAG_OCR_MODEL")
	fs.Var(&excludes, "exclude", "leave out files and folders matching GLOB, in "+ingest.IgnoreFile+" syntax (repeatable)")
	fs.Var(&templates, "tag-template", "prompt template for tags, {} is the label (repeatable; default: the model's)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: rag-ingest [flags] PATH...\n       rag-ingest -watch [flags] FOLDER...\n\nIndex the images in PATHs (folders or files) for cliprag.\n\n")
		fmt.Fprintf(stderr, "A %s file in a folder lists what to leave out there and below, one\ngitignore-style pattern a line (*.tmp, raw/, /exports, **/cache, !keep.png).\n\nFlags:\n", ingest.IgnoreFile)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nExit status: 0 all indexed, 3 some files failed, 1 fatal error, 2 usage, 130 interrupted\n(-watch: 0 when stopped with Ctrl-C).\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, false
		}
		return nil, exitUsage, false
	}
	if *showVer {
		fmt.Fprintln(stdout, "rag-ingest", version)
		return nil, exitOK, false
	}
	usage := func(format string, a ...any) (*command, int, bool) {
		fmt.Fprintf(stderr, "rag-ingest: %s\n", tools.Printable(fmt.Sprintf(format, a...)))
		return nil, exitUsage, false
	}
	switch {
	case fs.NArg() == 0:
		return usage("no PATH given (try: rag-ingest ./photos)")
	case *watch && *dryRun:
		return usage("-watch and -dry-run do not go together")
	}
	if err := ingest.CheckExclude(excludes); err != nil {
		return usage("-%v", err)
	}
	if err := cfg.Resolve(fs); err != nil {
		return usage("%v", err)
	}
	c = &command{cfg: cfg, quiet: *quiet, json: *asJSON, watch: *watch, ocr: *ocrOn, ocrModel: *ocrModel, stdout: stdout, stderr: stderr}
	c.opts = ingest.Options{
		Paths:        fs.Args(),
		Hidden:       *hidden,
		Extensions:   splitList(*exts),
		Exclude:      excludes,
		Prune:        *prune,
		DryRun:       *dryRun,
		TagTemplates: templates,
		TopTags:      *topTags,
		MinTagProb:   tagProb(*minProb),
		Workers:      *workers,
		BatchSize:    *batch,
	}
	if *tagsFile != "" {
		labels, err := tools.ReadLabels(*tagsFile)
		if err != nil {
			return usage("--tags: %v", err)
		}
		c.opts.Tags = labels
	}
	return c, exitOK, true
}

// runOnce indexes the paths once and prints the summary.
func (c *command) runOnce(ctx context.Context, m ingest.Encoder, s retriever.Store) int {
	sum, err := ingest.Run(ctx, m, s, c.opts)
	c.print(sum, err, m.ID(), s.String())
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(c.stderr, "rag-ingest: interrupted; run the same command again to continue where it stopped")
		return exitInterrupted
	case err != nil:
		if text, ok := config.ExplainError(err); ok {
			fmt.Fprintln(c.stderr, "rag-ingest: "+text)
			return exitFatal
		}
		fmt.Fprintf(c.stderr, "rag-ingest: %s\n", tools.Printable(err.Error()))
		return exitFatal
	case len(sum.Failed) > 0:
		return exitSomeFailed
	}
	return exitOK
}

// runWatch indexes the folders and keeps the index in step with them,
// printing a summary for the first run and for each that changed
// something, until ctx ends.
func (c *command) runWatch(ctx context.Context, m ingest.Encoder, s retriever.Store) int {
	if !c.quiet {
		fmt.Fprintf(c.stderr, "rag-ingest: watching %s for changes (Ctrl-C stops)\n", tools.Printable(strings.Join(c.opts.Paths, ", ")))
	}
	err := ingest.Watch(ctx, m, s, c.opts, ingest.WatchOptions{OnRun: func(r ingest.WatchRun) {
		sum := r.Summary
		if r.Reason != ingest.WatchInitial && r.Err == nil && sum.Indexed+sum.Updated+sum.Retagged+sum.Pruned+len(sum.Failed) == 0 {
			return
		}
		c.print(sum, r.Err, m.ID(), s.String())
		if r.Err != nil && ctx.Err() == nil {
			fmt.Fprintf(c.stderr, "rag-ingest: %s\n", tools.Printable(r.Err.Error()))
		}
	}})
	if err != nil {
		fmt.Fprintf(c.stderr, "rag-ingest: %s\n", tools.Printable(err.Error()))
		return exitFatal
	}
	if !c.quiet {
		fmt.Fprintln(c.stderr, "rag-ingest: stopped watching")
	}
	return exitOK
}

// print writes a run's summary: a JSON object (one line when watching) or
// the summary lines.
func (c *command) print(sum ingest.Summary, err error, model, store string) {
	if !c.json {
		printSummary(c.stdout, sum, model, store)
		return
	}
	out := struct {
		ingest.Summary
		Model string `json:"model"`
		Store string `json:"store"`
		Error string `json:"error,omitempty"`
	}{Summary: sum, Model: model, Store: store}
	if err != nil {
		out.Error = err.Error()
	}
	enc := json.NewEncoder(c.stdout)
	if !c.watch {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(out)
}

func printSummary(w io.Writer, s ingest.Summary, model, store string) {
	verb := ""
	if s.DryRun {
		verb = "dry run, would have: "
	}
	fmt.Fprintf(w, "%sindexed %d, updated %d, retagged %d, skipped %d unchanged, %d duplicates, pruned %d, failed %d of %d images in %.1fs (%.1f images/s)\n",
		verb, s.Indexed, s.Updated, s.Retagged, s.Skipped, s.Duplicates, s.Pruned, len(s.Failed), s.Found, s.Seconds, s.ImagesPerSec)
	if s.TextBy != "" {
		found := fmt.Sprintf(" (%d lines", s.TextLines)
		if s.TextSkipped > 0 {
			found += fmt.Sprintf(", %d text boxes could not be read", s.TextSkipped)
		}
		found += ")"
		if s.DryRun {
			found = "" // nothing was read
		}
		fmt.Fprintf(w, "%sread text in %d images%s with %s\n", verb, s.TextRead, found, s.TextBy)
	}
	fmt.Fprintf(w, "model %s, index %s\n", model, store)
	for _, f := range s.Failed {
		fmt.Fprintf(w, "  failed: %s: %s\n", tools.Printable(f.Path), tools.Printable(f.Reason))
	}
	for _, p := range s.Previews {
		fmt.Fprintf(w, "  read through its embedded JPEG preview: %s\n", p)
	}
}

// tagProb maps -min-tag-prob to ingest.Options.MinTagProb, where 0 means
// the default and a negative value no threshold.
func tagProb(p float64) float32 {
	if p <= 0 {
		return -1
	}
	return float32(p)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
