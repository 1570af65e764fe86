package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/internal/config"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/retriever/stores"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
)

// common are the flags every command has.
type common struct {
	cfg   *config.Config
	json  *bool
	quiet *bool
}

func commonFlags(fs *flag.FlagSet) *common {
	return &common{
		cfg:   config.Flags(fs),
		json:  fs.Bool("json", false, "print JSON instead of a table"),
		quiet: fs.Bool("quiet", false, "no progress or timing messages on stderr"),
	}
}

// progress is where model download and encoding progress go.
func (c *common) progress(e *env) io.Writer {
	if *c.quiet {
		return nil
	}
	return e.stderr
}

// openModel loads the configured model, or when none is configured and an
// index st is given, the model st was built with; a model other than the
// one that built st is an error naming both.
func (c *common) openModel(ctx context.Context, e *env, st retriever.Store) (*embed.Model, error) {
	if st != nil {
		if err := c.cfg.UseIndexModel(ctx, st); err != nil {
			return nil, indexErr(err)
		}
	}
	m, err := c.cfg.OpenModel(ctx, c.progress(e))
	if err != nil {
		return nil, err // embed.Load's errors name the model
	}
	if st == nil {
		return m, nil
	}
	have, err := st.Collection(ctx)
	if err == nil {
		if want := (retriever.Collection{Model: m.ID(), Dim: m.Dim()}); have != want {
			m.Close()
			return nil, indexErr(&retriever.MismatchError{Store: st.String(), Have: have, Want: want})
		}
	}
	return m, nil
}

// emptyIndexError says the index has nothing to search.
func emptyIndexError(spec string) error {
	return indexErr(fmt.Errorf("the index at %s is empty: run rag-ingest FOLDER first (or search a folder directly with --dir FOLDER)", spec))
}

// openIndex opens the configured index read-only, so that it can be
// searched while rag-ingest writes. A missing index is an error (for a
// search, the same as an empty one); an empty one is not (see
// checkNotEmpty).
func (c *common) openIndex(ctx context.Context, search bool) (retriever.Store, error) {
	spec := c.cfg.StoreSpec()
	st, err := stores.Open(ctx, spec, stores.Options{QdrantAPIKey: c.cfg.QdrantAPIKey, ReadOnly: true})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if search {
				return nil, emptyIndexError(spec)
			}
			return nil, indexErr(fmt.Errorf("there is no index at %s: run rag-ingest FOLDER first", spec))
		}
		return nil, indexErr(err)
	}
	if _, err := st.Collection(ctx); err != nil && !errors.Is(err, retriever.ErrNotFound) {
		st.Close()
		return nil, indexErr(fmt.Errorf("open index %s: %w", spec, err))
	}
	return st, nil
}

// checkNotEmpty says when st has no images to search.
func (c *common) checkNotEmpty(ctx context.Context, st retriever.Store) error {
	n, err := st.Count(ctx)
	if err != nil {
		return indexErr(fmt.Errorf("count %s: %w", c.cfg.StoreSpec(), err))
	}
	if n == 0 {
		return emptyIndexError(c.cfg.StoreSpec())
	}
	return nil
}

// openIndexAndModel opens the index, then the model it was built with (or
// the configured one, which must match), and checks that the index has
// images to search.
func (c *common) openIndexAndModel(ctx context.Context, e *env) (*embed.Model, retriever.Store, error) {
	st, err := c.openIndex(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	m, err := c.openModel(ctx, e, st)
	if err == nil {
		err = c.checkNotEmpty(ctx, st)
		if err != nil {
			m.Close()
		}
	}
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return m, st, nil
}

// encodeDir embeds the images under dir into an in-memory store with the
// ingest pipeline, showing progress and saying how long it took.
func (c *common) encodeDir(ctx context.Context, e *env, m *embed.Model, dir string) (retriever.Store, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fileErr("no such folder: %s", dir)
	case err != nil:
		return nil, fileErr("cannot read folder %s: %v", dir, err)
	case !info.IsDir():
		return nil, usageErr("--dir %s is a file, not a folder", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fileErr("folder %s: %v", dir, err)
	}
	st := local.OpenMemory(nil)
	sum, err := ingest.Run(ctx, m, st, ingest.Options{Paths: []string{abs}, Progress: progress.Writer(c.progress(e))})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("encode %s: %w", dir, err)
	}
	if !*c.quiet && (sum.Indexed > 0 || len(sum.Failed) > 0) {
		msg := fmt.Sprintf("encoded %d images in %s", sum.Indexed, seconds(sum.Duration))
		if sum.Indexed > 0 && sum.Duration > 0 {
			msg += fmt.Sprintf(" (%.1f images/s)", sum.ImagesPerSec)
		}
		if sum.Duplicates > 0 {
			msg += fmt.Sprintf("; %s left out (same content as another file)", plural(sum.Duplicates, "duplicate"))
		}
		if n := len(sum.Failed); n > 0 {
			msg += fmt.Sprintf("; %d could not be read (first: %s: %s)", n, sum.Failed[0].Path, oneLine(sum.Failed[0].Reason))
		}
		fmt.Fprintln(e.stderr, tools.Printable(msg))
	}
	n, err := st.Count(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if n == 0 {
		st.Close()
		return nil, indexErr(fmt.Errorf("no readable images in %s (looked for %s)", dir, strings.Join(ingest.DefaultExtensions, " ")))
	}
	return st, nil
}

// seconds formats a duration as "1.3s" or "240ms".
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// imageArg turns a command-line image argument into a reference: an
// existing file (made absolute), else an indexed image id (UUID or
// image://ID), a data: URI or an http(s) URL. root is the folder of a
// file, which the service must be allowed to read.
func imageArg(arg string) (ref tools.ImageRef, root string, err error) {
	if arg == "" {
		return ref, "", usageErr("empty image argument")
	}
	info, statErr := os.Stat(arg)
	if statErr == nil {
		if info.IsDir() {
			return ref, "", fileErr("%s is a folder, not an image", arg)
		}
		abs, err := filepath.Abs(arg)
		if err != nil {
			return ref, "", fileErr("%s: %v", arg, err)
		}
		res, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return ref, "", fileErr("%s: %v", arg, err)
		}
		return tools.ImageRef{Path: res}, filepath.Dir(res), nil
	}
	ref = tools.RefFromString(arg)
	if ref.Path != "" {
		if errors.Is(statErr, fs.ErrNotExist) {
			return ref, "", fileErr("no such file: %s", arg)
		}
		return ref, "", fileErr("cannot read %s: %v", arg, statErr)
	}
	return ref, "", nil
}

// newService builds the tools service over m and st; roots are the folders
// of the image files named on the command line.
func newService(m tools.Encoder, st retriever.Store, roots []string, urls bool) (*tools.Service, error) {
	svc, err := tools.New(m, st, tools.Options{Roots: roots, AllowURLs: urls, Timeout: 24 * time.Hour})
	if err != nil {
		return nil, fmt.Errorf("tools: %w", err)
	}
	return svc, nil
}

// flagNames maps the tools' JSON argument names to rag-search's flags.
var flagNames = map[string]string{
	"query":     "QUERY",
	"top_k":     "--top-k",
	"min_score": "--min-score",
	"tags":      "--tags",
	"all_tags":  "--all-tags",
	"folder":    "--folder",
	"labels":    "--labels",
	"template":  "--template",
}

// serviceErr gives an error from the tools service its exit status and
// rag-search's names for arguments.
func serviceErr(err error) error {
	var ie *tools.InputError
	if errors.As(err, &ie) {
		f := ie.Field
		switch {
		case strings.HasSuffix(f, ".path"), strings.HasSuffix(f, ".data_uri"), strings.HasSuffix(f, ".url"):
			return fileErr("%s", ie.Msg)
		case strings.HasSuffix(f, ".id"):
			return usageErr("%s", ie.Msg)
		case flagNames[f] != "":
			return usageErr("%s: %s", flagNames[f], ie.Msg)
		}
		return usageErr("%s", ie.Error())
	}
	var me *retriever.MismatchError
	if errors.As(err, &me) {
		return indexErr(err)
	}
	return err
}
