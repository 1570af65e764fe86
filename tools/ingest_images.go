package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
)

// IngestImages indexes files or folders inside the allowed roots. It is
// refused unless Options.AllowIngest is set; one ingest runs at a time.
func (s *Service) IngestImages(ctx context.Context, in IngestInput) (ingest.Summary, error) {
	return s.IngestImagesProgress(ctx, in, nil)
}

// IngestImagesProgress is IngestImages that calls report with the files
// done so far and the files that need work (read or re-tagged), each time
// a file is done; report may be nil. Calls come from one goroutine.
func (s *Service) IngestImagesProgress(ctx context.Context, in IngestInput, report func(done, total int)) (ingest.Summary, error) {
	if !s.opts.AllowIngest {
		return ingest.Summary{}, inputErr("", "ingest is disabled on this server (start it with --allow-ingest)")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if len(in.Paths) == 0 {
		return ingest.Summary{}, inputErr("paths", "give at least one file or folder inside the allowed roots")
	}
	if len(in.Paths) > MaxIngestPaths {
		return ingest.Summary{}, inputErr("paths", "at most %d paths, got %d", MaxIngestPaths, len(in.Paths))
	}
	paths := make([]string, 0, len(in.Paths))
	for i, p := range in.Paths {
		l, err := s.locateExisting(ctx, p)
		if err != nil {
			return ingest.Summary{}, prefixField(fmt.Sprintf("paths[%d]", i), err)
		}
		paths = append(paths, l.path)
	}
	roots, err := s.rootList(ctx)
	if err != nil {
		return ingest.Summary{}, err
	}
	enc, err := s.encoder()
	if err != nil {
		return ingest.Summary{}, err
	}
	select {
	case s.ingestSem <- struct{}{}:
		defer func() { <-s.ingestSem }()
	case <-ctx.Done():
		return ingest.Summary{}, fmt.Errorf("ingest: waiting for the ingest already running: %w", context.Cause(ctx))
	}
	opts := ingest.Options{Paths: paths, Roots: make([]string, len(roots)), Tags: s.opts.IngestTags}
	for i, r := range roots {
		opts.Roots[i] = r.lex
	}
	if s.opts.IngestText && s.opts.TextReader != nil {
		opts.Text = s.opts.TextReader
	}
	if report != nil {
		opts.Progress = func(e progress.Event) { report(int(e.N), int(e.Total)) }
	}
	sum, err := ingest.Run(ctx, enc, s.store, opts)
	if err != nil {
		return sum, fmt.Errorf("ingest: %w", err)
	}
	return sum, nil
}

// IndexStats describes the index: model, store, size, tags and roots.
func (s *Service) IndexStats(ctx context.Context) (StatsOutput, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	n, err := s.store.Count(ctx)
	if err != nil {
		return StatsOutput{}, fmt.Errorf("count %s: %w", s.store, err)
	}
	tags, err := s.store.Tags(ctx)
	if err != nil {
		return StatsOutput{}, fmt.Errorf("tags of %s: %w", s.store, err)
	}
	if tags == nil {
		tags = map[string]int{}
	}
	roots, err := s.Roots(ctx)
	if err != nil {
		return StatsOutput{}, err
	}
	if roots == nil {
		roots = []string{}
	}
	out := StatsOutput{Store: s.store.String(), Images: n, Tags: tags, Roots: roots}
	// The index says which model built it; a new index, the service's model.
	switch c, err := s.store.Collection(ctx); {
	case err == nil:
		out.Model, out.Dim = c.Model, c.Dim
	case !errors.Is(err, retriever.ErrNotFound):
		return StatsOutput{}, fmt.Errorf("collection of %s: %w", s.store, err)
	case s.model != nil:
		out.Model, out.Dim = s.model.ID(), s.model.Dim()
	}
	return out, nil
}
