package config

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/ocr"
	"github.com/cliprag/cliprag/embed/onnx"
	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/stores"
)

// OpenModel loads the configured model. Download progress, if any, goes to progress.
func (c *Config) OpenModel(ctx context.Context, progress io.Writer) (*embed.Model, error) {
	opts := []embed.Option{
		embed.WithDevice(c.Device),
		embed.WithThreads(c.Threads),
		embed.WithQuantized(c.Quantized),
		embed.WithOffline(c.Offline),
		embed.WithEndpoint(c.HFEndpoint),
		embed.WithToken(c.HFToken),
		embed.WithRuntimeDownload(c.ORTReleaseURL, c.NPMRegistry),
	}
	if c.CacheDir != "" {
		opts = append(opts, embed.WithCacheDir(c.CacheDir))
	}
	if c.ORTLib != "" {
		opts = append(opts, embed.WithLibrary(c.ORTLib))
	}
	if progress != nil {
		opts = append(opts, embed.WithProgress(progress))
	}
	return embed.Load(ctx, c.Model, opts...)
}

// StoreSpec is the configured store, or the default directory.
func (c *Config) StoreSpec() string {
	if c.Store != "" {
		return c.Store
	}
	return stores.DefaultDir()
}

// OpenStore opens the configured store, read-only when c.ReadOnly is set
// (an embedded index can then be searched while rag-ingest writes it).
func (c *Config) OpenStore(ctx context.Context) (retriever.Store, error) {
	return stores.Open(ctx, c.StoreSpec(), stores.Options{QdrantAPIKey: c.QdrantAPIKey, ReadOnly: c.ReadOnly})
}

// Open opens the store and loads the model, and checks that the store holds
// (or can hold) this model's vectors: an index built with another model is
// a *retriever.MismatchError naming both. When no model was configured, the
// one the index was built with is used (see UseIndexModel). Front ends that
// serve an index (rag-mcp, rag-search, the examples) use it; the caller
// closes both.
func (c *Config) Open(ctx context.Context, progress io.Writer) (*embed.Model, retriever.Store, error) {
	s, err := c.OpenStore(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", c.StoreSpec(), err)
	}
	if err := c.UseIndexModel(ctx, s); err != nil {
		s.Close()
		return nil, nil, err
	}
	m, err := c.OpenModel(ctx, progress)
	if err != nil {
		s.Close()
		return nil, nil, err // embed.Load's errors name the model
	}
	if err := s.Ensure(ctx, retriever.Collection{Model: m.ID(), Dim: m.Dim()}); err != nil {
		s.Close()
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// UseIndexModel makes the index st decide the model when none was
// configured: an index records the model it was built with, so readers
// need not be told again. An empty or new index leaves embed.DefaultModel. An
// index built from a model directory records an id ("name@hash") that
// does not say where the directory is; that is an error asking for it.
func (c *Config) UseIndexModel(ctx context.Context, st retriever.Store) error {
	if c.modelGiven {
		return nil
	}
	have, err := st.Collection(ctx)
	switch {
	case errors.Is(err, retriever.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("open index %s: %w", st, err)
	}
	if _, ok := embed.Lookup(have.Model); !ok {
		return fmt.Errorf("index %s was built with model %q, which is not a registry model: give its directory with --model DIR (or CLIPRAG_MODEL)", st, have.Model)
	}
	c.Model = have.Model
	return nil
}

// OCROptions are the OCR engine's options (embed/ocr) from the shared
// settings: the cache, offline, device, threads, the npm registry the
// models come from, and how ONNX Runtime is found. modelDir is a folder
// holding the models (a -ocr-model flag); empty: the cache. Download
// progress, if any, goes to report.
func (c *Config) OCROptions(modelDir string, report progress.Func) ocr.Options {
	return ocr.Options{
		ModelDir: modelDir,
		CacheDir: c.CacheDir,
		Offline:  c.Offline,
		Progress: report,
		Registry: c.NPMRegistry,
		Library: onnx.LibraryOptions{Path: c.ORTLib, CacheDir: c.CacheDir, Offline: c.Offline, Progress: report,
			ReleaseURL: c.ORTReleaseURL, NPMRegistry: c.NPMRegistry},
		Threads: c.Threads,
		Device:  c.Device,
	}
}
